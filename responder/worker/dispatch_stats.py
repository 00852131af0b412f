"""What a dispatcher did: counts by outcome, for progress bars, ``/health`` and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    reconciled: int = 0
    first_handed_at: float | None = None
    """``time.perf_counter()`` when the gateway first took a message (the benchmarks' time to first send)."""
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return self.sent + self.retried + self.failed

    def count(self, outcome: str) -> None:
        """One more row that ended this way (sent, retried, failed, cancelled, lost-claim); the caller holds a lock."""
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome == "sent":
            self.sent += 1
        elif outcome == "retried":
            self.retried += 1
        elif outcome == "failed":
            self.failed += 1
