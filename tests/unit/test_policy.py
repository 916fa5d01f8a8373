"""The nudge planner and send policy (scheduler/policy.py) and the nudge content
(bot/content/nudges.yaml). Pure: no database, no clock; hypothesis drives the properties."""
from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from core.sms import count_segments
from core.nudge_content import DEFAULT_PATH, _NOT_DISCREET
from core.policy import (ErrorInfo, GiveUp, NoContactRule, QuietHours, Retry, ScheduleError,
                              WELCOME_GRACE, TokenBucket, daily_cap_left, in_quiet_hours, load_schedule,
                              load_schedule_text, may_send, next_allowed, no_contact_due, pace,
                              plan, render, retry_decision, spread_minute, status_of, wrote_first)

UTC = timezone.utc
SCHED = load_schedule()
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
         "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico",
         "Pacific/Guam"]
NY = "America/New_York"
# POLICY_EXAMPLES=5000 for a deeper search before a release; 150 keeps the unit run short.
PROPS = settings(max_examples=int(os.environ.get("POLICY_EXAMPLES", 150)), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def utc(*a) -> datetime:
    return datetime(*a, tzinfo=UTC)


def local(dt: datetime, tz: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz))


def at_local(d: date, hh: int, mm: int, tz: str) -> datetime:
    return datetime.combine(d, time(hh, mm), tzinfo=ZoneInfo(tz)).astimezone(UTC)


# --- strategies --------------------------------------------------------------------------------

