"""YAML loading that remembers the line of every key, so validation errors can point at it."""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from responder.domain.checks import Path, dotted
from responder.domain.entry import MAX_NUMBER_CHARS, NUMBER
from responder.domain.errors import InputError, Problem

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 1024 * 1024
"""A plan, scenario, roster or rota larger than this is not one a person keeps: the sample plan is 30 kB, a
drill of 1,000 gauges 0.2 MB, a roster of 20,000 people 1 MB, a year of hourly shifts 0.5 MB."""
MAX_ALIASES = 50
"""YAML aliases (``*name``) in one file: a few are handy, nested ones multiply (the "billion laughs")."""
MAX_NODES = 100_000
"""Scalars, lists and mappings in a document with its aliases expanded: what validation will walk."""
MAX_MARKS = 60_000
"""Lines, commas, dashes, colons and brackets: counted before parsing (which is the slow part, ~15 µs a value),
they bound the values a file can hold; the sample plan has 3,000."""
MAX_DEPTH = 64
"""Nesting of lists and mappings; a plan is less than ten deep."""
_INDEX = re.compile(r"-?[0-9]{1,18}", re.ASCII)
"""A key that reads as a number (level ``2:``) is kept as one in the key paths, as pydantic reports it."""


def read_text(path: FsPath, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read UTF-8 text, with a located error (not a traceback) for anything else, a huge file included."""
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(Problem("file not found", str(path))) from None
    except OSError as exc:
        raise InputError(Problem(f"cannot read: {exc.strerror}", str(path))) from None
    if len(data) > max_bytes:
        raise InputError(Problem(f"file larger than {max_bytes / (1024 * 1024):g} MB; this is not a plan, roster "
                                 "or scenario file", str(path)))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        before = data[line_start: exc.start].decode("utf-8", "replace")
        raise InputError(Problem(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {len(before) + 1}); "
                                 "save the file as UTF-8 (a GBK or GB18030 file must be converted)",
                                 str(path), line, _field_at(path, data, line, before))) from None


def _field_at(path: FsPath, data: bytes, line: int, before: str) -> str | None:
    """The CSV column or YAML key where undecodable text starts, so the message names a field."""
    if path.suffix.lower() == ".csv":
        if line == 1:
            return None
        header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8", "replace")]), [])
        index = len(next(csv.reader([before]), [""])) - 1 if before else 0
        return header[index].strip() if index < len(header) else None
    key = re.match(r"\s*(?:-\s+)?([^\s:#{}\[\],]+)\s*:", before)
    return key.group(1) if key else None


def load_yaml(text: str, filename: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML into plain data plus a map from key path to 1-based line."""
    marks = sum(map(text.count, ",\n-:[{"))
    if marks > MAX_MARKS:
        raise InputError(Problem(f"{marks:,} lines, items and keys; at most {MAX_MARKS:,} in a plan or scenario "
                                 "(split the file)", filename))
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        lines: dict[Path, int] = {}
        duplicates: list[Problem] = []
        _walk(node, lines, duplicates, filename)
        if duplicates:
            raise InputError(duplicates)
        data = loader.construct_document(node)  # constructor errors (bad tags, unhashable keys) come here
    except yaml.YAMLError as exc:
        raise InputError(_yaml_problem(exc, filename)) from None
    finally:
        loader.dispose()
    return data, lines


_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when PyYAML has it (twenty times faster on the sample plan), the pure-Python parser otherwise."""


class _Refused(yaml.constructor.ConstructorError):
    """Well-formed YAML holding a value that cannot be used: said as such, not as "malformed"."""


class _Loader(_Base):  # type: ignore[misc,valid-type]  # libyaml's class is not typed
    """The safe loader, with every value it cannot build refused at its place rather than as a traceback
    (``2027-13-45``, a 5,000-digit integer), and numbers written as in the one grammar people use
    elsewhere: YAML 1.1 would read ``2_00`` as 200 and ``1:30`` as 90."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError, RecursionError) as exc:
            raise _Refused(None, None, f"cannot read this value: {exc}", node.start_mark) from None

    def construct_plain_number(self, node: yaml.Node) -> Any:
        """Decimal only: YAML 1.1 would also read ``010`` as 8, ``0x1f``, ``0b11`` and ``2_00``."""
        text = str(node.value)
        if len(text) <= MAX_NUMBER_CHARS and NUMBER.fullmatch(text):
            return int(text) if node.tag.endswith(":int") else float(text)
        if text.lower().lstrip("+-") in (".inf", ".nan"):
            return self.construct_yaml_float(node)  # refused where a finite number is wanted, at its key
        raise _Refused(None, None, f"{text[:40]!r} is not a number to write here (decimal digits, at most one "
                       "point)", node.start_mark)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_plain_number)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_plain_number)


