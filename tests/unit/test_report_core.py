"""The program report's numbers, from plain rows (no database)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from core import report as core

UTC = timezone.utc
P = core.Period(date(2026, 3, 1), date(2026, 3, 31), "America/New_York")
REL = date(2026, 3, 10)


def at(day, hour=14, minute=0):
    return datetime(2026, 3, 10, hour, minute, tzinfo=UTC) + timedelta(days=day)


def person(pid, **kw):
    return core.PersonRow(pid, kw.pop("status", "active"), kw.pop("release", REL), "America/New_York",
                          kw.pop("consent", at(0)), kw.pop("opted", None), kw.pop("created", at(0)), **kw)


def test_period_is_whole_local_days():
    assert P.start_utc == datetime(2026, 3, 1, 5, tzinfo=UTC)          # EST
    assert P.end_utc == datetime(2026, 4, 1, 4, tzinfo=UTC)            # EDT after the change
    assert datetime(2026, 3, 1, 4, 59, tzinfo=UTC) not in P and datetime(2026, 4, 1, 3, 59, tzinfo=UTC) in P
    assert None not in P


def test_people_counts_now_and_new_in_period():
    rows = [person(1), person(2, status="paused"), person(3, status="completed"),
            person(4, opted=at(2)), person(5, status="prospect", consent=None),
            person(6, status="merged"), person(7, consent=datetime(2026, 2, 1, tzinfo=UTC))]
    t = {r[0]: r[1:] for r in core.people(core.people_tally(rows, P)).rows}
    assert t["Enrolled"] == (5, 4)
    assert t["Active"] == (2, None) and t["Paused"] == (1, None) and t["Completed"] == (1, None)
    assert t["Opted out"] == (1, 1) and t["Texted in, not enrolled"] == (1, 1)


def test_checkin_answered_within_a_day_and_before_the_next():
    persons = [person(1), person(2), person(3, release=None)]
    msgs = [core.MessageRow(1, "out", "nudge", at(0)), core.MessageRow(1, "out", "nudge", at(0, 20)),
            core.MessageRow(1, "in", "person", at(0, 21)),                # answers the second only
            core.MessageRow(2, "out", "welcome", at(1)), core.MessageRow(2, "in", "person", at(2, 15)),  # 25 h: late
            core.MessageRow(2, "out", "nudge", at(3)), core.MessageRow(2, "in", "person", at(3, 14, 30)),
            core.MessageRow(3, "out", "nudge", at(0)), core.MessageRow(3, "in", "person", at(0, 15)),  # no release
            core.MessageRow(1, "out", "nudge", datetime(2026, 2, 20, tzinfo=UTC))]                    # before the period
    t = core.checkin_response(core.checkin_days(persons, msgs, P))
    assert t.rows == ((0, 2, 1, 50.0), (1, 1, 0, 0.0), (3, 1, 1, 100.0))
    assert t.note.startswith("2 of 4 answered (50.0%)")


def test_day_since_release_is_on_the_persons_calendar():
    late = core.MessageRow(1, "out", "nudge", datetime(2026, 3, 11, 3, 0, tzinfo=UTC))   # 23:00 on the 10th in NY
    assert core.checkin_response(core.checkin_days([person(1)], [late], P)).rows == ((0, 1, 0, 0.0),)


def test_risk_tiers_by_week():
    ev = [core.EventRow("risk_check", {"tier": "high"}, at(0)), core.EventRow("risk_check", {"tier": "low"}, at(1)),
          core.EventRow("risk_check", {"tier": "high"}, at(7)), core.EventRow("checkin", {"mood": 2}, at(7))]
    t = core.risk_tiers(ev, P)
    assert t.columns == ("week", "low", "moderate", "high")
    assert t.rows == (("2026-03-09", 1, 0, 1), ("2026-03-16", 0, 0, 1))


def ticket(reason, priority, created, target, answered=None, outcome=None, resolved=None):
    return core.TicketRow(reason, priority, created, created + timedelta(minutes=target),
                          created + timedelta(minutes=answered) if answered is not None else None,
                          resolved, outcome)


def test_escalations_by_reason_and_priority():
    t = core.escalations([ticket("crisis", "urgent", at(0), 5), ticket("crisis", "urgent", at(1), 5),
                          ticket("struggling", "high", at(1), 30), ticket("no_contact", "high", at(2), 30),
                          ticket("crisis", "high", datetime(2026, 1, 1, tzinfo=UTC), 30)], P)
    assert t.rows[0] == ("crisis", 2, 0, 0, 2)
    assert set(t.rows[1:]) == {("no_contact", 0, 1, 0, 1), ("struggling", 0, 1, 0, 1)}


def test_response_times_median_p90_and_share_within_target():
    now = at(5)
    rows = [ticket("crisis", "urgent", at(0), 5, answered=m) for m in (1, 2, 3, 4, 6, 7, 8, 9, 10, 30)]
    rows += [ticket("crisis", "urgent", at(1), 5)]                       # never answered, overdue: missed
    rows += [ticket("crisis", "urgent", now - timedelta(minutes=1), 5)]  # not due yet: left out of the share
    t = {r[0]: r for r in core.response_times(rows, P, {"urgent": 5, "high": 30, "normal": 240}, now).rows}
    name, target, n, answered, median, p90, within, missed, share = t["urgent"]
    assert (target, n, answered) == (5, 12, 10)
    assert median == 6.5 and p90 == 10.0
    assert (within, missed, share) == (4, 7, 36.4)
    assert t["high"][2:] == (0, 0, None, None, 0, 0, None)
    assert t["all"][1] is None and t["all"][2] == 12


def test_percentile_is_nearest_rank():
    assert core.percentile([], 90) is None
    assert core.percentile([5], 90) == 5
    assert core.percentile(list(range(1, 11)), 90) == 9
    assert core.percentile(list(range(1, 101)), 90) == 90


def test_locator_tells_places_found_from_fallback_only():
    ev = [core.EventRow("locator", {"need": "naloxone", "status": "found", "sites": n}, at(1)) for n in (3, 1, 0, 0)]
    ev += [core.EventRow("locator", {"need": "naloxone", "status": "need_place", "sites": 0}, at(1)),
           core.EventRow("locator", {"need": "treatment", "status": "more", "sites": 2}, at(1))]
    t = core.locator(ev, P)
    assert t.columns == ("need", "places found", "fallback only", "asked where", "more places", "total")
    assert t.rows == (("naloxone", 2, 2, 1, 0, 5), ("treatment", 0, 0, 0, 1, 1))
    old = core.locator([core.EventRow("locator", {"need": "naloxone", "status": "found"}, at(1))], P)
    assert old.columns[-2] == "found (not told apart)" and old.rows == (("naloxone", 0, 0, 0, 0, 1, 1),)


# -- after release ---------------------------------------------------------------------------------
NOW = datetime(2026, 4, 30, tzinfo=UTC)


def texted(pid, when):
    return core.MessageRow(pid, "in", "person", when)


def hits(persons, messages, now=NOW):
    """What the shell's SQL answers, computed from the rows (the reference it is tested against)."""
    return core.window_hits(persons, core.release_windows(persons, P, now), messages)