zones = st.sampled_from(ZONES)
releases = st.dates(date(2020, 1, 1), date(2032, 12, 31))
prefs = st.one_of(st.none(), st.builds(time, st.integers(0, 23), st.integers(0, 59)))
keys = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@st.composite
def cases(draw):
    """A person: release date, zone, preferred time, and an enrollment anywhere from a month
    before release to past the window's end, planned right away or replanned later."""
    release, tz = draw(releases), draw(zones)
    midnight = datetime.combine(release, time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    enrolled = midnight + timedelta(minutes=draw(st.integers(-30 * 1440, 100 * 1440)))
    now = enrolled + timedelta(minutes=draw(st.one_of(st.just(0), st.integers(0, 120),
                                                      st.integers(0, 100 * 1440))))
    return release, tz, draw(prefs), draw(keys), enrolled, now


def run(case, sched=SCHED):
    release, tz, pref, key, enrolled, now = case
    return plan(release, sched, tz, pref, key, enrolled, now)


# --- planner properties ------------------------------------------------------------------------

@PROPS
@given(cases())
def test_plan_never_in_quiet_hours(case):
    tz = case[1]
    for p in run(case):
        assert not in_quiet_hours(p.due_at, tz, SCHED.quiet), (p, local(p.due_at, tz))


@PROPS
@given(cases())
def test_plan_is_inside_the_window_and_never_in_the_past(case):
    release, tz, _, _, _, now = case
    last = release + timedelta(days=SCHED.window_end_day)
    for p in run(case):
        assert p.due_at >= (now - WELCOME_GRACE if p.kind == "welcome" else now) and p.due_at.tzinfo is not None and p.due_at.utcoffset() == timedelta(0)
        assert local(p.due_at, tz).date() <= last
        assert (local(p.due_at, tz).date() - release).days == p.day
        if p.kind == "nudge":
            assert p.day in SCHED.days and p.day < SCHED.window_end_day
        if p.kind == "closing":
            assert p.day == SCHED.window_end_day


@PROPS
@given(cases())
def test_plan_is_strictly_ordered_one_per_day_with_unique_keys(case):
    out = run(case)
    assert all(a.due_at < b.due_at for a, b in zip(out, out[1:]))
    assert len({p.day for p in out}) == len(out)
    assert len({p.dedupe_key for p in out}) == len(out)
    assert sum(p.kind == "welcome" for p in out) <= 1 and sum(p.kind == "closing" for p in out) <= 1


@PROPS
@given(cases())
def test_never_a_burst(case):
    """Late or not, at most one text before now + the late-enrollment gap, and no two texts
    closer than that gap: missed days are dropped, not caught up."""
    now, out = case[5], run(case)
    assert sum(p.due_at < now + SCHED.late_min_gap for p in out) <= 1
    assert all(p.due_at >= now for p in out if p.kind != "welcome")
    assert all(b.due_at - a.due_at >= SCHED.late_min_gap for a, b in zip(out, out[1:]))


@PROPS
@given(cases())
def test_welcome_only_when_day_zero_was_missed(case):
    release, tz, pref, key, enrolled, now = case
    out = run(case)
    day0 = plan(release, SCHED, tz, pref, key, enrolled - timedelta(days=400), enrolled - timedelta(days=400))[0]
    assert day0.day == 0 and day0.template_key.startswith("first")
    welcomes = [p for p in out if p.kind == "welcome"]
    if enrolled <= day0.due_at:
        assert not welcomes
    if welcomes:
        assert out[0] is welcomes[0] and welcomes[0].due_at == next_allowed(enrolled, tz, SCHED.quiet)


@PROPS
@given(cases())
def test_nudges_keep_their_local_time_across_dst(case):
    """Each check-in is at the preferred local time (moved out of quiet hours) plus its spread,
    on its own local date, whatever daylight saving did in between."""
    release, tz, pref, key, _, _ = case
    pref = pref or SCHED.checkin_time
    m = pref.hour * 60 + pref.minute
    base = min(max(m, 9 * 60), 21 * 60 - SCHED.spread_minutes)
    for p in run(case):
        if p.kind == "welcome":
            continue
        lt = local(p.due_at, tz)
        assert lt.date() == release + timedelta(days=p.day)
        assert lt.hour * 60 + lt.minute == base + spread_minute(key, p.day, SCHED.spread_minutes)


@PROPS
@given(cases(), st.integers(0, 100 * 1440))
def test_replanning_later_never_invents_new_times(case, minutes):
    """The shell may replan at any time (new check-in time, restart): later plans only drop
    what has passed, so outbox rows keep their times and dedupe keys."""
    first = {(p.dedupe_key, p.due_at) for p in run(case)}
    later = case[:5] + (case[5] + timedelta(minutes=minutes),)
    assert {(p.dedupe_key, p.due_at) for p in run(later)} <= first


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(__import__("zoneinfo").available_timezones())), releases, prefs, keys)
def test_plan_holds_in_every_time_zone(tz, release, pref, key):
    enrolled = utc(release.year, release.month, release.day) - timedelta(days=2)
    out = plan(release, SCHED, tz, pref, key, enrolled, enrolled)
    assert len(out) == len(SCHED.days) + 1
    assert all(a.due_at < b.due_at for a, b in zip(out, out[1:]))
    assert not any(in_quiet_hours(p.due_at, tz, SCHED.quiet) for p in out)


# --- planner examples --------------------------------------------------------------------------

def test_full_plan_for_someone_enrolled_before_release():
    enrolled = utc(2025, 2, 20, 15)
    out = plan(date(2025, 3, 1), SCHED, NY, time(10, 0), "p1", enrolled, enrolled)
    assert [p.day for p in out] == [0, 1, 2, 3, 4, 5, 7, 10, 14, 17, 21, 28, 35, 42, 49, 56, 70, 84, 90]
    assert [p.kind for p in out] == ["nudge"] * 18 + ["closing"]
    assert out[0].template_key == "first.0" and out[1].template_key == "nudge.1"
    assert out[0].dedupe_key == "nudge:0:2025-03-01" and out[-1].dedupe_key == "closing:2025-03-01"
    # March 9 2025 is spring-forward in New York: the local time holds, the UTC offset moves
    assert {local(p.due_at, NY).hour for p in out} == {10}
    assert {p.due_at.hour for p in out} == {14, 15}


