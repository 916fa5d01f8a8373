"""A small program with known numbers, for the report's integration and browser tests.

Everything happens in the ten days before `now` (in America/New_York):
- people: 4 enrolled and active-ish (3 active, 1 paused), 1 completed, 1 opted out, 1 who texted
  but never enrolled; naloxone on hand: 2 yes, 1 no.
- check-ins: ana, ben and cy get check-ins on days 0, 1 and 2; day 0: 2 of 3 answered,
  day 1: 1 of 3, day 2: 0 of 3 (Cy's day-2 reply comes 30 hours late).
- risk checks: 2 high and 1 low in one week, 1 moderate in the next.
- locator: naloxone with places x1, naloxone "none within 50 miles" (fallback only) x1, naloxone
  need_place x1, treatment with places x1.
- tickets: emergency (urgent, answered in 3 min, target 5), crisis (urgent, answered in 12 min),
  struggling (high, answered in 20 min, target 30), asked_for_peer (normal, never answered, long
  overdue), no_contact for Evander (normal, answered in 30 min, target 240); resolved:
  reversal_reported, referred_treatment, reached (Evander, day 5).
- reach (cohort of the week of 2026-03-09, 6 enrolled): within 72 h Ana and Ben (2 of 6); within
  7 days also Cy (texted on day 3) and Evander (a peer reached him): 4 of 6; day 14 not yet come.
- engagement, week 1 (the only week ended): 3 of 6 texted, 2 checked in (Ana, Ben), 2 opted out
  (Faustina; Ben, who opted back in the same day).
- peers: Pat Lee has Ana, Ben, Cy (caseload 3), the struggling ticket open, handled 2; Quinn
  Ortiz has Dee (paused) and Evander (completed): caseload 1, handled 1.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from bot.escalations import PRIORITY_RANK
from db.checkins import recount_answered
from db.models import Contact, Escalation, Event, Message, Participant, User

NOW = datetime(2026, 3, 20, 16, 0, tzinfo=timezone.utc)     # Friday noon in New York
RELEASE = date(2026, 3, 12)
DAY = timedelta(days=1)


def _at(day: int, hour: int = 14) -> datetime:
    """Day `day` after RELEASE, at `hour`:00 UTC (morning in New York)."""
    return datetime(RELEASE.year, RELEASE.month, RELEASE.day, hour, tzinfo=timezone.utc) + day * DAY


def seed_program(db) -> dict:
    with db.session() as s:
        pat = User(email="pat.lee@example.org", name="Pat Lee", role="peer", password_hash="!")
        quinn = User(email="quinn.ortiz@example.org", name="Quinn Ortiz", role="peer", password_hash="!")
        s.add_all([pat, quinn])
        s.flush()
        pat_id, quinn_id = pat.id, quinn.id

        def person(name, status="active", naloxone=None, opted=None, consent=True, phone=None, peer=None):
            p = Participant(first_name=name, status=status, release_date=RELEASE, timezone="America/New_York",
                            assigned_peer_id=peer,
                            consent_at=_at(0, 12) if consent else None, opted_out_at=opted, created_at=_at(0, 12),
                            fields={} if naloxone is None else {"naloxone_on_hand": naloxone})
            s.add(p)
            s.flush()
            s.add(Contact(participant_id=p.id, channel="sms", address=f"sms:{phone or '+1312555%04d' % p.id}"))
            return p.id

        ana = person("Anneliese", naloxone=True, peer=pat.id)
        ben = person("Benedikt", naloxone=False, peer=pat.id)
        cy = person("Cyprian", naloxone=True, peer=pat.id)
        dee = person("Delphine", status="paused", peer=quinn.id)
        eve = person("Evander", status="completed", peer=quinn.id)
        fay = person("Faustina", opted=_at(3))
        person("Gulnara", status="prospect", consent=False)

        def msg(pid, direction, kind, at):
            s.add(Message(participant_id=pid, direction=direction, channel="sms", kind=kind, body="(seed)",
                          status="sent" if direction == "out" else "processed", created_at=at, updated_at=at))

        for pid in (ana, ben, cy):
            for day in (0, 1, 2):
                msg(pid, "out", "nudge", _at(day))
        msg(ana, "in", "person", _at(0) + timedelta(hours=1))
        msg(ben, "in", "person", _at(0) + timedelta(hours=3))
        msg(ana, "in", "person", _at(1) + timedelta(hours=2))
        msg(cy, "in", "person", _at(2) + timedelta(hours=30))

        def event(name, data, day, pid=ana):
            s.add(Event(participant_id=pid, name=name, data=data, created_at=_at(day, 15)))

        event("risk_check", {"tier": "high", "score": 7}, 1, ana)
        event("risk_check", {"tier": "high", "score": 6}, 2, ben)
        event("risk_check", {"tier": "low", "score": 1}, 2, cy)
        event("risk_check", {"tier": "moderate", "score": 4}, 5, dee)
        event("locator", {"need": "naloxone", "status": "found", "sites": 3}, 1)
        event("locator", {"need": "naloxone", "status": "found", "sites": 0}, 3, ben)
        event("locator", {"need": "naloxone", "status": "need_place", "sites": 0}, 3, cy)
        event("locator", {"need": "treatment", "status": "found", "sites": 2}, 4, ben)
        event("checkin", {"mood": 2}, 0)
        event("safety", {"kind": "emergency"}, 6, ben)
        event("safety", {"kind": "crisis"}, 4, cy)
        event("opted_out", {}, 3, fay)
        event("opted_out", {}, 4, ben)
        event("opted_in", {}, 4, ben)

        def ticket(pid, reason, priority, day, target, answered_after=None, outcome=None, peer=None):
            created = _at(day, 17)
            s.add(Escalation(participant_id=pid, reason=reason, priority=priority,
                             priority_rank=PRIORITY_RANK[priority], created_at=created, assignee_id=peer,
                             sla_due_at=created + timedelta(minutes=target),
                             first_response_at=created + answered_after if answered_after else None,
                             status="resolved" if outcome else "open",
                             resolved_at=created + timedelta(hours=2) if outcome else None, outcome=outcome))

        ticket(ben, "emergency", "urgent", 6, 5, timedelta(minutes=3), "reversal_reported", pat.id)
        ticket(cy, "crisis", "urgent", 4, 5, timedelta(minutes=12), "referred_treatment", pat.id)
        ticket(ana, "struggling", "high", 1, 30, timedelta(minutes=20), peer=pat.id)
        ticket(dee, "asked_for_peer", "normal", 5, 240)
        ticket(eve, "no_contact", "normal", 5, 240, timedelta(minutes=30), "reached", quinn.id)
        s.flush()
        recount_answered(s.connection())        # the texts were written directly, not through the runtime
    return {"ana": ana, "ben": ben, "cy": cy, "dee": dee, "eve": eve, "fay": fay, "pat": pat_id, "quinn": quinn_id}
