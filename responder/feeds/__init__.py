"""Feed readers: CSV, USGS IV JSON, WaterML 2.0, SL 323 databases; all produce validated readings.

``read_feed(feed, stations, now)`` reads any of them and never raises: a feed that cannot be read
gives a :class:`FeedResult` with ``error`` set, and rows that fail validation are in ``rejected``.
"""

from responder.feeds.base import FeedContext, FeedResult, read_feed
from responder.feeds.http import FeedError

__all__ = ["FeedContext", "FeedError", "FeedResult", "read_feed"]