def test_plan_spanning_november_keeps_local_time():
    enrolled = utc(2025, 10, 1)
    out = plan(date(2025, 10, 20), SCHED, "America/Los_Angeles", time(18, 45), "k", enrolled, enrolled)
    assert {(local(p.due_at, "America/Los_Angeles").hour, local(p.due_at, "America/Los_Angeles").minute // 20)
            for p in out} <= {(18, 2), (19, 0)}
    assert {p.due_at.hour for p in out} >= {1, 2}                  # PDT then PST


@pytest.mark.parametrize("pref, lo, hi", [(time(8, 0), (9, 0), (9, 19)), (time(22, 30), (20, 40), (20, 59)),
                                           (time(0, 30), (9, 0), (9, 19)), (time(20, 55), (20, 40), (20, 59)),
                                           (time(13, 5), (13, 5), (13, 24))])
def test_preference_moves_out_of_quiet_hours_on_the_same_day(pref, lo, hi):
    enrolled = utc(2025, 6, 1)
    out = plan(date(2025, 6, 10), SCHED, "America/Denver", pref, "abc", enrolled, enrolled)
    assert [p.day for p in out] == [*SCHED.days, SCHED.window_end_day]    # every text is planned
    for p in out:
        lt = local(p.due_at, "America/Denver")
        assert lo <= (lt.hour, lt.minute) <= hi and lt.date() == date(2025, 6, 10) + timedelta(days=p.day)


def night_schedule():
    """Quiet only 00:00-01:00 and no spread, so a 02:30 or 01:30 preference is allowed."""
    return replace(SCHED, quiet=QuietHours(time(0, 0), time(1, 0)), spread_minutes=0)


def test_spring_forward_gap_shifts_forward():
    sched, enrolled = night_schedule(), utc(2025, 3, 1)
    out = {p.day: p for p in plan(date(2025, 3, 8), sched, NY, time(2, 30), "k", enrolled, enrolled)}
    assert local(out[0].due_at, NY).time() == time(2, 30)          # March 8, EST
    assert local(out[1].due_at, NY).time() == time(3, 30)          # March 9: 02:30 does not exist
    assert out[1].due_at == utc(2025, 3, 9, 7, 30)
    assert local(out[2].due_at, NY).time() == time(2, 30)


def test_fall_back_ambiguous_time_takes_the_first():
    sched, enrolled = night_schedule(), utc(2025, 10, 1)
    out = {p.day: p for p in plan(date(2025, 11, 1), sched, NY, time(1, 30), "k", enrolled, enrolled)}
    assert out[1].due_at == utc(2025, 11, 2, 5, 30)                # 01:30 EDT, fold=0
    assert out[2].due_at == utc(2025, 11, 3, 6, 30)                # 01:30 EST


def test_late_enrollment_gets_one_welcome_then_the_next_day():
    now = at_local(date(2025, 3, 5), 15, 0, NY)                   # day 4 of a March 1 release
    out = plan(date(2025, 3, 1), SCHED, NY, time(10, 0), "p", now, now)
    assert (out[0].kind, out[0].due_at, out[0].day, out[0].dedupe_key) == ("welcome", now, 4, "welcome:2025-03-01")
    assert [p.day for p in out[1:4]] == [5, 7, 10]


def test_late_enrollment_at_night_welcomes_in_the_morning_and_skips_that_day():
    now = at_local(date(2025, 3, 5), 23, 0, NY)
    out = plan(date(2025, 3, 1), SCHED, NY, time(10, 0), "p", now, now)
    assert out[0].kind == "welcome" and out[0].due_at == at_local(date(2025, 3, 6), 9, 0, NY)
    assert out[1].day == 7                                          # day 5 is the welcome's day


def test_enrolled_on_release_morning_before_the_check_in_gets_day_zero():
    now = at_local(date(2025, 3, 1), 8, 0, NY)
    out = plan(date(2025, 3, 1), SCHED, NY, time(10, 0), "p", now, now)
    assert out[0].kind == "nudge" and out[0].day == 0 and out[0].template_key == "first.0"


def test_future_release_and_after_the_window():
    now = utc(2025, 1, 1, 15)
    assert plan(date(2025, 6, 1), SCHED, NY, None, "p", now, now)[0].due_at.date() == date(2025, 6, 1)
    assert plan(date(2024, 6, 1), SCHED, NY, None, "p", now, now) == []      # past day 90: nothing
    day_88 = at_local(date(2024, 8, 28), 12, 0, NY)
    assert [p.kind for p in plan(date(2024, 6, 1), SCHED, NY, None, "p", day_88, day_88)] == ["welcome", "closing"]


def test_replan_after_the_welcome_window_does_not_plan_it_again():
    enrolled = at_local(date(2025, 3, 5), 15, 0, NY)
    later = plan(date(2025, 3, 1), SCHED, NY, time(10, 0), "p", enrolled, enrolled + timedelta(hours=3))
    assert [p.kind for p in later][:1] == ["nudge"] and later[0].day == 5


def test_spread_is_deterministic_and_spread_out():
    assert spread_minute("p1", 3, 20) == spread_minute("p1", 3, 20)
    assert len({spread_minute(f"p{i}", 3, 20) for i in range(200)}) == 20
    assert spread_minute("p1", 3, 0) == 0


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        plan(date(2025, 3, 1), SCHED, NY, None, "p", datetime(2025, 3, 1), utc(2025, 3, 1))


# --- quiet hours -------------------------------------------------------------------------------

@PROPS
@given(st.datetimes(datetime(2020, 1, 1), datetime(2032, 12, 31), timezones=st.just(UTC)), zones,
       st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
       st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])))
