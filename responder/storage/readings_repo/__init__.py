"""Readings in the database: stored in bulk with de-duplication, and summarised per station in bulk.

``ingest`` stores a batch with the conflict checks as set operations and, in the same transaction, the hourly
totals and the latest value per station; ``rain_state`` keeps each rain gauge's dry-day state in the same
transaction; ``station_snapshots`` builds every station's snapshot from those with a handful of GROUP BY
queries (``snapshot_sql``); ``quarantine`` keeps refused rows; ``feed_state``
holds feed status, rule state and manual reports. Results agree with :mod:`responder.domain.derived`.
"""

from responder.storage.readings_repo.bulk import SUMMED, epoch, hour_end
from responder.storage.readings_repo.feed_state import (
    add_report,
    load_rule_state,
    recent_reports,
    record_feed_status,
    save_rule_state,
)
from responder.storage.readings_repo.ingest import StoreResult, readings_of, store_readings, store_series
from responder.storage.readings_repo.quarantine import quarantine, quarantined
from responder.storage.readings_repo.rain_state import is_kept as state_is_kept
from responder.storage.readings_repo.rain_state import rebuild as rebuild_state
from responder.storage.readings_repo.station_snapshots import snapshots

__all__ = ["SUMMED", "StoreResult", "add_report", "epoch", "hour_end", "load_rule_state", "quarantine", "quarantined",
           "readings_of", "rebuild_state", "recent_reports", "record_feed_status", "save_rule_state", "snapshots",
           "state_is_kept", "store_readings", "store_series"]
