"""A person's lifecycle as rules: which operation may run in which state, where it leaves the
person and what happens to their planned nudges. Pure (no database, no clock), so every door
(staff form, API, CLI, a text) is held to one table, and the table is unit-tested.

Statuses: prospect (texted in, not enrolled), active, paused (nudges held), completed (outreach
stopped), merged (a tombstone pointing at the record that was kept). Opt-out is not a status:
it belongs to the phone number, sits beside any status and only START (opt_in) lifts it.
"""
from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("prospect", "active", "paused", "completed", "merged")
OPERATIONS = ("enroll", "consent", "edit", "pause", "resume", "opt_out", "opt_in", "stop", "merge")

# What happens to the future plan after the operation:
#   replan  - plan again from the current facts and `now` (rows held if the person is paused)
#   hold    - keep the plan but hold it (paused)
#   cancel  - withdraw everything not yet sent
#   keep    - nothing to do
PLAN_EFFECTS = ("replan", "hold", "cancel", "keep")


class Refused(ValueError):
    """The operation may not run now. `code` is stable (the API's error code), `message` is for
    the staff member or the log."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Transition:
    status: str          # the status afterwards
    plan: str            # one of PLAN_EFFECTS
    changed: bool        # False when the person was already there (a repeat is not an error)


_ALREADY = "This person is already enrolled."


def transition(op: str, status: str | None, opted_out: bool) -> Transition:
    """The rule for `op` on a person in `status` (None: no record yet). Raises Refused."""
    if op not in OPERATIONS:
        raise ValueError(f"unknown operation {op!r}")
    if status == "merged":
        raise Refused("merged", "This record was merged into another; change that one.")
    status = status or "prospect"
    if op == "opt_out":
        return Transition(status, "cancel", not opted_out)
    if op == "opt_in":
        return Transition(status, "replan" if status in ("active", "paused") else "keep", opted_out)
    if op == "enroll":
        if opted_out:
            raise Refused("opted_out", "This number opted out (STOP). Only the person can rejoin, "
                                       "by texting START.")
        if status in ("active", "paused"):
            raise Refused("already_enrolled", _ALREADY)
        return Transition("active", "replan", True)      # prospect or completed (released again)
    if op == "consent":                                   # YES to the welcome by text
        if status == "prospect":
            return Transition("active", "replan", True)
        return Transition(status, "keep", False)
    if op == "edit":
        return Transition(status, "replan" if status in ("active", "paused") else "keep", True)
    if op == "pause":
        if status == "paused":
            return Transition("paused", "keep", False)
        if status != "active":
            raise Refused("not_active", f"Only an active person can be paused (this one is {status}).")
        return Transition("paused", "hold", True)
    if op == "resume":
        if status == "active":
            return Transition("active", "keep", False)
        if status != "paused":
            raise Refused("not_paused", f"Only a paused person can be resumed (this one is {status}).")
        return Transition("active", "replan", True)
    if op == "stop":
        if status == "completed":
            return Transition("completed", "keep", False)
        return Transition("completed", "cancel", True)
    # merge: the kept record; the other becomes a tombstone (see merged_status)
    return Transition(status, "replan" if status in ("active", "paused") else "keep", True)


def merged_status(keep: str, other: str) -> str:
    """The kept record's status after a merge: the more engaged of the two."""
    for status in ("active", "paused", "completed", "prospect"):
        if status in (keep, other):
            return status
    return keep


def plannable(status: str, opted_out: bool, has_release_date: bool) -> str | None:
    """The state new plan rows take ("pending" or "held"), or None when nothing may be planned."""
    if opted_out or not has_release_date:
        return None
    return {"active": "pending", "paused": "held"}.get(status)


def pick_peer(loads: list[tuple[int, int]], room: int) -> int | None:
    """The least-loaded peer with caseload room: `loads` is (peer id, people assigned), in a
    stable order; ties go to the lower id. None when everyone is full."""
    open_ = [(n, pid) for pid, n in loads if n < room]
    return min(open_)[1] if open_ else None