def test_next_allowed_is_the_first_allowed_moment(at, tz, start, end):
    assume(start != end)
    q = QuietHours(start, end)
    out = next_allowed(at, tz, q)
    assert out >= at and not in_quiet_hours(out, tz, q)
    assert out - at <= timedelta(hours=25)
    if out > at:      # every minute before it was quiet
        step = (out - at) / 7
        assert all(in_quiet_hours(at + step * i, tz, q) for i in range(7))


@pytest.mark.parametrize("hh, mm, quiet", [(20, 59, False), (21, 0, True), (3, 0, True),
                                           (8, 59, True), (9, 0, False), (12, 0, False)])
def test_in_quiet_hours_local(hh, mm, quiet):
    assert in_quiet_hours(at_local(date(2025, 7, 1), hh, mm, "Pacific/Guam"), "Pacific/Guam", SCHED.quiet) is quiet


def test_next_allowed_examples():
    d = date(2025, 7, 1)
    assert next_allowed(at_local(d, 22, 0, NY), NY, SCHED.quiet) == at_local(d + timedelta(days=1), 9, 0, NY)
    assert next_allowed(at_local(d, 3, 0, NY), NY, SCHED.quiet) == at_local(d, 9, 0, NY)
    assert next_allowed(at_local(d, 12, 0, NY), NY, SCHED.quiet) == at_local(d, 12, 0, NY)
    # inside the repeated hour of fall-back, quiet until 01:30: the second 01:30 (EST)
    q = QuietHours(time(0, 0), time(1, 30))
    assert next_allowed(utc(2025, 11, 2, 6, 10), NY, q) == utc(2025, 11, 2, 6, 30)


# --- may_send ----------------------------------------------------------------------------------

statuses = st.fixed_dictionaries({"opted_out": st.booleans(), "active": st.booleans(), "paused": st.booleans()})
instants = st.datetimes(datetime(2020, 1, 1), datetime(2032, 12, 31), timezones=st.just(UTC))


@PROPS
@given(instants, statuses, zones, st.booleans(), st.one_of(st.none(), instants))
def test_never_after_opt_out_never_at_night_unasked(now, status, tz, wrote, due):
    ok, reason = may_send(now, status, tz, SCHED.quiet, wrote, due_at=due, stale_after=SCHED.stale_after)
    if status["opted_out"]:
        assert (ok, reason) == (False, "opted_out")
    if ok:
        assert status["active"] and not status["paused"] and not status["opted_out"]
        assert wrote or not in_quiet_hours(now, tz, SCHED.quiet)
        assert due is None or now - due <= SCHED.stale_after


