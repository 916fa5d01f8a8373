"""The nudge schedule and texts supervisors edit (bot/content/nudges.yaml): load, check, render.

Why checked at load: a supervisor's typo must stop the worker with the file and line, not send
a wrong text to someone in their first week out. Every text is held to two SMS segments with
long names, to its placeholders, and, unless it is in an `*_open` set, to discretion (no drug,
overdose or jail words: others may read the phone). Pure apart from reading the file.
"""
from __future__ import annotations

import difflib
import re
import string
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Mapping

import yaml

from core.sms import count_segments
from core import CONTENT

DEFAULT_PATH = CONTENT / "nudges.yaml"
PLACEHOLDERS = {"first_name", "peer_name", "program"}
SETS = {"first", "nudge", "welcome", "closing"}        # each may have an "<name>_open" twin
REQUIRED_SETS = ("nudge", "welcome", "closing")
# Long, realistic names (and an accent that forces UCS-2: 67 units a segment) for the length check.
LONG_NAMES = {"first_name": "María Fernanda", "peer_name": "Maximiliano", "program": "Homeward Peers"}
MAX_SEGMENTS = 2
_NOT_DISCREET = re.compile(r"\b(?:" + "|".join([
    r"naloxon\w*", r"narcan", r"overdos\w*", r"od", r"drugs?", r"dope", r"us(?:e|es|ed|ing|er|ers)",
    r"opi(?:oid|ate)s?", r"fentanyl", r"heroin", r"meth", r"methamphetamine", r"methadone",
    r"bupe", r"buprenorphine", r"suboxone", r"naltrexone", r"vivitrol", r"detox", r"rehab", r"treatment", r"recovery",
    r"sober\w*", r"relaps\w*", r"syringes?", r"needles?", r"test strips?", r"jail", r"prison",
    r"incarcerat\w*", r"releas\w*", r"parole", r"probation", r"inmates?",
    r"naloxona", r"sobredosis", r"drogas?", r"us(?:ar|as|a|o|amos|an|ando)", r"consum\w*",
    r"opioides?", r"opiáceos?", r"fentanilo", r"heroína", r"metadona", r"buprenorfina",
    r"tratamiento", r"rehabilitación", r"desintoxicación", r"reca[ií]das?", r"jeringas?",
    r"agujas?", r"cárcel", r"prisión", r"pres[oa]s?", r"encarcelad\w*", r"libertad condicional",
]) + r")\b", re.IGNORECASE)


class ScheduleError(ValueError):
    """Every mistake found in nudges.yaml, each with the file and line to fix (one per line of
    the message; `problems` has them as (line, message) so an editor can mark each)."""

    def __init__(self, message: str, problems: tuple[tuple[int, str], ...] = ()):
        super().__init__(message)
        self.problems = problems or ((0, message),)


class _Skip(Exception):
    """One check failed and was noted; the checks that depend on it are skipped."""


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time


@dataclass(frozen=True)
class NoContactRule:
    unanswered_in_a_row: int = 3
    within_days: int = 14
    wait: timedelta = timedelta(hours=24)
    reason: str = "no_contact"
    priority: str = "high"


@dataclass(frozen=True)
class Schedule:
    days: tuple[int, ...]                  # sorted, all < window_end_day
    window_end_day: int
    checkin_time: time
    spread_minutes: int
    quiet: QuietHours
    late_welcome: bool
    late_min_gap: timedelta
    send_closing: bool
    no_contact: NoContactRule
    reply_window: timedelta
    stale_after: timedelta
    texts: Mapping[str, Mapping[str, tuple[str, ...]]]   # set -> lang -> variants
    peer_fallback: Mapping[str, str]                     # lang -> words for a missing peer name

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.texts["nudge"])


# YAML 1.1 reads an unquoted 10:00 as the number 600; times must stay text.
class _Loader(yaml.SafeLoader):
    pass


_INT = "tag:yaml.org,2002:int"
_Loader.yaml_implicit_resolvers = {k: [r for r in v if r[0] != _INT]
                                   for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))


