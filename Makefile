# The two quick-start commands: `make demo` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the project uses: Noto CJK for charts and the printed call tree, Pango for WeasyPrint
# (which lays the call tree out as PDF), espeak-ng for loudspeaker audio and lame for its MP3 copy,
# poppler-utils (pdftoppm) for the tests that look at the printed page, chromium for the duty board's
# browser tests. Installed only where missing.
DEBIAN_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 espeak-ng lame \
	poppler-utils chromium
SYSTEM_STAMP := $(VENV)/.system-deps

.PHONY: demo test lint typecheck unit bench clean system-deps

system-deps: $(SYSTEM_STAMP)

$(SYSTEM_STAMP): Makefile
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $(SYSTEM_STAMP)

$(STAMP): pyproject.toml | $(SYSTEM_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/responder plan check
	$(BIN)/responder drill run config/drills/sanjian-flood.yaml --out drill-output

lint: $(STAMP)
	$(BIN)/ruff check responder tests benchmarks
	$(BIN)/mypy responder
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest

test: lint unit

bench: $(STAMP)
	for b in outbox workers feed_cycle drill; do $(BIN)/python benchmarks/bench_$$b.py || exit 1; done

clean:
	rm -rf $(VENV) responder.db responder.db-wal responder.db-shm