def test_may_send_reasons():
    day, night = at_local(date(2025, 7, 1), 12, 0, NY), at_local(date(2025, 7, 1), 23, 0, NY)
    good = {"opted_out": False, "active": True, "paused": False}
    assert may_send(day, good, NY, SCHED.quiet) == (True, "ok")
    assert may_send(night, good, NY, SCHED.quiet) == (False, "quiet_hours")
    assert may_send(night, good, NY, SCHED.quiet, person_wrote_first=True) == (True, "ok")
    assert may_send(day, {**good, "active": False}, NY, SCHED.quiet) == (False, "inactive")
    assert may_send(day, {**good, "paused": True}, NY, SCHED.quiet) == (False, "paused")
    assert may_send(day, good, NY, SCHED.quiet, due_at=day - timedelta(hours=13),
                    stale_after=SCHED.stale_after) == (False, "stale")
    with pytest.raises(KeyError):
        may_send(day, {"active": True}, NY, SCHED.quiet)


def test_status_of_and_wrote_first():
    class P:
        opted_out, status = False, "paused"
    assert status_of(P()) == {"opted_out": False, "active": True, "paused": True}
    now = utc(2025, 1, 1, 12)
    assert wrote_first(now - timedelta(minutes=10), now, SCHED.reply_window)
    assert not wrote_first(now - timedelta(minutes=31), now, SCHED.reply_window)
    assert not wrote_first(None, now, SCHED.reply_window)


# --- retries -----------------------------------------------------------------------------------

NOW = utc(2025, 5, 1, 12)


@pytest.mark.parametrize("error", [ErrorInfo(http_status=429, twilio_code=20429), ErrorInfo(http_status=500),
                                   ErrorInfo(http_status=503), ErrorInfo(network="timeout"),
                                   ErrorInfo(network="connection")])
def test_temporary_errors_back_off_exponentially_with_jitter(error):
    delays = [(retry_decision(n, error, NOW, limit=6, seed="row-7").at - NOW).total_seconds() for n in range(1, 6)]
    for n, d in enumerate(delays, start=1):
        full = 30 * 2 ** (n - 1)
        assert full / 2 <= d <= full
    assert delays == sorted(delays)
    assert isinstance(retry_decision(6, error, NOW, limit=6), GiveUp)
    assert retry_decision(6, error, NOW, limit=6).reason.startswith("retries_exhausted")


def test_jitter_is_deterministic_per_seed_and_spreads_a_burst():
    e = ErrorInfo(http_status=503)
    assert retry_decision(2, e, NOW, seed=1) == retry_decision(2, e, NOW, seed=1)
    assert len({retry_decision(2, e, NOW, seed=i).at for i in range(50)}) > 40


def test_backoff_cap_and_retry_after():
    e = ErrorInfo(http_status=503)
    assert retry_decision(30, e, NOW, limit=99).at - NOW <= timedelta(minutes=30)
    r = retry_decision(1, ErrorInfo(http_status=429, retry_after=120), NOW)
    assert isinstance(r, Retry) and r.at - NOW == timedelta(seconds=120)


@pytest.mark.parametrize("code, reason, mark", [(21610, "unsubscribed", "opted_out"),
                                                (21211, "invalid_number", "invalid"),
                                                (21614, "not_mobile", "invalid"),
                                                (21408, "rejected:21408", None), (None, "rejected:400", None)])
def test_permanent_errors_never_retry(code, reason, mark):
    assert retry_decision(1, ErrorInfo(http_status=400, twilio_code=code), NOW) == GiveUp(reason, mark)


# --- pacing ------------------------------------------------------------------------------------

def test_token_bucket():
    b = TokenBucket.full(1.0, NOW)
    ok, b = b.take(NOW)
    assert ok
    ok, b = b.take(NOW)
    assert not ok and b.ready_at(NOW) == NOW + timedelta(seconds=1)
    ok, b2 = b.take(NOW + timedelta(seconds=1))
    assert ok
    assert not b2.take(NOW)[0]                     # a clock going back earns nothing
    assert TokenBucket.full(3.0, NOW).capacity == 3


