"""Which staff passwords are accepted (issue 16, 11): the CLI, the staff console and the
own-password page all ask `problem()`. zxcvbn estimates how guessable a password is, with its
shipped lists of the most common passwords, words and names (no network), and the account's
own email and name count as known words."""
from __future__ import annotations

import secrets

from zxcvbn import zxcvbn

MIN_LENGTH, MAX_LENGTH = 10, 200
MIN_SCORE = 3            # zxcvbn 0-4; 3 = "safely unguessable" online (~10^8 guesses)
ESTIMATE_CHARS = 72      # zxcvbn refuses longer input; the first 72 characters decide its score


def problem(password: str, *known: str) -> str | None:
    """None when the password is acceptable; otherwise one sentence a person can act on."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    words = [w for k in known if k for w in (k, *k.replace("@", " ").replace(".", " ").split())]
    result = zxcvbn(password[:ESTIMATE_CHARS], user_inputs=words)
    sequence = result["sequence"]
    if len(sequence) == 1 and sequence[0].get("dictionary_name") == "passwords":
        return "That is one of the most common passwords; choose another."
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        hint = " ".join(filter(None, [feedback.get("warning"), *(feedback.get("suggestions") or [])[:1]]))
        return "That password is too easy to guess." + (f" {hint}" if hint else "")
    return None


def generate() -> str:
    """A random password `problem()` accepts, for an account an admin makes or resets."""
    while True:
        password = secrets.token_urlsafe(12)
        if problem(password) is None:
            return password
