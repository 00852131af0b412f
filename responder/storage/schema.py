"""Every table on one metadata: what the migrations and the tests that hold them to the models compare against.

The tables live in three modules (``models``, ``feed_models``, ``board_models``) and a command imports only
those it queries; importing this module registers them all on :data:`Base.metadata`.
"""

from __future__ import annotations

import responder.storage.board_models
import responder.storage.feed_models
import responder.storage.models  # noqa: F401  (the three register their tables on Base)
from responder.storage.base import Base

__all__ = ["Base"]
