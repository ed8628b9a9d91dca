r"""Values as a person reads them: no control characters from outside, no minus sign on a zero.

Two rules every front-end applies to what it shows:

* **Text that did not come from our catalogue** (a DTC description, a refusal reason, a
  configuration string, an operator name replayed from the history) may hold control characters.
  On a terminal ``ESC [2J`` clears the screen, ``ESC ]`` retitles the window, a carriage return or
  a newline forges a line that looks like the tool's own. :func:`visible` shows every control
  character as an escape instead (``\x1b``, ``\u202e``), so the text is still readable and
  nothing is hidden, but nothing is obeyed.
* **A number that rounds to zero has no sign**: a calibration error of -0.0004 % shown as
  "-0.00 %" reads as a (tiny) fault. :func:`format_number` formats like :func:`format` and drops
  the sign of a result that shows only zeros; :func:`without_negative_zero` does the same inside
  text a device already formatted.

Pure: no I/O, no terminal library.
"""

from __future__ import annotations

import re
from typing import Final

_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control characters, DEL, and the Unicode controls that reorder or break lines.

The bidirectional overrides (U+202A..U+202E, U+2066..U+2069, U+200E/F, U+061C) make a terminal
show characters in another order than they are stored ("Trojan Source"); U+2028/U+2029 break lines.
"""
_LAYOUT: Final = frozenset("\n\t")
"""What :func:`visible` keeps with ``keep_layout``: line breaks and tabs of our own multi-line text."""

_NEGATIVE_ZERO_IN_TEXT: Final = re.compile(r"(?<![\w.,+-])-(?=0+(?:[.,]0+)?(?![.,]?\d))")
"""A minus sign in front of a number that is all zeros ("-0", "-0.00", "-0,0"), standing alone."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, keep_layout: bool = False) -> str:
    r"""``text`` with every control character shown as an escape: ``"a\x1b[2J"`` → ``"a\\x1b[2J"``.

    Args:
        text: text that did not come from our catalogue.
        keep_layout: keep newlines and tabs (for multi-line text the tool composed itself); every
            other control character is still escaped.
    """
    if keep_layout:
        return _CONTROL.sub(lambda m: m.group() if m.group() in _LAYOUT else _escape(m), text)
    return _CONTROL.sub(_escape, text)


def has_control(text: str) -> bool:
    """True when :func:`visible` would change ``text``."""
    return _CONTROL.search(text) is not None


def format_number(value: object, spec: str) -> str:
    """``format(value, spec)``, without the minus sign of a result that is all zeros.

    ``format(-0.0004, ".2f")`` is ``"-0.00"``: the value rounded to zero and kept a sign that says
    nothing but looks like a fault. A ``+`` in the spec shows a zero as ``"+0.00"``, like a
    positive zero. Anything that is not a float (or a Decimal) is formatted unchanged.
    """
    rendered = format(value, spec)
    if not isinstance(value, float) and type(value).__name__ != "Decimal":
        return rendered
    if "-" not in rendered or any(ch in "123456789" for ch in rendered):
        return rendered
    if not any(ch == "0" for ch in rendered):  # "-inf", "-nan": not a zero
        return rendered
    return rendered.replace("-", "+" if "+" in spec else "", 1)


def without_negative_zero(text: str) -> str:
    """``text`` with the minus sign dropped from every number that is all zeros ("-0.00 %" → "0.00 %").

    For numbers a device formatted itself (its self-test's measured values); numbers we format go
    through :func:`format_number`.
    """
    return _NEGATIVE_ZERO_IN_TEXT.sub("", text)
