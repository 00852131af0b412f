"""Where providers call us back: the web hooks' paths, which the gateways give their providers with each message.

The web app serves these routes; the dispatcher and the gateway factory build the full URLs from
``settings.public_url``. Here, below both, so that neither has to import the other.
"""

from __future__ import annotations

STATUS_PATH = "/twilio/status"
"""Delivery status callbacks for messages and calls."""
KEYPRESS_PATH = "/twilio/voice/{outbox_id}/gather"
"""The key a person pressed during a voice call-out."""


def public(public_url: str | None, path: str) -> str | None:
    """``path`` under the public URL, or None when no public URL is configured (nothing can reach us)."""
    return public_url.rstrip("/") + path if public_url else None


def keypress_url(public_url: str | None, outbox_id: int) -> str | None:
    return public(public_url, KEYPRESS_PATH.format(outbox_id=outbox_id))