def _yaml_problem(exc: yaml.YAMLError, filename: str) -> Problem:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(f"malformed YAML: {exc}", filename)
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    message = str(exc.problem) if isinstance(exc, _Refused) else f"malformed YAML: {exc.problem or exc}"
    if mark is not None:
        message += f" (column {mark.column + 1})"
    if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
        message += f", {exc.context} that starts on line {exc.context_mark.line + 1}"
    return Problem(message, filename, line)


def _walk(root: yaml.Node, lines: dict[Path, int], duplicates: list[Problem], filename: str) -> None:
    """Record every key's line, and refuse a document whose aliases, size or depth would make the work
    that follows (construction, validation) unbounded: the composed graph shares aliased nodes, the
    constructed data and pydantic walk them once per reference.

    Iterative, with a budget: a nested alias bomb stops after ``MAX_NODES`` visits, not after 9**9.
    """
    stack: list[tuple[yaml.Node, Path, int]] = [(root, (), 0)]
    seen_nodes: set[int] = set()
    aliases = visits = 0
    while stack:
        node, path, depth = stack.pop()
        line = node.start_mark.line + 1
        visits += 1
        if id(node) in seen_nodes:
            aliases += 1
            if aliases > MAX_ALIASES:
                # An aliased node carries its anchor's line: the alias is where its parent is.
                raise InputError(Problem(f"more than {MAX_ALIASES} YAML aliases (*name); write the values out",
                                         filename, line_of(lines, path[:-1]) or line, dotted(path) or None))
        seen_nodes.add(id(node))
        if visits > MAX_NODES:
            raise InputError(Problem(f"more than {MAX_NODES:,} values once YAML aliases are expanded; "
                                     "write the values out or split the file", filename, line, dotted(path) or None))
        if depth > MAX_DEPTH:
            raise InputError(Problem(f"nested more than {MAX_DEPTH} levels deep", filename, line,
                                     dotted(path) or None))
        lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            firsts: dict[str, int] = {}
            children: list[tuple[yaml.Node, Path, int]] = []
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else f"<key on line {key_line}>"
                child: Path = (*path, int(key) if _INDEX.fullmatch(key) else key)
                if key in firsts:
                    # YAML would silently keep the last one: a pasted-twice key must not pass unnoticed.
                    duplicates.append(Problem(f"duplicate key {key!r} (first on line {firsts[key]})", filename,
                                              key_line, dotted(child)))
                firsts.setdefault(key, key_line)
                lines[(*path, key)] = lines[child] = key_line
                children.append((value_node, child, depth + 1))
            stack.extend(reversed(children))  # reversed: the stack gives them back in the file's order
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, index), depth + 1) for index, item in reversed(list(enumerate(node.value))))


def line_of(lines: Mapping[Path, int], loc: Path) -> int | None:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), None)


def _in_file(loc: Path, lines: Mapping[Path, int]) -> Path:
    """Drop the parts of pydantic's location that are not keys in the file (a tagged union adds its
    tag, e.g. ``series.0.storm.total_mm``), so the error points at the key a person wrote."""
    path: Path = ()
    for i, part in enumerate(loc):
        if (*path, part) in lines or i == len(loc) - 1:
            path = (*path, part)
    return path


def validation_problems(exc: ValidationError, filename: str, lines: Mapping[Path, int]) -> list[Problem]:
    """Turn pydantic's errors into located problems, one per field.

    A misspelt key gives pydantic two errors (the unknown key, and the key it should have been
    missing); they become one message at the line of the misspelt key.
    """
    errors = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        loc = tuple(p for p in loc if p not in ("list[...]", "[key]"))
        errors.append((_in_file(loc, lines), err["type"], err["msg"].removeprefix("Value error, ")))
    missing = {loc for loc, kind, _ in errors if kind == "missing" and loc}
    explained: set[Path] = set()
    problems = []
    for loc, kind, message in errors:
        if kind == "extra_forbidden" and loc:
            siblings = [str(m[-1]) for m in missing if m[:-1] == loc[:-1]]
            close = difflib.get_close_matches(str(loc[-1]), siblings, n=1, cutoff=0.6)
            if close:
                explained.add((*loc[:-1], close[0]))
                message = f"unknown key {loc[-1]!r}: did you mean {close[0]!r}?"
            else:
                message = f"unknown key {loc[-1]!r} (a typo?)"
        elif kind == "missing" and loc:
            message = f"missing key {loc[-1]!r}"
        problems.append((loc, kind, Problem(message, filename, line_of(lines, loc), dotted(loc) or None)))
    return [p for loc, kind, p in problems if not (kind == "missing" and loc in explained)]


def validate_model(model: type[M], data: Any, filename: str, lines: Mapping[Path, int]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, filename, lines)) from None
