"""CSV files or URLs, the simplest way for a county office to share data.

Columns: ``station,time,value`` and optionally ``quantity`` and ``unit`` (header names in any case
and order; other columns are ignored). Times without an offset are local (the station's zone, else
the feed's, else the plan's). A row with a blank value is missing, not bad; a row that cannot be read
is quarantined with its line number.
"""

from __future__ import annotations

import csv
import io

from responder.domain.readings import RawReading, Rejected
from responder.feeds.base import FeedContext
from responder.feeds.http import FeedError

REQUIRED = ("station", "time", "value")
OPTIONAL = ("quantity", "unit")


def read(ctx: FeedContext) -> None:
    parse(ctx.text(), ctx)


def parse(text: str, ctx: FeedContext) -> None:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise FeedError(f"changed schema: missing column(s) {', '.join(missing)} "
                            f"(the header must name {', '.join(REQUIRED)}; found {', '.join(header) or 'nothing'})")
        columns = {name: header.index(name) for name in REQUIRED + OPTIONAL if name in header}
        line = reader.line_num + 1
        for row in reader:
            start, line = line, reader.line_num + 1
            if any(cell.strip() for cell in row):
                _row(ctx, row, columns, len(header), f"line {start}")
    except csv.Error as exc:
        raise FeedError(f"not a readable CSV file at line {reader.line_num}: {exc}") from None


def _row(ctx: FeedContext, row: list[str], columns: dict[str, int], width: int, location: str) -> None:
    raw = ",".join(row)
    if len(row) != width:
        ctx.result.rejected.append(Rejected(raw, f"{len(row)} values for {width} columns", ctx.feed.id, None,
                                            location))
        return

    def cell(name: str) -> str | None:
        return (row[columns[name]].strip() or None) if name in columns else None

    if cell("value") is None:
        ctx.result.missing += 1
        return
    ctx.add(RawReading(ctx.feed.id, cell("station") or "", cell("time"), cell("value"), cell("quantity"),
                       cell("unit"), raw, location))