def test_reach_by_release_week_with_72_hours_7_and_14_days():
    sunday = date(2026, 3, 15)          # the last day of the week of Monday 9 March
    persons = [person(1), person(2), person(3), person(4, release=sunday), person(5, status="merged"),
               person(6, status="prospect", consent=None), person(7, release=date(2026, 4, 28))]
    start1 = datetime(2026, 3, 10, 4, tzinfo=UTC)                      # midnight in New York (EDT)
    activity = [texted(1, start1 + timedelta(hours=71, minutes=59)),   # just inside 72 h
                texted(2, start1 - timedelta(minutes=1)),              # before release: not a contact
                texted(2, start1 + timedelta(days=6, hours=23)),       # inside 7 days
                texted(5, start1), texted(6, start1), texted(7, datetime(2026, 4, 28, 12, tzinfo=UTC))]
    reached = [core.TicketRow("no_contact", "normal", at(1), at(2), None, datetime(2026, 3, 16, 5, tzinfo=UTC),
                              "reached", participant_id=4)]           # a peer reached them on day 1
    t = core.reach(persons, hits(persons, activity), reached, P, NOW)
    assert t.rows == (("2026-03-09", 4, 4, 2, 50.0, 4, 3, 75.0, 4, 1, 25.0),)  # 1, 2, 3 and Sunday's 4; 7 is April
    soon = datetime(2026, 3, 12, tzinfo=UTC)
    late = core.reach(persons, hits(persons, activity, soon), reached, P, soon)
    assert late.rows == (("2026-03-09", 4, 0, 0, None, 0, 0, None, 0, 0, None),)  # no window has passed yet


def test_release_day_is_midnight_in_the_persons_time_zone():
    west = core.PersonRow(1, "active", date(2026, 3, 10), "America/Los_Angeles", at(0))
    assert core.release_start(west) == datetime(2026, 3, 10, 7, tzinfo=UTC)
    just_before = texted(1, datetime(2026, 3, 10, 6, 59, tzinfo=UTC))         # 23:59 the night before, LA
    assert core.reach([west], hits([west], [just_before]), [], P, NOW).rows[0][3] == 0


