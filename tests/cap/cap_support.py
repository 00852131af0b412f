"""What the CAP tests share: the OASIS schema and examples from ../shared, the sample plan (and variants
of it), level histories, and a signing key made on the spot."""

from __future__ import annotations

import copy
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from responder.app.alerts import change_level, end_alert, raise_alert
from responder.configfiles.plan_file import PlanFile
from responder.domain.cap import CapIncident
from responder.domain.clock import FakeClock
from responder.domain.level_history import LevelEvent
from responder.domain.plan import Plan
from responder.wiring import AppContext

REPO = Path(__file__).resolve().parents[2]
SHARED_CAP = (REPO.parent / "shared" / "data" / "cap").resolve()
PLAN_FILE = REPO / "config" / "plan.yaml"
RAISED = dt.datetime(2027, 7, 1, 1, 0, 0, 654321, tzinfo=dt.UTC)
"""09:00:00.654321 in Sanjian: the fraction must not reach the message."""


def shared_cap() -> Path:
    """../shared/data/cap: skipped only where it is absent, and never in CI (there it must be used)."""
    if not SHARED_CAP.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_CAP} is missing in CI: the CAP tests must run against the OASIS schema")
        pytest.skip(f"the OASIS CAP schema and examples are not here: {SHARED_CAP} is absent")
    return SHARED_CAP


@cache
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def oasis_schema() -> etree.XMLSchema:
    return _schema(shared_cap() / "CAP-v1.2.xsd")


def schema_errors(data: bytes) -> list[str]:
    """Errors of ``data`` against the shared OASIS XSD (not the package's copy: the test's own reference)."""
    schema = oasis_schema()
    if schema.validate(etree.fromstring(data)):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def oasis_examples() -> list[Path]:
    found = sorted(shared_cap().glob("oasis-A*.xml"))
    assert len(found) == 4, f"expected the four Appendix A examples in {SHARED_CAP}, found {found}"
    return found


@cache
def plan_data() -> dict[str, Any]:
    data = yaml.safe_load(PLAN_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def sample_plan(change: Callable[[dict[str, Any]], None] | None = None) -> Plan:
    """The sample plan, or a copy of it changed by ``change`` (which edits the YAML data in place)."""
    data = copy.deepcopy(plan_data())
    if change is not None:
        change(data)
    return Plan.model_validate(data)


def without_shapes(data: dict[str, Any]) -> None:
    """Areas by administrative code only: no polygon, no circle anywhere."""
    data["cap"]["area"]["geometry"] = {"codes": {"GB/T 2260": "500240"}}
    for n, zone in enumerate(data["evacuation_zones"]):
        zone["geometry"] = {"codes": {"zone": f"Z{n + 1}"}}


def at(minutes: float) -> dt.datetime:
    return RAISED + dt.timedelta(minutes=minutes)


def event(minutes: float, kind: str, before: int | None, after: int | None, reason: str = "") -> LevelEvent:
    return LevelEvent(at(minutes), kind, before, after, "duty officer", reason or f"{kind} at +{minutes}m")


FULL_HISTORY = (
    event(0, "raised", None, 3, "龙河水位接近警戒线"),
    event(60, "upgraded", 3, 1, "上游溃坝"),
    event(180, "downgraded", 1, 2, "dam breach contained"),
    event(600, "ended", 2, None, "洪水退去"),
)
"""Alert, Update (up), Update (down), Cancel."""


def incident(events: tuple[LevelEvent, ...] = FULL_HISTORY, is_drill: bool = False, hazard: str = "flood",
             incident_id: int = 7) -> CapIncident:
    return CapIncident(incident_id, "K7", hazard, is_drill, RAISED, events)


@dataclass(frozen=True)
class KeyPair:
    key: bytes
    cert: bytes
    key_file: Path
    cert_file: Path


def make_key(folder: Path, name: str = "flood-office", kind: str = "rsa") -> KeyPair:
    """A private key and a self-signed certificate for it, as PEM files in ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa" \
        else ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    folder.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.crt"
    key_file.write_bytes(key_pem)
    cert_file.write_bytes(cert_pem)
    return KeyPair(key_pem, cert_pem, key_file, cert_file)


@dataclass(frozen=True)
class Incidents:
    flood: int
    """Raised at 3, upgraded to 1 an hour later, downgraded to 2, stood down: Alert, Update, Update, Cancel."""
    drill: int
    """A live drill (drought, level 4), still open: one Alert with status Exercise."""


def declare(ctx: AppContext, clock: FakeClock) -> Incidents:
    flood = raise_alert(ctx, "flood", 3, "龙河水位接近警戒线", "duty officer").incident_id
    clock.advance(dt.timedelta(hours=1))
    change_level(ctx, flood, 1, "上游溃坝", "duty officer")
    clock.advance(dt.timedelta(hours=2))
    change_level(ctx, flood, 2, "dam breach contained", "duty officer")
    clock.advance(dt.timedelta(hours=1))
    drill = raise_alert(ctx, "drought", 4, "演练：旱情", "drill lead", is_drill=True).incident_id
    clock.advance(dt.timedelta(hours=6))
    end_alert(ctx, flood, "洪水退去", "duty officer")
    return Incidents(flood, drill)


def with_plan(ctx: AppContext, plan: Plan) -> AppContext:
    """The same database and clock under another plan in force (the incidents keep their snapshots)."""
    return AppContext(ctx.settings, clock=ctx.clock, engine_override=ctx.engine,
                      plan_file_override=PlanFile(plan, str(ctx.settings.plan_file), {}))
