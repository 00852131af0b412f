"""CSV reading shared by the roster, the rota and CSV feeds: header checks and line numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from responder.domain.errors import InputError, Problem


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    values: dict[str, str]


def csv_rows(text: str, filename: str, required: set[str], optional: set[str] = frozenset()) -> Iterator[Row]:  # type: ignore[assignment]
    """Yield rows with their line numbers after checking the header names every column we need."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise InputError(Problem(f"not a readable CSV header: {exc}", filename, 1)) from None
    if not header:
        raise InputError(Problem("empty file: a header line is required", filename, 1))
    missing = sorted(required - set(header))
    unknown = sorted(set(header) - required - set(optional))
    problems = []
    if missing:
        problems.append(Problem(f"missing column(s): {', '.join(missing)}", filename, 1, ", ".join(missing)))
    if unknown:
        problems.append(Problem(f"unknown column(s): {', '.join(unknown)} "
                                f"(expected {', '.join(sorted(required | set(optional)))})",
                                filename, 1, ", ".join(unknown)))
    if problems:
        raise InputError(problems)
    reader.fieldnames = header
    start = 2
    records = iter(reader)
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over the csv module's limit, a stray quote at the end
            raise InputError(Problem(f"not a readable CSV row: {exc}", filename, start)) from None
        line = start
        start = reader.line_num + 1
        if None in record:
            raise InputError(Problem("more values than columns", filename, line))
        values = {k: (v or "").strip() for k, v in record.items()}
        if not any(values.values()):
            continue
        yield Row(line, values)