class _Doc:
    """The parsed file plus its node tree, so any error can name the line it is about."""

    def __init__(self, text: str, name: str):
        self.name = name
        self.found: list[tuple[int, str]] = []
        try:
            loader = _Loader(text)
            self.node = loader.get_single_node()
            self.data = loader.construct_document(self.node) if self.node else None
        except yaml.YAMLError as e:
            raise ScheduleError(f"{name}: not valid YAML: {e}") from None

    def line(self, path: tuple) -> int:
        """1-based line of the deepest key or item of `path` that exists."""
        node, line = self.node, self.node.start_mark.line if self.node else 0
        for part in path:
            if isinstance(node, yaml.MappingNode):
                pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
                if pair is None:
                    break
                line, node = pair[0].start_mark.line, pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line
            else:
                break
        return line + 1

    def fail(self, path: tuple, msg: str):
        """Note the mistake and skip what depends on it: `checks()` carries on with the rest."""
        where = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        line = self.line(path)
        entry = (line, f"{self.name}, line {line}: {where or 'top'}: {msg}")
        if entry not in self.found:
            self.found.append(entry)
        raise _Skip

    def check(self, fn, *args, default=None):
        """fn(*args), or `default` when it found a mistake (noted), so later checks still run."""
        try:
            return fn(*args)
        except _Skip:
            return default

    def raise_found(self) -> None:
        if self.found:
            raise ScheduleError("\n".join(m for _, m in self.found), tuple(self.found))

    def get(self, path: tuple, kind: type | tuple, allowed: set | None = None) -> Any:
        parent: Any = self.data
        for i, part in enumerate(path[:-1]):
            if not isinstance(parent, (dict, list)):
                self.fail(path[:i], f"expected a mapping, got {parent!r}")
            parent = parent[part]
        key = path[-1]
        if not (isinstance(parent, dict) and key in parent
                or isinstance(parent, list) and isinstance(key, int) and key < len(parent)):
            self.fail(path[:-1], f"missing '{key}'")
        value = parent[key]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.fail(path, f"expected {want}, got {value!r}")
        if allowed is not None and isinstance(value, dict):
            for key in value:
                if key not in allowed:
                    hint = difflib.get_close_matches(str(key), sorted(allowed), 1)
                    self.fail(path + (key,), f"unknown key '{key}'"
                              + (f" (did you mean '{hint[0]}'?)" if hint else f"; expected one of {sorted(allowed)}"))
        return value

    def clock(self, path: tuple) -> time:
        raw = self.get(path, str)
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw.strip())
        if not m:
            self.fail(path, f"expected a 24-hour time like \"09:30\", got {raw!r}")
        return time(int(m[1]), int(m[2]))

    def count(self, path: tuple, lo: int, hi: int) -> int:
        n = self.get(path, int)
        if not lo <= n <= hi:
            self.fail(path, f"must be between {lo} and {hi}, got {n}")
        return n


def _days(doc: _Doc, end: int) -> tuple[int, ...]:
    days = doc.get(("schedule", "days"), list)

    def day(i, d):
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d < end:
            doc.fail(("schedule", "days", i), f"a day must be a whole number from 0 to {end - 1} "
                     f"(window_end_day {end} is the closing message's day), got {d!r}")
    for i, d in enumerate(days):
        doc.check(day, i, d)
    out = sorted({d for d in days if isinstance(d, int) and not isinstance(d, bool)})
    if len(out) != len(days):
        doc.check(doc.fail, ("schedule", "days"), "a day is listed twice")

    def rule(i):
        doc.get(("schedule", "then", i), dict, {"every", "until"})
        every = doc.count(("schedule", "then", i, "every"), 1, 365)
        until = doc.get(("schedule", "then", i, "until"), int)
        if not 0 <= until <= end:
            doc.fail(("schedule", "then", i, "until"), f"until {until} is after window_end_day {end}, "
                     "the day of the closing message; nothing is sent after it")
        d = (out[-1] if out else -every) + every
        while d <= until:
            if d < end:                 # a rule landing on window_end_day yields to the closing text
                out.append(d)
            d += every
    for i, _ in enumerate(doc.check(doc.get, ("schedule", "then"), list, default=[])):
        doc.check(rule, i)
    return tuple(out)


