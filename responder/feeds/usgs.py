"""USGS Water Services instantaneous values (IV) JSON: ``value.timeSeries[]``, one per site and parameter.

Each series names its site (``sourceInfo.siteCode[0].value``), parameter code (``variable.variableCode``,
e.g. 00045 precipitation, 00065 gage height), unit (``variable.unit.unitCode``: in, ft, ft3/s) and
``noDataValue`` (-999999); its values come in one or more blocks (``values[]``, one per method).
Values equal to noDataValue are missing; units are converted to ours (in → mm, ft → m, ft3/s → m3/s), and
a series in a unit we cannot convert is refused whole. Series of parameters the plan does not map (water
temperature 00010, wind 00035, ...) are counted per code.
"""

from __future__ import annotations

import json
from typing import Any

from responder.domain.readings import RawReading, Rejected
from responder.domain.stations import station_for, unit_scale
from responder.feeds.base import FeedContext
from responder.feeds.http import FeedError


def read(ctx: FeedContext) -> None:
    parse(ctx.load(), ctx)


def parse(data: bytes | str, ctx: FeedContext) -> None:
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        raise FeedError(f"invalid JSON (truncated?): {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise FeedError(f"invalid JSON: not UTF-8 ({exc.reason})") from None
    try:
        series = document["value"]["timeSeries"]
        if not isinstance(series, list):
            raise TypeError("timeSeries is not a list")
    except (KeyError, TypeError) as exc:
        raise FeedError(f"changed schema: no value.timeSeries list ({_what(exc)})") from None
    parameters = ctx.feed.parameter_map()
    for index, item in enumerate(series):
        try:
            _series(ctx, item, index, parameters)
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
            ctx.result.fail(f"changed schema in timeSeries[{index}]: {_what(exc)}")


def _series(ctx: FeedContext, item: dict[str, Any], index: int, parameters: dict[str, Any]) -> None:
    site = str(item["sourceInfo"]["siteCode"][0]["value"])
    variable = item["variable"]
    code = str(variable["variableCode"][0]["value"])
    name = item.get("name") or f"{site}:{code}"
    mapped = parameters.get(code)
    if mapped is None:
        what = variable.get("variableName") or variable.get("variableDescription") or ""
        ctx.unknown_parameter(code, f"timeSeries[{index}] {name}: parameter {code}{' (' + what + ')' if what else ''}"
                                    " is not mapped to a quantity")
        return
    if not ctx.wants(site, mapped.quantity):
        return
    unit = mapped.unit or (variable.get("unit") or {}).get("unitCode")
    if mapped.unit is None and unit:
        try:
            unit_scale(str(unit), mapped.quantity)
        except ValueError as exc:
            station = station_for(ctx.index.get(site, ()), mapped.quantity)
            ctx.result.rejected.append(Rejected(f"unitCode {unit}", f"series refused: {exc}", ctx.feed.id,
                                                station.id if station else None,
                                                f"timeSeries[{index}] {name} variable.unit.unitCode"))
            return
    no_data = variable.get("noDataValue")
    blocks = item["values"]
    if not any(block.get("value") for block in blocks):
        ctx.result.notes.append(f"{name}: no values")
        return
    for b, block in enumerate(blocks):
        for v, point in enumerate(block.get("value") or []):
            value = point.get("value")
            if value is None or _is_no_data(value, no_data):
                ctx.result.missing += 1
                continue
            ctx.add(RawReading(ctx.feed.id, site, point.get("dateTime"), value, mapped.quantity, unit,
                               json.dumps(point, ensure_ascii=False),
                               f"timeSeries[{index}] {name} values[{b}].value[{v}]"))


def _is_no_data(value: Any, no_data: Any) -> bool:
    if no_data is None:
        return False
    try:
        return float(value) == float(no_data)
    except (TypeError, ValueError):
        return False


def _what(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
