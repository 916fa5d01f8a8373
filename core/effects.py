"""What the core asks the shell to do.

The core (keywords, safety, engine) never acts: it returns these frozen values and
bot/runtime.py carries them out in one transaction. Keeping them plain data is what lets
golden conversation tests compare effects exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A text to the person, right now (TwiML for SMS, the page for web chat)."""
    text: str


@dataclass(frozen=True)
class Escalate:
    """Open (or bump) a ticket in the peer inbox. priority: urgent > high > normal."""
    reason: str
    priority: str = "normal"
    note: str = ""


@dataclass(frozen=True)
class SetField:
    """Remember something about the person (first_name, checkin_time, risk_tier, ...)."""
    name: str
    value: Any


@dataclass(frozen=True)
class SetLanguage:
    language: str  # "en" | "es"


@dataclass(frozen=True)
class OptOut:
    """Stop everything: cancel pending outbound, never text again until OptIn."""
    keyword: str = ""


@dataclass(frozen=True)
class OptIn:
    keyword: str = ""


@dataclass(frozen=True)
class ScheduleTimeout:
    """Wake the conversation at `at` if the person has not answered (engine resumes it)."""
    at: datetime


@dataclass(frozen=True)
class CancelTimeout:
    pass


@dataclass(frozen=True)
class EndConversation:
    """The conversation finished (or expired); `outcome` is recorded for reporting."""
    outcome: str = "completed"


@dataclass(frozen=True)
class RecordEvent:
    """A fact for the report (locator question by need, risk tier computed, ...)."""
    name: str
    data: dict = field(default_factory=dict)


Effect = Reply | Escalate | SetField | SetLanguage | OptOut | OptIn | ScheduleTimeout | CancelTimeout | EndConversation | RecordEvent


@dataclass(frozen=True)
class Outcome:
    """The result of one step: the conversation state to store (JSON-serialisable dict, or
    None when no conversation is running) and the effects to apply, in order."""
    state: dict | None
    effects: tuple = ()

    def replies(self) -> list[str]:
        return [e.text for e in self.effects if isinstance(e, Reply)]


@dataclass(frozen=True)
class StartFlow:
    """Start flow `flow` for this person right after applying this outcome (added by the flow
    engine). It always follows an EndConversation: the current flow is finished. The runtime
    calls core.engine.start(<flow's published definition>, now, services, params) and applies
    that outcome too; core.engine.follow() does exactly this for a pure caller."""
    flow: str
    params: dict = field(default_factory=dict)


# Every effect type. Each interpreter (bot/apply.py acts, core/describe.py describes) has one
# entry per type; tests/unit/test_effects.py fails when one is missing.
ALL = (Reply, Escalate, SetField, SetLanguage, OptOut, OptIn, ScheduleTimeout, CancelTimeout,
       EndConversation, RecordEvent, StartFlow)
