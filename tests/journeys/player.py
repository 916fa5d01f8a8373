"""Plays a simulated journey (tests/journeys/*.yaml) from release day to day 90 on a fake clock.

Everything real: the app (the staff pages and the API through Flask's test client), the runtime
for every text the person sends, and the worker's own dispatcher (sandbox sender) and sweeps.
The clock jumps to the next moment anything is due (a planned text, a conversation's timer, the
next step of the script) rather than ticking, so ninety days take a second or two.

The transcript is what the person saw and sent, in their local time. Besides the exact texts,
the player checks on every run: nothing in quiet hours unless the person had just written,
nothing while they were opted out, at most one planned text a day, every text in two SMS segments.
Re-record after a deliberate change: .venv/bin/python -m tests.journeys.player DB_URL FILE...
"""
from __future__ import annotations

import re
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

from core import policy
from core.sms import count_segments

HERE = Path(__file__).resolve().parent
UTC = timezone.utc
_AT = re.compile(r"^day\s+(-?\d+)\s+(\d{1,2}):(\d{2})$")
PLANNED = ("nudge", "welcome", "closing")
OUT_STATES = ("replied", "sandbox", "sent", "delivered", "queued")


def scenarios() -> list[Path]:
    return sorted(HERE.glob("*.yaml"))


@dataclass
class Line:
    at: datetime            # UTC
    who: str                # "person" or the kind of text sent (reply, nudge, welcome, closing, peer)
    body: str
    address: str


