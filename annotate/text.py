"""What text typed by people may hold: one home for the rules of names and free text (docs/security.md).

Item texts come from the data and are stored as they are, with hidden
characters marked when shown (annotate/templatetags/tagwise.py). Text that
people type into Tagwise itself (names, guidelines, changelogs, notes,
comments, skip reasons, label descriptions) is checked here instead:

- a NUL cannot be stored in PostgreSQL at all, and other control characters
  have no place in typed text;
- bidirectional embeddings, overrides and isolates reorder what follows them
  (U+202E shows "gpj.exe" as "exe.jpg"), and zero-width or tag characters
  hide text from a reader while a program still sees it, so a name, a note
  or a guideline could say one thing to its reader and another to a script.

Names (one line) refuse every such character, line breaks and the
left-to-right and right-to-left marks included. Longer texts keep tabs, line
breaks and the two marks, which right-to-left writing needs. Zero-width
joiner and non-joiner stay allowed in both: Persian, Indic scripts and
emoji need them.
"""

from __future__ import annotations

import re
import unicodedata

HIDDEN_IN_NAME = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad\u180e"
    "\U000e0000-\U000e007f]"
)
HIDDEN_IN_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u180e"
    "\U000e0000-\U000e007f]"
)


def is_whole_number(value: str) -> bool:
    """Whether ``value`` is a whole number written in ASCII digits, as a form or a query string sends it.

    ``str.isdigit`` alone also passes "²", which ``int`` refuses, and the Arabic-Indic
    digit one (U+0661), which ``int`` quietly reads as 1.
    """
    return value.isascii() and value.isdigit()


def quoted(value: str, *, max_chars: int = 60) -> str:
    """``value`` in “ ” for a message: cut to ``max_chars``, each hidden or control character shown as ⟦U+XXXX⟧.

    For values a message repeats that were not checked, or were refused: as
    typed, a U+202E would reorder the message around it, and a line break
    or a zero-width character would hide what was refused.
    """
    cut = value if len(value) <= max_chars else value[: max_chars - 1] + "…"
    return "“" + visible(cut) + "”"


def visible(text: str) -> str:
    """``text`` with each hidden or control character shown as ⟦U+XXXX⟧, for a message that repeats what it was sent."""
    return HIDDEN_IN_NAME.sub(lambda found: f"⟦U+{ord(found.group()):04X}⟧", text)


def login_name(typed: str) -> str:
    """A user name as the login form reads it (NFKC, spaces around it ignored): fullwidth "ann1" is "ann1"."""
    return unicodedata.normalize("NFKC", typed.strip())


def username_problem(username: str) -> str | None:
    """Why ``username`` cannot name a new account, as a clause ("a username has ..."); None when it can.

    Django's rules (at most 150 characters; letters, digits and @ . + - _)
    and its normal form: the login form reads "full" typed in fullwidth
    letters (U+FF46...) as "full" (NFKC), so an account stored under the
    first could never log in on the page, and would pass for the second in
    every list.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.validators import UnicodeUsernameValidator
    from django.core.exceptions import ValidationError

    max_chars = get_user_model()._meta.get_field("username").max_length or 150
    if not username:
        return "a username cannot be empty"
    if len(username) > max_chars:
        return f"a username has at most {max_chars} characters; this one has {len(username)}"
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        return "a username has letters, digits and @ . + - _ only"
    normal = login_name(username)
    if normal != username:
        return f"a username is written as the login reads it: {quoted(normal)} rather than {quoted(username)}"
    return None


def _code(found: re.Match[str] | None) -> str | None:
    return f"U+{ord(found.group()):04X}" if found else None


def hidden_in_name(name: str) -> str | None:
    """The code point of the first character a name may not hold (U+000A for a line break), if any."""
    return _code(HIDDEN_IN_NAME.search(name))


def hidden_in_text(text: str) -> str | None:
    """The code point of the first character a typed text (a note, a guideline) may not hold, if any."""
    return _code(HIDDEN_IN_TEXT.search(text))


def text_problem(text: str, *, what: str, max_chars: int | None = None, name: bool = False) -> str | None:
    """Why ``text`` cannot be stored, as a sentence for the person who typed it; None when it can.

    ``what`` names the field as the page does ("The comment", "Your name").
    With ``name`` the stricter rule of one-line names applies.
    """
    if max_chars is not None and len(text) > max_chars:
        return f"{what} is {len(text):,} characters long; the limit is {max_chars:,}."
    code = hidden_in_name(text) if name else hidden_in_text(text)
    if code is None:
        return None
    if code == "U+0000":
        return f"{what} contains a NUL character (U+0000), which cannot be stored; remove it."
    if int(code[2:], 16) < 0xA0:
        return f"{what} contains a line break or a control character ({code}); remove it."
    described = unicodedata.name(chr(int(code[2:], 16)), "a control character")
    return (
        f"{what} contains {code} ({described.lower()}), an invisible character that can hide or reorder "
        "what a text says; remove it."
    )
