"""Feed readers: CSV, USGS IV JSON, WaterML 2.0, SL 323 databases; all produce validated readings.

``read_feed(feed, stations, now)`` reads any of them and never raises: a feed that cannot be read
gives a :class:`FeedResult` with ``error`` set, and rows that fail validation are in ``rejected``.
"""

from responder.feeds.base import FeedContext, FeedResult
from responder.feeds.http import FeedError
from responder.feeds.read import read_feed

__all__ = ["FeedContext", "FeedError", "FeedResult", "read_feed"]