def _texts(doc: _Doc, fallback: Mapping[str, str]) -> dict[str, dict[str, tuple[str, ...]]]:
    allowed = SETS | {f"{s}_open" for s in SETS}
    raw = doc.get(("texts",), dict, allowed)
    for name in REQUIRED_SETS:
        doc.get(("texts", name), dict)
    langs = set(raw["nudge"])
    out: dict[str, dict[str, tuple[str, ...]]] = {}

    def one_set(name):
        sets = doc.get(("texts", name), dict)
        if "en" not in sets or set(sets) != langs:
            doc.check(doc.fail, ("texts", name), f"needs exactly the languages of texts.nudge {sorted(langs)}, "
                      f"has {sorted(sets)}")
        out[name] = {}
        for lang in sets:
            doc.check(one_lang, name, lang)

    def one_lang(name, lang):
        variants = doc.get(("texts", name, lang), (list, str))
        variants = [variants] if isinstance(variants, str) else variants
        if not variants:
            doc.fail(("texts", name, lang), "needs at least one text")
        for i, text in enumerate(variants):
            doc.check(_check_text, doc, ("texts", name, lang, i), text, not name.endswith("_open"),
                      fallback.get(lang, ""))
        out[name][lang] = tuple(variants)
    for name in raw:
        doc.check(one_set, name)
    return out


def _check_text(doc: _Doc, path: tuple, text: Any, discreet: bool, no_peer: str) -> None:
    if not isinstance(text, str) or not text.strip():
        doc.fail(path, f"expected a text, got {text!r}")
    try:
        fields = {f for _, f, spec, conv in string.Formatter().parse(text) if f is not None}
        if fields - PLACEHOLDERS:
            doc.fail(path, f"unknown placeholder {sorted(fields - PLACEHOLDERS)}; "
                     "use {first_name}, {peer_name}, {program}")
        filled = max((text.format(**{**LONG_NAMES, "peer_name": peer})
                      for peer in (LONG_NAMES["peer_name"], no_peer)), key=lambda t: count_segments(t).units)
    except (ValueError, KeyError, IndexError) as e:
        doc.fail(path, f"bad placeholder ({e}); use {{first_name}}, {{peer_name}}, {{program}}")
    seg = count_segments(filled)
    if seg.segments > MAX_SEGMENTS:
        doc.fail(path, f"too long: {seg.describe()} with long names, max {MAX_SEGMENTS} segments")
    hit = _NOT_DISCREET.search(text) if discreet else None
    if hit:
        doc.fail(path, f"says '{hit[0]}': this text is discreet (others may read the phone); "
                 "move it to an *_open set")