def test_engagement_weeks_counts_check_ins_of_both_kinds_and_every_opt_out():
    start = datetime(2026, 3, 10, 4, tzinfo=UTC)
    persons = [person(i) for i in range(1, 6)] + [person(6, opted=start + timedelta(days=9))]
    nudge = core.MessageRow(1, "out", "nudge", start + timedelta(days=1))
    activity = [nudge, texted(1, start + timedelta(days=1, hours=2)),       # answered a check-in
                texted(2, start + timedelta(days=2)), texted(3, start + timedelta(days=8))]
    events = [core.EventRow("checkin", {}, start + timedelta(days=3), 2),    # checked in on their own
              core.EventRow("opted_out", {}, start + timedelta(days=4), 4),  # then opted back in
              core.EventRow("opted_in", {}, start + timedelta(days=4, hours=1), 4)]
    now = start + timedelta(days=14)
    t = core.engagement(persons, hits(persons, activity, now), events, P, now)
    assert t.rows == ((1, 6, 2, 33.3, 2, 33.3, 1, 16.7, 33.3, 33.3),
                      (2, 6, 1, 16.7, 0, 0.0, 1, 16.7, 16.7, 16.7))
    early = start + timedelta(days=6)
    assert core.engagement(persons, hits(persons, activity, early), events, P, early).rows == ()   # no week ended


def test_merged_record_counts_once_on_the_record_kept():
    persons = [person(1), person(2, status="merged")]
    assert core.reach(persons, hits(persons, [texted(1, at(0, 15)), texted(2, at(0, 15))]), [], P,
                      NOW).rows[0][1:4] == (1, 1, 1)


def test_response_by_week_and_by_peer():
    rows = [core.TicketRow("crisis", "urgent", at(0), at(0) + timedelta(minutes=5), at(0) + timedelta(minutes=3),
                           peer="Pat"),
            core.TicketRow("crisis", "urgent", at(6), at(6) + timedelta(minutes=5), at(6) + timedelta(minutes=9),
                           peer="Pat"),
            core.TicketRow("x", "normal", at(6), at(6) + timedelta(minutes=60))]
    assert core.response_by(rows, P, NOW, "week").rows == (
        ("2026-03-09", "urgent", 1, 1, 3.0, 3.0, 1, 0, 100.0), ("2026-03-16", "urgent", 1, 1, 9.0, 9.0, 0, 1, 0.0),
        ("2026-03-16", "normal", 1, 0, None, None, 0, 1, 0.0))
    assert core.response_by(rows, P, NOW, "peer").rows[0] == ("Pat", "urgent", 2, 2, 6.0, 9.0, 1, 1, 50.0)


def test_peers_caseload_open_and_handled_per_week():
    rows = [core.TicketRow("x", "high", at(0), at(1), at(0), at(1), "reached", peer="Pat"),
            core.TicketRow("x", "high", at(0), at(1), at(0), at(8), "other", peer="Pat")]
    t = core.peers([core.PeerRow("Pat", 7, 2), core.PeerRow("Ana", 0, 0)], rows, P)
    assert t.rows == (("Ana", 0, 0, 0, 0.0), ("Pat", 7, 2, 2, 0.4))      # 31 days = 5 weeks
    assert core.peer_weeks(rows, P).rows == (("2026-03-09", "Pat", 1), ("2026-03-16", "Pat", 1))


def test_small_cells_are_hidden_with_the_rates_beside_them():
    t = core.Table("x", "x", ("w", "people", "reached", "%"), (("a", 12, 3, 25.0), ("b", 10, 5, 50.0),
                                                               ("c", 0, 0, None)), people=(1, 2), rates=(3,))
    assert core.suppressed(t).rows == (("a", 12, "<5", None), ("b", 10, 5, 50.0), ("c", 0, 0, None))


def test_naloxone_on_hand_rate_among_those_asked():
    rows = [person(1, naloxone_on_hand=True), person(2, naloxone_on_hand=True), person(3, naloxone_on_hand=False),
            person(4), person(5, status="prospect", consent=None, naloxone_on_hand=True)]
    assert core.naloxone(core.people_tally(rows, P)).rows == (("has naloxone", 2, 66.7), ("does not", 1, 33.3),
                                                              ("not asked yet", 1, None))
    assert core.naloxone_answer("yes") is True and core.naloxone_answer(False) is False
    assert core.naloxone_answer("maybe") is None


