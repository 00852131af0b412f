"""The validated-plan cache saves a fresh process the plan's validation, and never serves a plan it should refuse:
an edited plan is validated again (and refused when invalid), an entry someone else could have written is ignored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from foundation_support import REPO

from responder.app.incident_basis import _validated_snapshot, snapshot_columns
from responder.configfiles import plan_cache
from responder.configfiles.plan_file import read_plan
from responder.configfiles.roster_csv import validate_roster_file
from responder.domain.errors import InputError
from responder.domain.roster import Roster


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "responder" / "plans"


@pytest.fixture
def plan_path(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text((REPO / "config" / "plan.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_a_plan_read_again_comes_from_the_cache_and_equals_the_validated_one(cache: Path, plan_path: Path) -> None:
    first = read_plan(plan_path)
    assert [p.suffix for p in cache.iterdir()] == [".pickle"]
    assert cache.stat().st_mode & 0o777 == 0o700
    again = read_plan(plan_path)
    assert again.plan is not first.plan  # unpickled, not validated again: the same plan and the same key lines
    assert again.plan.model_dump() == first.plan.model_dump()
    assert again.lines == first.lines
    assert again.filename == str(plan_path)


def test_an_edited_plan_is_validated_again_and_refused_when_invalid(cache: Path, plan_path: Path) -> None:
    read_plan(plan_path)
    text = plan_path.read_text(encoding="utf-8")
    plan_path.write_text(text.replace("timezone: Asia/Shanghai", "timezone: Asia/Nowhere", 1), encoding="utf-8")
    with pytest.raises(InputError) as refused:
        read_plan(plan_path)
    assert "unknown time zone 'Asia/Nowhere'" in str(refused.value.problems)
    assert len(list(cache.iterdir())) == 1  # the invalid plan was not stored
    plan_path.write_text(text, encoding="utf-8")
    assert read_plan(plan_path).plan.area.timezone == "Asia/Shanghai"


def test_an_entry_others_could_write_or_a_broken_one_is_ignored(cache: Path, plan_path: Path) -> None:
    plan_path.write_text(plan_path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    read_plan(plan_path)
    (entry,) = cache.iterdir()
    entry.chmod(0o666)
    assert plan_cache.load(entry.stem) is None
    entry.chmod(0o600)
    assert plan_cache.load(entry.stem) is not None
    entry.write_bytes(b"not a pickle")
    assert plan_cache.load(entry.stem) is None
    assert read_plan(plan_path).plan.area.timezone == "Asia/Shanghai"  # validated again, and stored again
    assert plan_cache.load(entry.stem) is not None


def test_an_incident_snapshot_is_validated_once_for_every_process(cache: Path, plan_path: Path) -> None:
    plan = read_plan(plan_path).plan
    people = validate_roster_file(REPO / "contacts" / "roster.csv", plan).roster
    columns = snapshot_columns(plan.model_dump(mode="json"), people.to_list())

    class Row:
        snapshot_digest = columns["snapshot_digest"]
        plan_snapshot = columns["plan_snapshot"]
        roster_snapshot = columns["roster_snapshot"]

    validated, roster = _validated_snapshot(Row(), Row.snapshot_digest)
    cached, cached_roster = _validated_snapshot(Row(), Row.snapshot_digest)
    assert cached is not validated and cached.model_dump() == validated.model_dump() == plan.model_dump()
    assert isinstance(cached_roster, Roster) and cached_roster.people == roster.people == people.people


def test_the_cache_names_the_code_that_validated(cache: Path) -> None:
    """A changed model (any module of the domain or of configfiles) gives every plan another name."""
    plan_cache._code_key.cache_clear()
    before = plan_cache.key("plan file", "same text")
    plan_cache._code_key.cache_clear()
    module = Path(plan_cache.__file__)
    stat = module.stat()
    try:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
        assert plan_cache.key("plan file", "same text") != before
    finally:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        plan_cache._code_key.cache_clear()
    assert plan_cache.key("plan file", "same text") == before