def load_schedule_text(text: str, name: str = "nudges.yaml") -> Schedule:
    """The schedule in `text`, or ScheduleError listing every mistake found (each check runs
    unless one it depends on failed)."""
    doc = _Doc(text, name)
    if not isinstance(doc.data, dict):
        doc.check(doc.fail, (), "expected a mapping of settings")
        doc.raise_found()
    top = {"version", "schedule", "checkin_time", "spread_minutes", "quiet_hours", "late_enrollment",
           "send_closing", "no_contact", "sending", "peer_name_fallback", "texts"}
    for key in doc.data:
        if key not in top:
            hint = difflib.get_close_matches(str(key), sorted(top), 1)
            doc.check(doc.fail, (key,), f"unknown key '{key}'" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
    c = doc.check
    c(doc.get, ("schedule",), dict, {"days", "then", "window_end_day"})
    end = c(doc.count, ("schedule", "window_end_day"), 1, 3650)

    def quiet_hours():
        doc.get(("quiet_hours",), dict, {"start", "end"})
        quiet = QuietHours(doc.clock(("quiet_hours", "start")), doc.clock(("quiet_hours", "end")))
        if quiet.start == quiet.end:
            doc.fail(("quiet_hours",), "start and end are the same time")
        return quiet
    quiet = c(quiet_hours)

    def spread_minutes():
        spread = doc.count(("spread_minutes",), 0, 180)
        if quiet is not None:
            s, e = (t.hour * 60 + t.minute for t in (quiet.start, quiet.end))
            daytime = s - e if s > e else max(s, 1440 - e)      # the longest stretch outside quiet hours
            if spread >= daytime:
                doc.fail(("spread_minutes",), f"must be shorter than the {daytime} minutes outside quiet hours")
        return spread
    spread = c(spread_minutes)
    c(doc.get, ("late_enrollment",), dict, {"welcome", "min_gap_hours"})
    c(doc.get, ("no_contact",), dict, {"unanswered_in_a_row", "within_days", "wait_hours", "reason", "priority"})
    c(doc.get, ("sending",), dict, {"reply_window_minutes", "stale_after_hours"})

    def no_contact_priority():
        priority = doc.get(("no_contact", "priority"), str)
        if priority not in ("urgent", "high", "normal"):
            doc.fail(("no_contact", "priority"), f"expected urgent, high or normal, got {priority!r}")
        return priority
    priority = c(no_contact_priority)
    fallback = c(doc.get, ("peer_name_fallback",), dict, default={}) or {}
    texts = c(_texts, doc, {k: str(v) for k, v in fallback.items()})
    if texts and "nudge" in texts and set(fallback) != set(texts["nudge"]):
        c(doc.fail, ("peer_name_fallback",), f"needs one entry per language {sorted(texts['nudge'])}, "
          f"has {sorted(fallback)}")
    days = c(_days, doc, end) if end is not None else None
    values = {
        "checkin_time": c(doc.clock, ("checkin_time",)),
        "late_welcome": c(doc.get, ("late_enrollment", "welcome"), bool),
        "late_gap": c(doc.count, ("late_enrollment", "min_gap_hours"), 0, 72),
        "send_closing": c(doc.get, ("send_closing",), bool),
        "unanswered": c(doc.count, ("no_contact", "unanswered_in_a_row"), 1, 50),
        "within": c(doc.count, ("no_contact", "within_days"), 1, end or 3650),
        "wait": c(doc.count, ("no_contact", "wait_hours"), 0, 24 * 14),
        "reason": c(doc.get, ("no_contact", "reason"), str),
        "reply_window": c(doc.count, ("sending", "reply_window_minutes"), 0, 24 * 60),
        "stale": c(doc.count, ("sending", "stale_after_hours"), 1, 24 * 7),
    }
    doc.raise_found()
    return Schedule(
        days=days, window_end_day=end,
        checkin_time=values["checkin_time"], spread_minutes=spread, quiet=quiet,
        late_welcome=values["late_welcome"], late_min_gap=timedelta(hours=values["late_gap"]),
        send_closing=values["send_closing"],
        no_contact=NoContactRule(
            unanswered_in_a_row=values["unanswered"], within_days=values["within"],
            wait=timedelta(hours=values["wait"]), reason=values["reason"], priority=priority),
        reply_window=timedelta(minutes=values["reply_window"]),
        stale_after=timedelta(hours=values["stale"]),
        texts=texts, peer_fallback={k: str(v) for k, v in fallback.items()})


def load_schedule(path: str | Path = DEFAULT_PATH) -> Schedule:
    path = Path(path)
    return load_schedule_text(path.read_text(encoding="utf-8"), str(path))


def render(schedule: Schedule, template_key: str, lang: str, first_name: str | None,
           peer_name: str | None, program: str, discreet: bool = True) -> str:
    """The text for a planned nudge. `template_key` is "<set>.<n>": the n-th variant (rotating,
    so consecutive days differ) of the set, or of its `_open` twin when the person chose plain
    talk (discreet=False). Unknown languages fall back to English; a missing first name drops
    out cleanly ("Hi, it's ..."). Names too long for two segments are cut to their first word,
    then the first name is left out: a text that costs three segments is never the answer."""
    name, _, n = template_key.partition(".")
    if name not in schedule.texts and name == "first":
        name = "nudge"
    if not discreet and f"{name}_open" in schedule.texts:
        name = f"{name}_open"
    by_lang = schedule.texts[name]
    lang = (lang or "en").split("-")[0].lower()
    lang = lang if lang in by_lang else "en"
    variant = by_lang[lang][int(n or 0) % len(by_lang[lang])]
    first, peer = " ".join((first_name or "").split()), " ".join((peer_name or "").split())
    peer = peer or schedule.peer_fallback[lang]
    for f, p in dict.fromkeys([(first, peer), (first.partition(" ")[0], peer),
                               (first.partition(" ")[0], peer.partition(" ")[0]), ("", peer.partition(" ")[0])]):
        text = variant.format(first_name=f, peer_name=p, program=program)
        text = re.sub(r" +([,.!?])", r"\1", re.sub(r"  +", " ", text)).strip()
        if count_segments(text).segments <= MAX_SEGMENTS:
            break
    return text
