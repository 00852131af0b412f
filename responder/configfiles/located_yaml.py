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
from responder.domain.errors import InputError, Problem

M = TypeVar("M", bound=BaseModel)


def read_text(path: FsPath) -> str:
    """Read UTF-8 text, with a located error (not a traceback) for anything else."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(Problem("file not found", str(path))) from None
    except OSError as exc:
        raise InputError(Problem(f"cannot read: {exc.strerror}", str(path))) from None
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
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        lines: dict[Path, int] = {}
        duplicates: list[Problem] = []
        _walk(node, (), lines, duplicates, filename)
        if duplicates:
            raise InputError(duplicates)
        data = loader.construct_document(node)  # constructor errors (bad tags, unhashable keys) come here
    except yaml.YAMLError as exc:
        raise InputError(_yaml_problem(exc, filename)) from None
    finally:
        loader.dispose()
    return data, lines


_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when PyYAML has it (twenty times faster on the sample plan), the pure-Python parser otherwise."""


def _yaml_problem(exc: yaml.YAMLError, filename: str) -> Problem:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(f"malformed YAML: {exc}", filename)
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    message = f"malformed YAML: {exc.problem or exc}"
    if mark is not None:
        message += f" (column {mark.column + 1})"
    if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
        message += f", {exc.context} that starts on line {exc.context_mark.line + 1}"
    return Problem(message, filename, line)


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], duplicates: list[Problem], filename: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else f"<key on line {line}>"
            child: Path = (*path, int(key) if key.lstrip("-").isdigit() else key)
            if key in seen:
                # YAML would silently keep the last one: a pasted-twice key must not pass unnoticed.
                duplicates.append(Problem(f"duplicate key {key!r} (first on line {seen[key]})", filename, line,
                                          dotted(child)))
            seen.setdefault(key, line)
            lines[(*path, key)] = lines[child] = line
            _walk(value_node, child, lines, duplicates, filename)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, duplicates, filename)


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
