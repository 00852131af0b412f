"""YAML loading that remembers the line of every key, so validation errors can point at it."""

from __future__ import annotations

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
        raise InputError(Problem(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                                 "save the file as UTF-8", str(path), line)) from None


def load_yaml(text: str, filename: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML into plain data plus a map from key path to 1-based line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(Problem(f"malformed YAML: {exc.problem or exc}", filename, line)) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem(f"malformed YAML: {exc}", filename)) from None
    if node is None:
        return {}, {}
    lines: dict[Path, int] = {}
    _walk(node, (), lines)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # constructor errors (e.g. bad tags) after composing
        raise InputError(Problem(f"malformed YAML: {exc}", filename)) from None
    return data, lines


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child: Path = (*path, int(key) if key.lstrip("-").isdigit() else key)
            lines[(*path, key)] = lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines)


def line_of(lines: Mapping[Path, int], loc: Path) -> int | None:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), None)


def validation_problems(exc: ValidationError, filename: str, lines: Mapping[Path, int]) -> list[Problem]:
    """Turn pydantic's errors into located problems, one per field."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        loc = tuple(p for p in loc if p not in ("list[...]",))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r} (a typo?)"
        elif err["type"] == "missing":
            message = f"missing key {loc[-1]!r}"
        problems.append(Problem(message, filename, line_of(lines, loc), dotted(loc) or None))
    return problems


def validate_model(model: type[M], data: Any, filename: str, lines: Mapping[Path, int]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, filename, lines)) from None
