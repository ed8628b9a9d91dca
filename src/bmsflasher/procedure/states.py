"""The update procedure's states and the only transitions allowed between them.

The procedure is an explicit state machine: every step handler returns the next state, and the
engine refuses any next state not listed here. The table is the single place to read the
procedure's shape (it is also drawn in docs/update-procedure.md), and it is what makes "impossible
to leave half-way" checkable: every path out of TRANSFER ends in UPDATED, ROLLED_BACK or FAILED with
the journal kept for a resume.
"""

from __future__ import annotations

import enum
from typing import Final

from bmsflasher.core.i18n import t


class State(enum.Enum):
    """One step of the update (or one of its ends)."""

    VERIFY_PACKAGE = "verify_package"
    IDENTIFY = "identify"
    PRECONDITIONS = "preconditions"
    BACKUP = "backup"
    TRANSFER = "transfer"
    REBOOT = "reboot"
    SELF_TEST = "self_test"
    CONFIRM = "confirm"
    CONFIG_CHECK = "config_check"
    ROLLBACK = "rollback"
    CONFIG_RESTORE = "config_restore"
    # ends
    UPDATED = "updated"
    ROLLED_BACK = "rolled_back"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def title(self) -> str:
        """The step's title: English, translatable with :func:`bmsflasher.core.i18n.localise`."""
        return TITLES[self]


TERMINAL: Final = frozenset({State.UPDATED, State.ROLLED_BACK, State.REFUSED, State.CANCELLED, State.FAILED})

TITLES: Final[dict[State, str]] = {
    State.VERIFY_PACKAGE: t("Verify the package"),
    State.IDENTIFY: t("Identify the device"),
    State.PRECONDITIONS: t("Check the preconditions"),
    State.BACKUP: t("Back up the configuration"),
    State.TRANSFER: t("Transfer the firmware"),
    State.REBOOT: t("Reboot into the new firmware"),
    State.SELF_TEST: t("Run the self-test"),
    State.CONFIRM: t("Confirm the new firmware"),
    State.CONFIG_CHECK: t("Check the configuration"),
    State.ROLLBACK: t("Roll back to the previous firmware"),
    State.CONFIG_RESTORE: t("Restore the configuration"),
    State.UPDATED: t("Updated"),
    State.ROLLED_BACK: t("Rolled back"),
    State.REFUSED: t("Refused"),
    State.CANCELLED: t("Cancelled"),
    State.FAILED: t("Failed"),
}

TRANSITIONS: Final[dict[State, frozenset[State]]] = {
    # Nothing has touched the device yet: a bad package ends here.
    State.VERIFY_PACKAGE: frozenset({State.IDENTIFY, State.FAILED}),
    # A fresh update goes on to the preconditions; a resumed one jumps to where the device is;
    # a device in recovery mode (nothing to measure) is refused.
    State.IDENTIFY: frozenset(
        {
            State.PRECONDITIONS,
            State.REBOOT,
            State.SELF_TEST,
            State.CONFIG_CHECK,
            State.ROLLBACK,
            State.REFUSED,
            State.FAILED,
        }
    ),
    State.PRECONDITIONS: frozenset({State.BACKUP, State.REFUSED, State.CANCELLED, State.FAILED}),
    State.BACKUP: frozenset({State.TRANSFER, State.FAILED}),
    # A broken transfer leaves the running firmware untouched; the journal resumes it.
    State.TRANSFER: frozenset({State.REBOOT, State.FAILED}),
    # The device may come back on the new image, or reverted by its bootloader (boot loop).
    State.REBOOT: frozenset({State.SELF_TEST, State.ROLLBACK, State.FAILED}),
    State.SELF_TEST: frozenset({State.CONFIRM, State.ROLLBACK}),
    State.CONFIRM: frozenset({State.CONFIG_CHECK, State.ROLLBACK}),
    State.CONFIG_CHECK: frozenset({State.UPDATED, State.FAILED}),
    State.ROLLBACK: frozenset({State.CONFIG_RESTORE, State.FAILED}),
    State.CONFIG_RESTORE: frozenset({State.ROLLED_BACK, State.FAILED}),
}

SUCCESS: Final[dict[State, frozenset[State]]] = {
    State.VERIFY_PACKAGE: frozenset({State.IDENTIFY}),
    State.IDENTIFY: frozenset(
        {State.PRECONDITIONS, State.REBOOT, State.SELF_TEST, State.CONFIG_CHECK, State.ROLLBACK}
    ),
    State.PRECONDITIONS: frozenset({State.BACKUP}),
    State.BACKUP: frozenset({State.TRANSFER}),
    State.TRANSFER: frozenset({State.REBOOT}),
    State.REBOOT: frozenset({State.SELF_TEST}),
    State.SELF_TEST: frozenset({State.CONFIRM}),
    State.CONFIRM: frozenset({State.CONFIG_CHECK}),
    State.CONFIG_CHECK: frozenset({State.UPDATED}),
    State.ROLLBACK: frozenset({State.CONFIG_RESTORE}),
    State.CONFIG_RESTORE: frozenset({State.ROLLED_BACK}),
}
"""For each step, the next states that mean the step itself succeeded (for StepFinished.ok)."""

ON_ERROR: Final[dict[State, State]] = {
    state: (State.ROLLBACK if state in (State.SELF_TEST, State.CONFIRM) else State.FAILED)
    for state in TRANSITIONS
}
"""Where an unexpected error in a step leads: after the test boot, to a rollback; before it, to FAILED."""

WRITES_DEVICE: Final = frozenset(
    {State.TRANSFER, State.REBOOT, State.SELF_TEST, State.CONFIRM, State.CONFIG_CHECK, State.ROLLBACK}
)
"""Steps that change the device; once one has started, a failure keeps the journal for a resume."""

RESUME_FROM_START: Final = frozenset(
    {State.VERIFY_PACKAGE, State.IDENTIFY, State.PRECONDITIONS, State.BACKUP, State.TRANSFER}
)
"""Interrupted in one of these, a resumed run re-checks the preconditions and resumes the transfer."""


def check_transition(current: State, following: State) -> None:
    """Raise ValueError if ``current`` may not lead to ``following`` (a bug in a step handler)."""
    allowed = TRANSITIONS.get(current, frozenset())
    if following not in allowed:
        raise ValueError(f"the procedure cannot go from {current.value} to {following.value}")
