"""Every security-access unlock of a recorded flow, written into its service session.

A key computed for a battery's serial number is a credential for that battery, so the history
must show which battery was unlocked, when and for which operation (issue 14: a rogue node had
collected keys unnoticed). The target announces each unlock (:class:`SecurityUnlock`); a flow
that opened a session passes it here and gets one ``security_access`` step per unlock, plus a log
line for the technician. The update procedure does the same through its own step recording, which
also covers unlocks before its session exists.

Work outside a service session (a command that only reads, a balancing command, anything a future
command unlocks for) has no session to write into; :func:`announce_unlocks` still tells the
technician, one log line per unlock, so no unlock goes unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from bmsflasher.core.events import EventSink, LogLevel, LogLine, discard
from bmsflasher.core.target import SecurityUnlock, Target
from bmsflasher.records import RecordsDb

UNLOCK_STEP: Final = "security_access"
"""The service-history step of each unlock; its detail is :meth:`SecurityUnlock.sentence`."""


def announce_unlocks(target: Target, sink: EventSink) -> Callable[[], None]:
    """Tell ``sink`` about each unlock of ``target`` as one log line (battery, operation, time).

    Returns:
        A function that stops the announcements.
    """

    def on_unlock(unlock: SecurityUnlock) -> None:
        sink(LogLine(LogLevel.INFO, unlock.sentence()))

    target.add_unlock_listener(on_unlock)
    return lambda: target.remove_unlock_listener(on_unlock)


def record_unlocks(
    target: Target, db: RecordsDb, session_id: int, sink: EventSink = discard
) -> Callable[[], None]:
    """Record each unlock of ``target`` in session ``session_id`` (and as a log line) until stopped.

    Returns:
        A function that stops the recording; call it when the flow ends, whatever the outcome.
    """

    def on_unlock(unlock: SecurityUnlock) -> None:
        sentence = unlock.sentence()
        sink(LogLine(LogLevel.INFO, sentence))
        db.log_step(session_id, UNLOCK_STEP, True, sentence)

    target.add_unlock_listener(on_unlock)
    return lambda: target.remove_unlock_listener(on_unlock)