@dataclass
class Journey:
    script: dict
    app: object
    clock: list = field(default_factory=lambda: [datetime(2000, 1, 1, tzinfo=UTC)])

    def __post_init__(self):
        s = self.script
        self.zone = ZoneInfo(s["timezone"])
        self.release = date.fromisoformat(str(s["release"]))
        self.phone = s["phone"]
        self.db = self.app.extensions["homeward.db"]
        self.runtime = self.app.extensions["homeward.runtime"]
        self.app.extensions["homeward.clock"] = lambda: self.clock[0]
        self.api = self.app.test_client()
        self.staff = self.app.test_client()
        self._setup_staff()

    # -- time ---------------------------------------------------------------------------------
    def at(self, text: str) -> datetime:
        m = _AT.match(str(text).strip())
        if not m:
            raise ValueError(f"{self.script['name']}: a time is 'day N HH:MM', not {text!r}")
        day, hh, mm = int(m.group(1)), int(m.group(2)), int(m.group(3))
        local = datetime.combine(self.release + timedelta(days=day), time(hh, mm), tzinfo=self.zone)
        return local.astimezone(UTC)

    def local(self, at: datetime) -> str:
        lt = at.astimezone(self.zone)
        return f"day {(lt.date() - self.release).days:>2} {lt:%a %H:%M}"

    # -- who is there ----------------------------------------------------------------------------
    def _setup_staff(self) -> None:
        from tests.staff import login, make_user
        from web import api_tokens
        shift = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        self.peer_id = make_user(self.db, "luis@homeward.example", "peer", "Luis Ortega", shift=shift)
        make_user(self.db, "sam@homeward.example", "supervisor", "Sam Rivera")
        login(self.staff, "luis@homeward.example")
        with self.db.session() as s:
            self.token = api_tokens.create_token(s, "County jail release system",
                                                 ["participants:write", "participants:read"], None,
                                                 datetime(2000, 1, 1, tzinfo=UTC))[1]

    def person_id(self) -> int | None:
        from db.models import Contact, Participant
        with self.db.session() as s:
            pid = s.scalar(select(Contact.participant_id).where(Contact.address.like(f"%:{self.phone}")))
            while pid is not None:
                p = s.get(Participant, pid)
                if p.status != "merged" or p.merged_into_id is None:
                    return pid
                pid = p.merged_into_id
        return None

    # -- what the script can do -------------------------------------------------------------------
    def do(self, step: dict) -> None:
        action = next(k for k in step if k != "at")
        arg = step[action]
        getattr(self, "_" + action.replace(" ", "_"))(arg)

    def _text(self, arg) -> None:
        body, phone, channel = (arg, self.phone, "sms") if isinstance(arg, str) else (
            arg["body"], arg.get("from", self.phone), arg.get("channel", "sms"))
        from bot.runtime import Inbound
        self.runtime._facts = None      # who is on shift is read at the fake time, not cached across jumps
        result = self.runtime.handle(Inbound(channel, f"{channel}:{phone}", body, f"SM{uuid.uuid4().hex}"),
                                     self.clock[0])
        assert not result.failed, f"{self.script['name']}: processing failed for {body!r}"

    def _api(self, method: str, path: str, body: dict | None, expect: int) -> dict:
        resp = self.api.open(path, method=method, json=body, headers={"Authorization": f"Bearer {self.token}"})
        assert resp.status_code == expect, f"{self.script['name']}: {method} {path} -> {resp.status_code} " \
                                           f"{resp.get_data(as_text=True)[:300]}"
        return resp.get_json()

    def _api_enroll(self, arg: dict) -> None:
        body = {"external_id": arg.get("external_id", "DOC-1"), "phone": self.phone, "consent": True,
                "consent_channel": "in_person", "release_date": str(arg.get("release_date", self.release)),
                "timezone": self.script["timezone"], "language": arg.get("language", "en"),
                **{k: v for k, v in arg.items() if k in ("first_name", "checkin_time", "channel")}}
        self._api("POST", "/api/v1/participants", body, 201)

    def _api_change(self, arg: dict) -> None:
        self._api("PATCH", f"/api/v1/participants/{self.person_id()}", {k: str(v) for k, v in arg.items()}, 200)

    def _api_pause(self, _arg) -> None:
        self._api("POST", f"/api/v1/participants/{self.person_id()}/pause", None, 200)

    def _api_resume(self, _arg) -> None:
        self._api("POST", f"/api/v1/participants/{self.person_id()}/resume", None, 200)

    def _form(self, path: str, data: dict) -> None:
        from tests.staff import login
        login(self.staff, "luis@homeward.example")    # days pass between visits: staff sign in again
        resp = self.staff.post(path, data=data)
        assert resp.status_code == 302, f"{self.script['name']}: {path} -> {resp.status_code} " \
                                        f"{resp.get_data(as_text=True)[:400]}"

    def _web_enroll(self, arg: dict) -> None:
        self._form("/people/new", {"phone": self.phone, "release_date": str(arg.get("release_date", self.release)),
                                   "first_name": arg.get("first_name", ""), "language": arg.get("language", "en"),
                                   "timezone": self.script["timezone"], "checkin_time": arg.get("checkin_time", ""),
                                   "peer_id": str(self.peer_id), "consent": "1", "consent_channel": "in_person"})

    def _web_edit(self, arg: dict) -> None:
        from db.models import Participant
        with self.db.session() as s:
            p = s.get(Participant, self.person_id())
            form = {"first_name": p.first_name or "", "language": p.language, "timezone": p.timezone,
                    "checkin_time": p.checkin_time or "", "release_date": p.release_date.isoformat(),
                    "peer_id": str(p.assigned_peer_id or "")}
        self._form(f"/people/{self.person_id()}/edit", {**form, **{k: str(v) for k, v in arg.items()}})

    def _web_pause(self, _arg) -> None:
        self._form(f"/people/{self.person_id()}/pause", {})

    def _web_resume(self, _arg) -> None:
        self._form(f"/people/{self.person_id()}/resume", {})

    def _web_merge(self, arg: dict) -> None:
        self._form(f"/people/{self.person_id()}/merge", {"other": arg["other"], "confirm": "1"})

    # -- the worker ---------------------------------------------------------------------------------
    def work(self) -> None:
        """One worker tick at the fake time: sweeps, then drain what is due."""
        from scheduler.worker import run_once
        run_once(self.dispatcher, self.sweeps, self.clock[0])

    def next_due(self, after: datetime) -> datetime | None:
        from db.models import Conversation, ScheduledMessage
        with self.db.session() as s:
            candidates = [
                s.scalar(select(func.min(ScheduledMessage.due_at)).where(ScheduledMessage.state == "pending")),
                s.scalar(select(func.min(Conversation.timeout_at)).where(Conversation.status == "active")),
            ]
        due = [max(c, after + timedelta(minutes=1)) for c in candidates if c is not None]
        return min(due) if due else None

    def play(self) -> list[Line]:
        from cli.worker import build_dispatcher, make_sweeps
        self.dispatcher, self.sweeps = build_dispatcher(self.app), make_sweeps(self.app)
        steps = sorted(((self.at(st["at"]), i, st) for i, st in enumerate(self.script["steps"])),
                       key=lambda x: (x[0], x[1]))
        end = self.at(f"day {self.script.get('until_day', 90)} 23:59")
        self.clock[0] = steps[0][0]
        while True:
            while steps and steps[0][0] <= self.clock[0]:
                self.do(steps.pop(0)[2])
            self.work()
            wake = [t for t in (steps[0][0] if steps else None, self.next_due(self.clock[0])) if t is not None]
            if not wake or min(wake) > end:
                break
            self.clock[0] = min(wake)
        return self.transcript()

    # -- what happened ---------------------------------------------------------------------------------
    def transcript(self) -> list[Line]:
        from db.models import Contact, Message
        with self.db.session() as s:
            rows = s.execute(select(Message, Contact.address).outerjoin(Contact, Contact.id == Message.contact_id)
                             .order_by(Message.created_at, Message.id)).all()
        lines = []
        for msg, address in rows:
            if msg.direction == "in":
                lines.append(Line(msg.created_at, "person", msg.body, address or ""))
            elif msg.status in OUT_STATES:
                lines.append(Line(msg.created_at, "reply" if msg.kind == "bot" else msg.kind, msg.body, address or ""))
        return lines

    def render(self, lines: list[Line]) -> list[str]:
        out = []
        for line in lines:
            where = "" if line.address.endswith(self.phone) and line.address.startswith("sms:") \
                else f" [{line.address.split(':')[0]} {line.address.split(':', 1)[-1]}]"
            out.append(f"{self.local(line.at)} {line.who}{where}: {line.body}")
        return out

    def check_rules(self, lines: list[Line]) -> list[str]:
        """What must hold on every journey, whatever the script says."""
        sched = policy.load_schedule()
        problems, last_in, opted_out, planned_days = [], None, False, {}
        for line in lines:
            word = line.body.strip().upper()
            if line.who == "person":
                last_in = line.at
                if word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "PARAR"):
                    opted_out = True
                elif word in ("START", "UNSTOP", "YES", "COMENZAR") and opted_out:
                    opted_out = False
                continue
            when = self.local(line.at)
            wrote_first = policy.wrote_first(last_in, line.at, max(sched.reply_window, timedelta(minutes=1)))
            if policy.in_quiet_hours(line.at, self.script["timezone"], sched.quiet) and not wrote_first:
                problems.append(f"{when}: sent in quiet hours though the person had not written: {line.body!r}")
            if opted_out:
                problems.append(f"{when}: sent after STOP: {line.body!r}")
            if line.who in PLANNED:
                day = line.at.astimezone(self.zone).date()
                if day in planned_days:
                    problems.append(f"{when}: a second planned text that day: {line.body!r}")
                planned_days[day] = line
            if count_segments(line.body).segments > 2:
                problems.append(f"{when}: more than two SMS segments: {line.body!r}")
        return problems


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'" if ": " in data or data[:1] in "'\"[{&*!|>%@`#" else None)


