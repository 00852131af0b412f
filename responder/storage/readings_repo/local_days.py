"""The local calendar of a cycle: day numbers and the zone's UTC offsets over the dry-day horizon."""

from __future__ import annotations

import bisect
import operator
from datetime import datetime

from responder.domain.derived import (
    SnapshotSpec,
    day_start,
    local_day,
    utc_offsets,
)
from responder.storage.readings_repo.bulk import (
    DAY,
    HOUR,
    epoch,
)

RECENT_DAYS = 2
"""Wet days are looked for in the last days first, then further back only for the stations still dry."""


class LocalDays:
    """The local calendar of a cycle: where each local day of the dry-day horizon begins, with the zone's
    UTC offset in effect at each moment (daylight saving included).

    Hour buckets are given to the day of their last second, which is exact for zones a whole number of hours
    from UTC; with a half-hour offset the bucket across midnight goes to the day it ends in."""

    def __init__(self, now: datetime, spec: SnapshotSpec) -> None:
        self.zone = spec.zone
        self.today = local_day(now, spec.zone)
        self.first = self.today - spec.dry_horizon_days + 1
        """The first day of the dry-day horizon."""
        self.start = self.hour_after(self.first)
        """Its first hour bucket is the one after this."""
        self.at = epoch(now)
        self.last_full = self.at // HOUR * HOUR
        self.recent = max(self.first, self.today - RECENT_DAYS)
        """The first day the rain query looks at for wet days; older ones only for stations still dry then."""
        # Per calendar day, not per cycle: the same table serves every cycle of the day (and is cached).
        self.offsets = utc_offsets(spec.zone, self.start, self.hour_after(self.today + 1))
        self.cuts = len(self.offsets) - 1
        """How many times the offset changes in the horizon: part of the shape of the queries that cut days."""
        self.params = {f"s{i}": shift for i, (_, shift) in enumerate(self.offsets)} | {
            f"t{i}": since for i, (since, _) in enumerate(self.offsets) if i}
        """The bound values of ``_day_of_hour``."""

    def hour_after(self, day: int) -> int:
        """The end of the hour bucket before ``day``'s first one: a day's buckets are ``(hour_after, ...]``."""
        return day_start(day, self.zone)

    def day_of(self, hour: int) -> int:
        """The local day of the hour bucket ending at ``hour``, as ``_day_of_hour`` gives it in SQL."""
        at = hour - 1
        since = max(0, bisect.bisect_right(self.offsets, at, key=operator.itemgetter(0)) - 1)
        return (at + self.offsets[since][1]) // DAY

