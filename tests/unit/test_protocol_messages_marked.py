"""Issue 14, i18n: every sentence the protocol clients raise to a technician is marked for translation.

About ninety English sentences in ``protocols/`` (refusals, timeouts, malformed answers, "No answer
from the device…") reached Dutch and French screens in English because they were plain strings or
f-strings. This test reads the code (as the catalogue test does) and fails on any error raised there
with a literal message or hint, and on any operation name (the ``what`` / ``action`` that messages
are built around: "read the serial number", "identity read") passed as a literal instead of
``t("...")``. Vendor text passed as a field (``error=str(exc)``) is not a literal and stays as it is.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import pytest

import bmsflasher.protocols

PROTOCOLS: Final = Path(bmsflasher.protocols.__file__).resolve().parent

PROGRAMMING_ERRORS: Final = frozenset({"ValueError", "TypeError", "AssertionError", "NotImplementedError"})
"""Raised for a caller's mistake (an empty image, a cell index out of range), never shown to a technician."""

OPERATION_ARGUMENT: Final = {
    "call": 0,  # UdsClient.call(action, ...)
    "read_did": 1,  # (did, what)
    "write_did": 2,  # (did, value, what)
    "routine": 1,  # (rid, what, ...)
    "_text": 1,
    "_optional_did": 1,
    "_image_routine": 1,
    "answered": 1,
    "rejected": 0,
    "translate": 1,
    "transact": 1,  # SmpSession.transact(build, what, ...)
    "_bms_read": 1,
    "_bms_write": 2,
    "check_error": 1,
    "_Reader": 1,
    "_field": 3,
    "_list": 2,
}
"""Function → position of the phrase a message is built around (the ``what`` or ``action``)."""


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_literal_text(node: ast.expr | None) -> bool:
    """A str constant, an f-string, or a concatenation/``%`` of them: English frozen into the code."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(node.value.strip())
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_literal_text(node.left) or _is_literal_text(node.right)
    return False


def unmarked_sentences(source: str, where: str) -> list[str]:
    """``where:line kind`` for every literal message, hint or operation phrase in one module's source."""
    tree = ast.parse(source, filename=where)
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name.endswith("Error") and name not in PROGRAMMING_ERRORS:
            message = node.args[0] if node.args else None
            if _is_literal_text(message):
                found.append(f"{where}:{node.lineno} {name} message")
            for keyword in node.keywords:
                if keyword.arg == "hint" and _is_literal_text(keyword.value):
                    found.append(f"{where}:{node.lineno} {name} hint")
        position = OPERATION_ARGUMENT.get(name)
        if position is not None and position < len(node.args) and _is_literal_text(node.args[position]):
            found.append(f"{where}:{node.lineno} {name}() operation phrase")
    return found


def test_no_protocol_module_raises_an_unmarked_sentence() -> None:
    modules = sorted(PROTOCOLS.rglob("*.py"))
    assert len(modules) > 15
    found = [
        line
        for module in modules
        for line in unmarked_sentences(module.read_text(encoding="utf-8"), str(module.relative_to(PROTOCOLS)))
    ]
    assert not found, "English frozen into the protocol clients (wrap it in t(...)):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'raise NoResponseError(f"No answer from {port}")',
        'raise DeviceRejectedError(t("ok"), hint="Check the cable.")',
        'self._session.transact(msg.reset, "reset")',
        'client.read_did(0xF18C, "serial number")',
        '_Reader(data, "slot " + "table")',
    ],
)
def test_the_guard_sees_a_literal(source: str) -> None:
    assert unmarked_sentences(f"def f():\n    {source}\n", "probe.py")


def test_the_guard_accepts_marked_sentences_and_vendor_fields() -> None:
    source = (
        "def f(exc, what):\n"
        '    raise ProtocolError(t("Trying to {action} failed: {error}.", action=what, error=str(exc)))\n'
        '    raise ValueError("the image is empty")\n'
        '    self._session.transact(msg.reset, t("reset"))\n'
        '    _field(body, "code", int, what)\n'
    )
    assert unmarked_sentences(source, "probe.py") == []