def test_outcomes_resolved_in_the_period_with_labels():
    labels = {"referred_treatment": "Referred to treatment", "reversal_reported": "Reversal reported"}
    rows = [ticket("crisis", "urgent", at(0), 5, outcome="reversal_reported", resolved=at(0, 16)),
            ticket("x", "high", at(0), 5, outcome="reversal_reported", resolved=at(1)),
            ticket("x", "high", at(0), 5, outcome="made_up", resolved=at(1)),
            ticket("x", "high", at(0), 5, outcome="referred_treatment", resolved=datetime(2026, 5, 1, tzinfo=UTC))]
    assert core.outcomes(rows, P, labels).rows == (("Referred to treatment", 0), ("Reversal reported", 2),
                                                   ("made_up", 1))


def test_conversation_events_and_no_identifiers_anywhere():
    ev = [core.EventRow("checkin", {"mood": 2}, at(0), 1), core.EventRow("checkin", {"mood": 2}, at(1), 2),
          core.EventRow("safety", {"kind": "crisis"}, at(1), 1), core.EventRow("expired", {"flow": "risk"}, at(2), 1)]
    assert core.conversation_events(ev, P).rows == (("checkin", "mood 2", 2), ("expired", "flow risk", 1),
                                                    ("safety", "kind crisis", 1))
    persons = [person(41, naloxone_on_hand=True)]
    msgs = [core.MessageRow(41, "out", "nudge", at(0)), texted(41, at(0, 15))]
    report = core.build(P, persons, core.checkin_days(persons, msgs, P), ev,
                        [ticket("crisis", "urgent", at(0), 5, answered=2)], {"urgent": 5}, {}, at(9),
                        hits=hits(persons, msgs, at(9)))
    for table in report.tables.values():
        for row in table.rows:
            assert 41 not in row[:1], (table.name, row)   # ids never lead a row


def test_weeks_since_release_are_local_midnights_across_the_dst_change():
    """Released Thursday 5 March in New York: week 1 ends at midnight on the 12th, after the
    clocks went forward on the 8th, so it is 167 hours long; a text at 23:30 on the 11th is in it."""
    persons = [person(1, release=date(2026, 3, 5))]
    weeks = {w.name: w for w in core.release_windows(persons, P, NOW)}
    assert weeks["week 1"].lo == datetime(2026, 3, 5, 5, tzinfo=UTC)
    assert weeks["week 1"].hi == weeks["week 2"].lo == datetime(2026, 3, 12, 4, tzinfo=UTC)
    late = texted(1, datetime(2026, 3, 12, 3, 30, tzinfo=UTC))                  # 23:30 EDT on the 11th
    assert core.window_hits(persons, weeks.values(), [late]).texted == {(1, "week 1"), (1, "7 days"), (1, "14 days")}
    assert set(weeks) == {"72 h", "7 days", "14 days"} | {f"week {k}" for k in range(1, 8)}   # ended by NOW
    ended = core.release_windows(persons, P, datetime(2026, 3, 13, tzinfo=UTC))
    assert [w.name for w in ended] == ["72 h", "7 days", "week 1"]


def test_a_reply_at_exactly_24_hours_answers_and_a_microsecond_later_does_not():
    sent = at(1)
    msgs = [core.MessageRow(1, "out", "nudge", sent), core.MessageRow(1, "in", "person", sent + timedelta(hours=24)),
            core.MessageRow(2, "out", "nudge", sent),
            core.MessageRow(2, "in", "person", sent + timedelta(hours=24, microseconds=1))]
    assert core.checkin_days([person(1), person(2)], msgs, P) == {1: (2, 1)}


def test_the_recorded_answer_uses_the_reports_definition():
    """db/checkins.py may not import the core: its copy of the rule's constants must match."""
    from db import checkins
    assert checkins.CHECKIN_KINDS == core.NUDGE_KINDS and checkins.ANSWER_WINDOW == core.ANSWER_WINDOW