@PROPS
@given(st.floats(0.5, 5), st.lists(st.floats(0, 0.9), min_size=1, max_size=200))
def test_token_bucket_never_exceeds_its_rate(rate, gaps):
    b, t, sent = TokenBucket.full(rate, NOW), NOW, 0
    for g in gaps:
        t += timedelta(seconds=g)
        ok, b = b.take(t)
        sent += ok
    assert sent <= b.capacity + rate * (t - NOW).total_seconds() + 1e-9


class Row:
    def __init__(self, i, due):
        self.i, self.due_at = i, due


def test_pace_drains_in_due_order_at_the_rate_within_the_cap():
    rows = [Row(i, NOW - timedelta(minutes=i)) for i in range(10)] + [Row(99, NOW + timedelta(seconds=30))]
    slots = pace(rows, 3, daily_cap=20, sent_today=12, now=NOW)
    assert [s.item.i for s in slots] == [9, 8, 7, 6, 5, 4, 3, 2]       # cap left: 8, oldest first
    assert all((b.at - a.at) >= timedelta(seconds=1 / 3) for a, b in zip(slots, slots[1:]))
    all_slots = pace(rows, 1, None, 0, NOW)
    assert all_slots[-1].item.i == 99 and all_slots[-1].at == NOW + timedelta(seconds=30)
    assert all(s.at >= s.item.due_at for s in all_slots)
    assert daily_cap_left(100, 120) == 0 and daily_cap_left(None, 5) is None and daily_cap_left(10, 4) == 6


# --- no contact --------------------------------------------------------------------------------

RULE = SCHED.no_contact


def sent(day, replied=False, hour=15):
    return (utc(2025, 3, 1 + day, hour), replied)


def test_no_contact_rule():
    release, later = date(2025, 3, 1), utc(2025, 3, 5, 16)
    assert RULE == NoContactRule(3, 14, timedelta(hours=24), "no_contact", "high")
    assert no_contact_due([sent(0), sent(1), sent(2)], release, utc(2025, 3, 4, 16), RULE)
    assert not no_contact_due([sent(0), sent(1), sent(2)], release, utc(2025, 3, 3, 16), RULE)  # wait 24h
    assert not no_contact_due([sent(0), sent(1, True), sent(2), sent(3)], release, later, RULE)
    assert no_contact_due([sent(0, True), sent(1), sent(2), sent(3)], release, later, RULE)
    assert not no_contact_due([sent(0), sent(1), sent(2), sent(3, True)], release, later, RULE)
    assert not no_contact_due([sent(14), sent(17), sent(21)], release, utc(2025, 4, 1), RULE)
    assert not no_contact_due([], release, later, RULE)


# --- content -----------------------------------------------------------------------------------

FIRST = ["Ana", "Jo", "Christopher", "María Fernanda", "Nguyễn", "D'Andre", "Guadalupe", "Xóchitl"]
PEERS = ["Luis", "Alexandra", "Maximiliano", "Tomás", None]
PROGRAMS = ["Homeward", "Homeward Peers", "Bridges Home"]


@pytest.mark.parametrize("discreet", [True, False])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_text_fits_two_segments_with_real_names(lang, discreet):
    for name in SCHED.texts:
        for n in range(len(SCHED.texts[name][lang])):
            for first in FIRST:
                for peer in PEERS:
                    for program in PROGRAMS:
                        text = render(SCHED, f"{name.removesuffix('_open')}.{n}", lang, first, peer, program, discreet)
                        assert count_segments(text).segments <= 2, (text, count_segments(text).describe())
                        assert "{" not in text and "  " not in text


def test_discreet_texts_have_no_drug_or_jail_words_and_open_ones_are_used_only_on_request():
    for name in ("first", "nudge", "welcome", "closing"):
        for lang in SCHED.languages:
            for n in range(12):
                text = render(SCHED, f"{name}.{n}", lang, "Ana", "Luis", "Homeward", discreet=True)
                assert not _NOT_DISCREET.search(text), text
                assert not re.search(r"naloxon|narcan|overdos|drug|fentanyl|\buse\b|sobredosis|droga", text, re.I)
    assert "Narcan" in render(SCHED, "nudge.0", "en", "Ana", "Luis", "Homeward", discreet=False)
    assert "Narcan" not in render(SCHED, "first.0", "en", "Ana", "Luis", "Homeward", discreet=False)


