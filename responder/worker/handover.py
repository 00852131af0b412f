"""Handing claimed outbox rows to a gateway: the one place a row becomes the gateway's vendor-neutral message.

An SMS carries its text; a call its text, language and the keypress URL (``settings.public_url`` + the keypress
path with the row's id), from which each vendor's adapter builds its own markup. A gateway with a batch request
(``batch_limit`` > 0) gets the SMS that many at a time; calls always go one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

from responder.gateways.base import Accepted, Gateway, GatewayError, OutgoingCall, OutgoingSms, as_outcome
from responder.gateways.callbacks import keypress_url
from responder.storage.outbox import Claimed

Outcome = Accepted | GatewayError
"""What the gateway said of one message: taken (with its id), or why not."""


def _sender(item: Claimed) -> str | None:
    return None if item.sender == "default" else item.sender


def outgoing_sms(item: Claimed) -> OutgoingSms:
    return OutgoingSms(item.to, item.body, _sender(item), reference=str(item.id), kind=item.kind, fields=item.fields)


def outgoing_call(item: Claimed, public_url: str | None) -> OutgoingCall:
    return OutgoingCall(item.to, item.body, item.language, keypress_url(public_url, item.id), _sender(item),
                        reference=str(item.id), kind=item.kind, fields=item.fields)


def hand_over(gateway: Gateway, items: Sequence[Claimed], public_url: str | None) -> list[tuple[Claimed, Outcome]]:
    """Give ``items`` to ``gateway``; what became of each, in the order given.

    A vendor error is the message's outcome (an unclassified one counts as retryable, but is recorded); a batch
    request that fails as a whole is the outcome of every message in it.
    """
    outcomes: dict[int, Outcome] = {}
    size = gateway.batch_limit
    batched = [item for item in items if item.channel != "voice"] if size > 0 else []
    singles = [item for item in items if item.channel == "voice"] if size > 0 else list(items)
    for start in range(0, len(batched), size or 1):
        chunk = batched[start:start + size]
        try:
            answers: Sequence[Outcome] = gateway.send_batch([outgoing_sms(item) for item in chunk])
        except GatewayError as exc:
            answers = [as_outcome(exc)] * len(chunk)
        if len(answers) != len(chunk):
            raise RuntimeError(f"{gateway.name}: {len(answers)} outcomes for a batch of {len(chunk)} SMS")
        outcomes.update((item.id, answer) for item, answer in zip(chunk, answers, strict=True))
    for item in singles:
        try:
            if item.channel == "voice":
                outcomes[item.id] = gateway.place_call(outgoing_call(item, public_url))
            else:
                outcomes[item.id] = gateway.send_sms(outgoing_sms(item))
        except GatewayError as exc:
            outcomes[item.id] = as_outcome(exc)
    return [(item, outcomes[item.id]) for item in items]
