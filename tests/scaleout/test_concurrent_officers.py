"""Two duty officers raise the same hazard at the same moment from two machines: two `responder alert raise --yes
--no-send` processes on one PostgreSQL database. Exactly one opens the incident; the other exits non-zero naming it."""

from __future__ import annotations

import re

import pytest
from scaleout_support import REASON, Deployment, query

from responder.app.alerts import end_alert

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROUNDS = 2


def test_two_officers_raising_at_once_open_one_incident(deployment: Deployment) -> None:
    deployment.cli("init")  # the sample roster
    ctx = deployment.context()
    for round_ in range(ROUNDS):
        officers = [deployment.popen_cli("alert", "raise", "--level", "2", "--hazard", "flood", "--reason", REASON,
                                         "--by", f"officer {n}", "--yes", "--no-send") for n in (1, 2)]
        results = [(p.wait(60), *p.communicate()) for p in officers]
        won = [r for r in results if r[0] == 0]
        lost = [r for r in results if r[0] != 0]
        assert len(won) == 1 and len(lost) == 1, f"round {round_}: {results}"
        match = re.search(r"incident #(\d+) \(code (\w+)\) raised", won[0][1])
        assert match, won[0][1]
        incident_id, code = int(match[1]), match[2]
        refusal = lost[0][1] + lost[0][2]
        assert f"#{incident_id} (code {code}" in refusal, refusal
        assert "Traceback" not in refusal
        print(f"\nround {round_}: winner #{incident_id}; the other: {refusal.strip().splitlines()[-1]}")
        [row] = query(ctx, "SELECT id FROM incidents WHERE status = 'open'")
        assert row.id == incident_id
        [[incidents]] = query(ctx, "SELECT count(*) FROM incidents")
        assert incidents == round_ + 1, "the loser left no incident row"
        [[queued]] = query(ctx, "SELECT count(*) FROM outbox WHERE incident_id = :i", i=incident_id)
        [[everything]] = query(ctx, "SELECT count(*) FROM outbox WHERE kind = 'callout'")
        assert queued == 63 and everything == 63 * (round_ + 1), "only the winner queued its call-out"
        end_alert(ctx, incident_id, "next round", "tester")
    [[incidents]] = query(ctx, "SELECT count(*) FROM incidents")
    assert incidents == ROUNDS