def test_render_voice_language_rotation_and_fallbacks():
    en = render(SCHED, "nudge.1", "en", "Ana", "Luis", "Homeward")
    assert en.startswith("Hi Ana, it's Luis from Homeward.") and "Reply 1-5" in en
    assert render(SCHED, "nudge.1", "es", "Ana", "Luis", "Homeward").startswith("Hola Ana, soy Luis de Homeward.")
    assert render(SCHED, "nudge.1", "es-MX", "Ana", "Luis", "Homeward").startswith("Hola Ana")
    assert render(SCHED, "nudge.1", "fr", "Ana", "Luis", "Homeward") == en
    assert render(SCHED, "nudge.1", "en", "", None, "Homeward").startswith("Hi, it's your peer from Homeward.")
    texts = [render(SCHED, p.template_key, "en", "Ana", "Luis", "H")
             for p in plan(date(2025, 3, 1), SCHED, NY, None, "p", utc(2025, 2, 1), utc(2025, 2, 1))]
    assert all(a != b for a, b in zip(texts, texts[1:]))          # consecutive texts differ
    assert "STOP" in texts[0] and "anytime" in texts[-1]
    assert "STOP" in render(SCHED, "welcome.0", "es", "Ana", "Luis", "H")


# --- loading -----------------------------------------------------------------------------------

DEFAULT = DEFAULT_PATH.read_text(encoding="utf-8")


def broken(old: str, new: str) -> tuple[str, int]:
    assert old in DEFAULT
    text = DEFAULT.replace(old, new, 1)
    return text, text[:text.index(new)].count("\n") + 1


@pytest.mark.parametrize("old, new, message", [
    ("quiet_hours:", "quite_hours:", "unknown key 'quite_hours' (did you mean 'quiet_hours'?)"),
    ('checkin_time: "10:00"', 'checkin_time: "25:00"', "24-hour time"),
    ("spread_minutes: 20", "spread_minutes: twenty", "expected int"),
    ("window_end_day: 90", "window_end_day: 80", "until 90 is after window_end_day 80"),
    ("days: [0, 1, 2,", "days: [0, 1, 1,", "listed twice"),
    ("    - {every: 7, until: 56}", "    - {every: 7, untill: 56}", "did you mean 'until'"),
    ("priority: high", "priority: hihg", "urgent, high or normal"),
    ("Thinking of you today.", "Thinking of you today. Got your naloxone?", "says 'naloxone'"),
    ("Thinking of you today.", "Thinking of you today, {name}.", "unknown placeholder"),
    ("Thinking of you today.", "Thinking of you today. " + "So glad you are here. " * 3, "too long"),
    ("Pensando en ti hoy.", "Pensando en ti hoy. ¿Usas todavía?", "says 'Usas'"),
])
def test_mistakes_name_their_line(old, new, message):
    text, line = broken(old, new)
    with pytest.raises(ScheduleError) as e:
        load_schedule_text(text, "nudges.yaml")
    assert message in str(e.value)
    if "window_end_day" not in old:
        assert f"line {line}:" in str(e.value), (str(e.value), line)


def test_unquoted_times_still_read_as_times_and_missing_languages_are_refused():
    assert load_schedule_text(DEFAULT.replace('checkin_time: "10:00"', "checkin_time: 10:00")).checkin_time == time(10)
    text = DEFAULT.replace('    es:\n      - "Hola {first_name}, soy {peer_name} de {program}. Este es mi', '    xx:\n      - "Hola {first_name}, soy {peer_name} de {program}. Este es mi')
    with pytest.raises(ScheduleError, match="languages"):
        load_schedule_text(text)


def test_default_schedule_is_the_risk_curve():
    assert SCHED.days == (0, 1, 2, 3, 4, 5, 7, 10, 14, 17, 21, 28, 35, 42, 49, 56, 70, 84)
    assert SCHED.window_end_day == 90 and SCHED.quiet == QuietHours(time(21), time(9))
    assert SCHED.checkin_time == time(10) and SCHED.languages == ("en", "es")