def test_whole_local_days_and_the_ones_the_period_cuts():
    """The summary answers a person's local days the period holds whole; the rest are cut at the
    program's midnights (New York here), and together they tile the period."""
    assert core.whole_days(P, "America/New_York") == ([date(2026, 3, 1) + timedelta(days=i) for i in range(31)], [])
    whole, cut = core.whole_days(P, "America/Los_Angeles")           # midnight in NY is 21:00 there
    assert whole == [date(2026, 3, 1) + timedelta(days=i) for i in range(30)]
    assert cut == [(date(2026, 2, 28), P.start_utc, datetime(2026, 3, 1, 8, tzinfo=UTC)),
                   (date(2026, 3, 31), datetime(2026, 3, 31, 7, tzinfo=UTC), P.end_utc)]
    whole, cut = core.whole_days(P, "Europe/Berlin")                  # 06:00 there: both ends cut
    assert whole[0] == date(2026, 3, 2) and whole[-1] == date(2026, 3, 31)
    assert [c[0] for c in cut] == [date(2026, 3, 1), date(2026, 4, 1)] and cut[-1][2] == P.end_utc
    for tz in ("America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns", "Asia/Kolkata",
               "Pacific/Honolulu"):
        for period in (P, core.Period(date(2025, 9, 1), date(2026, 11, 30)), core.Period(date(2026, 3, 8),
                                                                                          date(2026, 3, 8))):
            whole, cut = core.whole_days(period, tz)
            zone = ZoneInfo(tz)
            spans = sorted([(datetime.combine(d, datetime.min.time(), zone),
                             datetime.combine(d + timedelta(days=1), datetime.min.time(), zone)) for d in whole]
                           + [(lo, hi) for _, lo, hi in cut])
            assert spans[0][0] == period.start_utc and spans[-1][1] == period.end_utc, tz
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), tz
            assert len(cut) <= 2 and all(c[0] not in whole for c in cut)


def test_check_ins_counted_from_rows_by_day_since_release_in_a_zone():
    rows = [(REL, datetime(2026, 3, 10, 3, 59, tzinfo=UTC), True),      # 23:59 on the 9th in NY (EDT): day -1
            (REL, datetime(2026, 3, 10, 4, 0, tzinfo=UTC), False),      # midnight: day 0
            (REL, at(0), True), (REL - timedelta(days=2), at(0), False)]
    assert core.checkin_days_of(rows, "America/New_York") == {-1: (1, 1), 0: (2, 1), 2: (1, 0)}
    assert core.checkin_days_of([], "America/New_York") == {}


def test_reach_and_engagement_are_computed_from_counts_per_release_day_and_zone():
    """`release_counts` counts people per (release date, zone) and window; the tables come from
    the counts alone (what the shell counts in SQL), a cohort gathering its days and zones: Sunday
    15 March is the week of Monday 9 March, in New York and in Kolkata alike."""
    sunday = date(2026, 3, 15)
    persons = [person(1), person(2, release=sunday),
               core.PersonRow(3, "active", sunday, "Asia/Kolkata", at(0)),
               core.PersonRow(4, "active", REL, "Asia/Kolkata", at(0), opted_out_at=at(8)),
               person(5, status="merged"), person(6, status="prospect", consent=None)]
    starts = {p.id: core.release_start(p) for p in persons}
    activity = [texted(1, starts[1] + timedelta(hours=1)), texted(3, starts[3] + timedelta(days=7)),   # week 2
                texted(5, starts[5]), texted(6, starts[6])]
    events = [core.EventRow("checkin", {}, starts[2] + timedelta(days=7), 2),       # week 2's first instant
              core.EventRow("checkin", {}, starts[3] - timedelta(microseconds=1), 3)]   # before release
    reached = [core.TicketRow("no_contact", "normal", at(1), at(2), None, starts[4] + timedelta(hours=72),
                              "reached", participant_id=4)]          # 72 h's end: in 7 days, not in 72 h
    h = hits(persons, activity)
    counts = core.release_counts(persons, h, reached, events, P, NOW)
    assert counts.people == {(REL, "America/New_York"): 1, (REL, "Asia/Kolkata"): 1,
                             (sunday, "America/New_York"): 1, (sunday, "Asia/Kolkata"): 1}
    assert counts.contact[(REL, "America/New_York", "72 h")] == 1
    assert (REL, "Asia/Kolkata", "72 h") not in counts.contact
    assert counts.contact[(REL, "Asia/Kolkata", "7 days")] == 1
    assert counts.contact[(sunday, "Asia/Kolkata", "week 2")] == 1
    assert counts.checked == {(sunday, "America/New_York", "week 2"): 1}
    assert counts.opted == {(REL, "Asia/Kolkata", "week 2"): 1}
    assert core.reach_of(counts, NOW) == core.reach(persons, h, reached, P, NOW)
    assert core.engagement_of(counts, NOW) == core.engagement(persons, h, events, P, NOW)
    assert core.reach_of(counts, NOW).rows[0][:2] == ("2026-03-09", 4)
    twice = counts + counts
    assert twice.people[(REL, "Asia/Kolkata")] == 2 and core.reach_of(twice, NOW).rows[0][1] == 8
    assert core.ReleaseCounts.of({}, {("x",): 0}, {}, {}) == core.ReleaseCounts()