_Dumper.add_representer(str, _str)


def record(path: Path, received: list[str]) -> None:
    """Rewrite the file's `transcript:` with what happened, keeping everything above it."""
    text = path.read_text(encoding="utf-8")
    head = text.split("\ntranscript:", 1)[0].rstrip() + "\n"
    body = yaml.dump({"transcript": received}, Dumper=_Dumper, allow_unicode=True, width=1000, sort_keys=False)
    path.write_text(head + body, encoding="utf-8")


def make_app(db_url: str):
    from tests import dbs
    from tests.conftest import make_test_app
    app = make_test_app(db_url, SENDER_RATE_PER_SECOND=1000.0, LOG_LEVEL="WARNING")
    dbs.wipe(app.extensions["homeward.db"].engine)
    with app.extensions["homeward.db"].session() as s:
        app.extensions["homeward.flows"].publish_dir(s, only_changed=False)
    return app


def main(argv: list[str]) -> None:
    db_url, files = argv[0], [Path(p) for p in argv[1:]] or scenarios()
    for path in files:
        app = make_app(db_url)
        j = Journey(load(path), app)
        lines = j.play()
        record(path, j.render(lines))
        for problem in j.check_rules(lines):
            print(f"{path.name}: {problem}")
        app.extensions["homeward.db"].engine.dispose()
        print(f"recorded {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
