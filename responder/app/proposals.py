"""Proposals: a rule reached a level; the duty officer confirms or rejects, or `auto` declares at once.

Confirming runs the very same use case as a manual raise (or upgrade, downgrade, stand-down),
with the reading that triggered it recorded as evidence in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from responder.app import alerts
from responder.app.duty import duty_officer
from responder.app.incident_basis import sender_key
from responder.app.ports import Context
from responder.domain.callout import Contact
from responder.domain.entry import check_text
from responder.domain.errors import Conflict, InputError, NotFound, Problem
from responder.domain.incidents import OutgoingMessage
from responder.domain.messages import IncidentFacts, compose
from responder.storage import incidents as store
from responder.storage import proposals as proposal_store
from responder.storage.db import transaction
from responder.storage.models import IncidentRow, ProposalRow


@dataclass(frozen=True)
class ProposalOutcome:
    proposal_id: int
    status: str
    action: str
    level: int | None
    incident_id: int | None
    new: bool


def _action(current: IncidentRow | None, level: int | None) -> str | None:
    if current is None:
        return None if level is None else "raise"
    if level is None:
        return "end"
    if level < current.level:
        return "upgrade"
    if level > current.level:
        return "downgrade"
    return None


def evidence_text(evidence: dict[str, Any]) -> str:
    """A short line for an SMS: station, value, threshold."""
    parts = []
    for key in ("station", "quantity", "value", "threshold", "window"):
        if key in evidence and evidence[key] is not None:
            parts.append(f"{key} {evidence[key]}")
    return ", ".join(parts) or str(evidence.get("summary", "rule reached"))


def submit(ctx: Context, hazard: str, level: int | None, rule_id: str, mode: str, evidence: dict[str, Any],
           is_drill: bool = False) -> ProposalOutcome | None:
    """What a rule reached this cycle. None when it changes nothing (already at that level)."""
    is_drill = is_drill or ctx.settings.drill_mode
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        current = proposal_store.open_incident(session, hazard, is_drill)
        action = _action(current, level)
        if action is None:
            return None
        for p in proposal_store.pending_for(session, hazard, is_drill):
            if p.level == level and p.action == action:
                return ProposalOutcome(p.id, "pending", action, level, current.id if current else None, False)
            p.status, p.decided_at, p.decided_by = "superseded", now, f"rule {rule_id}"
        proposal = proposal_store.add(session, hazard=hazard, level=level, action=action, rule_id=rule_id, mode=mode,
                                      evidence=evidence, is_drill=is_drill, now=now)
        store.audit(session, now, f"rule {rule_id}", "proposed" if mode == "propose" else "auto_declare",
                    f"{action} {hazard} to level {level}" if level else f"stand down {hazard}",
                    current.id if current else None, evidence_text(evidence),
                    {"proposal": proposal.id, "rule": rule_id, "mode": mode, "trigger": evidence})
        if mode == "propose":
            _tell_duty_officer(ctx, session, proposal, current)
        pid = proposal.id
    if mode == "auto":
        return decide(ctx, pid, f"rule {rule_id} (auto)", confirm=True)
    return ProposalOutcome(pid, "pending", action, level, current.id if current else None, True)


def _tell_duty_officer(ctx: Context, session: Any, proposal: ProposalRow, current: IncidentRow | None) -> None:
    from responder.storage.people import load_roster

    plan = ctx.plan
    roster = load_roster(session)
    officer = duty_officer(ctx, roster, plan)
    if officer is None:
        return
    level = proposal.level or (current.level if current else 4)
    facts = IncidentFacts(current.code if current else "", proposal.hazard, level, "", proposal.is_drill)
    text = compose(plan, "proposal", officer.language, facts, when=ctx.clock.now(),
                   extras={"evidence": evidence_text(proposal.evidence), "proposal": f"P{proposal.id}"})
    store.enqueue(session, None, [OutgoingMessage.of(plan, Contact.of(officer), "proposal", text)], ctx.clock.now(),
                  timedelta(seconds=ctx.settings.send_deadline_seconds), sender_key(ctx))


def planned_action(ctx: Context, proposal_id: int) -> tuple[ProposalRow, IncidentRow | None, str | None]:
    """What confirming a pending proposal would run now: the proposal, the open incident of its hazard, and
    raise / upgrade / downgrade / end (None: the level already stands). NotFound, or Conflict once decided."""
    with ctx.sessions() as session:
        proposal = proposal_store.proposal(session, proposal_id)
        if proposal is None:
            raise NotFound(f"no proposal P{proposal_id}")
        if proposal.status != "pending":
            raise Conflict(f"proposal P{proposal_id} is already {proposal.status}")
        current = proposal_store.open_incident(session, proposal.hazard, proposal.is_drill)
    return proposal, current, _action(current, proposal.level)


def default_reason(proposal: ProposalRow) -> str:
    """The reason a confirmed proposal's messages give when the officer adds none: the rule and its reading."""
    return f"{proposal.rule_id}: {evidence_text(proposal.evidence)}"


def decide(ctx: Context, proposal_id: int, by: str, confirm: bool, reason: str | None = None) -> ProposalOutcome:
    """Confirm (run the use case) or reject (with a reason) a pending proposal."""
    now = ctx.clock.now()
    proposal, current, action = planned_action(ctx, proposal_id)
    if not confirm:
        if not reason:
            raise InputError(Problem("a reason is required to reject a proposal", field="--reason"))
        reason = check_text(reason, "--reason", alerts.MAX_REASON, what="reason")
        status, incident_id = "rejected", current.id if current else None
    else:
        evidence = {"proposal": proposal.id, "rule": proposal.rule_id, **proposal.evidence}
        why = reason or default_reason(proposal)
        if action is None:
            status, incident_id = "superseded", current.id if current else None
        elif action == "raise":
            assert proposal.level is not None
            outcome = alerts.raise_alert(ctx, proposal.hazard, proposal.level, why, by, proposal.is_drill, evidence)
            status, incident_id = "confirmed", outcome.incident_id
        elif action == "end":
            assert current is not None
            status, incident_id = "confirmed", alerts.end_alert(ctx, current.id, why, by).incident_id
        else:
            assert current is not None and proposal.level is not None
            outcome = alerts.change_level(ctx, current.id, proposal.level, why, by, evidence)
            status, incident_id = "confirmed", outcome.incident_id
        if proposal.mode == "auto" and status == "confirmed":
            status = "declared"
    with transaction(ctx.sessions) as session:
        row = proposal_store.proposal(session, proposal_id)
        assert row is not None
        row.status, row.decided_at, row.decided_by, row.decision_reason = status, now, by, reason
        row.incident_id = incident_id
        store.audit(session, now, by, f"proposal_{status}", f"P{proposal_id} {row.action} {row.hazard} "
                    f"level {row.level}: {status}", incident_id, reason, {"proposal": proposal_id})
        return ProposalOutcome(proposal_id, status, row.action, row.level, incident_id, False)


def pending_proposals(ctx: Context) -> list[ProposalRow]:
    ctx.require_schema()
    with ctx.sessions() as session:
        return proposal_store.all_pending(session)
