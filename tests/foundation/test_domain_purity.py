"""responder/domain is the pure core: no storage, gateways, scheduler, CLI, HTTP or plotting in it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from foundation_support import REPO

DOMAIN = REPO / "responder" / "domain"
BANNED = {"sqlalchemy", "alembic", "twilio", "apscheduler", "typer", "click", "rich", "httpx", "starlette",
          "uvicorn", "matplotlib", "psycopg"}
RUFF = Path(sys.executable).with_name("ruff")


def imported(tree: ast.AST) -> set[str]:
    """Top-level names of every module imported anywhere in ``tree`` (functions and TYPE_CHECKING too)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value).split(".")[0])
    return names


MODULES = sorted(DOMAIN.rglob("*.py"))


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_domain_module_imports_nothing_impure(module: Path) -> None:
    found = imported(ast.parse(module.read_text(encoding="utf-8"), str(module))) & BANNED
    assert not found, f"{module.relative_to(REPO)} imports {sorted(found)}"


def test_the_import_finder_sees_every_form() -> None:
    source = ("import sqlalchemy.orm\nfrom twilio.rest import Client\nif TYPE_CHECKING:\n    import typer\n"
              "def f():\n    from apscheduler import x\n    importlib.import_module('httpx')\n")
    assert imported(ast.parse(source)) == {"sqlalchemy", "twilio", "typer", "apscheduler", "httpx"}


def ruff_banned_api(path: str) -> str:
    source = "import sqlalchemy.orm\nfrom twilio.rest import Client\n\nprint(sqlalchemy, Client)\n"
    done = subprocess.run([str(RUFF), "check", "--select", "TID251", "--output-format", "concise",
                           "--stdin-filename", path, "-"], input=source, capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=False)
    return done.stdout


@pytest.mark.parametrize(
    ("path", "banned"),
    [("responder/domain/new_module.py", True), ("responder/domain/sub/deeper.py", True),
     ("responder/app/new_module.py", False), ("responder/new_module.py", False),
     ("responder/storage/migrations/new.py", False), ("tests/test_new.py", False)],
)
def test_ruff_banned_api_applies_to_the_domain_only(path: str, banned: bool) -> None:
    """pyproject's per-file-ignores must leave TID251 on in responder/domain and only there."""
    out = ruff_banned_api(path)
    assert ("TID251" in out) == banned, out
    if banned:
        assert "`sqlalchemy` is banned" in out and "`twilio` is banned" in out
