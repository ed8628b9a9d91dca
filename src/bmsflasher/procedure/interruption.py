"""What an interrupted update left behind, and how to go on — for every front-end.

A technician who pressed Ctrl-C (or closed the window, or lost the laptop's battery) needs two
sentences: what state the battery is in now, and what to do next. The answer depends only on the
step the update had reached (the journal knows it), so it is decided here once; the CLI adds the
exact command that resumes, the GUI a button.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bmsflasher.core.i18n import t
from bmsflasher.procedure.states import WRITES_DEVICE, State


class ResumeAction(enum.Enum):
    """What the technician should do next."""

    START_OVER = "start_over"
    """Nothing was written: run the update again from the start."""
    RESUME_TRANSFER = "resume_transfer"
    """The transfer stopped: running the update again resumes it where it stopped."""
    FINISH_FROM_JOURNAL = "finish_from_journal"
    """The image is on the device: running the update again finishes it from the journal, or roll back."""


@dataclass(frozen=True, slots=True)
class InterruptionAdvice:
    """The state the device is in and what to do next.

    Attributes:
        step: the step that was running (a :class:`State` value), or None before the update started.
        reason: one sentence on what happened and the device's state.
        action: what to do next.
        firmware_unchanged: True when nothing was written to the device.
        rollback_possible: True when returning to the previous firmware is an alternative.
    """

    step: str | None
    reason: str
    action: ResumeAction
    firmware_unchanged: bool
    rollback_possible: bool

    def next_step(self, rerun: str) -> str:
        """The sentence saying what to do, with ``rerun`` (a command or a button label) filled in."""
        if self.action is ResumeAction.START_OVER:
            return t("Run it again to start over: {rerun}", rerun=rerun)
        if self.action is ResumeAction.RESUME_TRANSFER:
            return t(
                "Run the same command again to resume the transfer where it stopped: {rerun}", rerun=rerun
            )
        return t(
            "Run the same command again to finish from the journal: {rerun} — or return to the "
            "previous firmware with 'bmsflasher rollback' and the same device options.",
            rerun=rerun,
        )


def advise_interruption(step: str | None) -> InterruptionAdvice:
    """Advice for an update interrupted during ``step`` (the last step started, or None)."""
    state = State(step) if step in {s.value for s in State} else None
    if state is None or state not in WRITES_DEVICE:
        where = t("during '{step}'", step=state.title) if state else t("before the update started")
        return InterruptionAdvice(
            step,
            t(
                "Interrupted {where}; nothing was written to the device, its firmware is unchanged.",
                where=where,
            ),
            ResumeAction.START_OVER,
            firmware_unchanged=True,
            rollback_possible=False,
        )
    if state is State.TRANSFER:
        return InterruptionAdvice(
            step,
            t(
                "Interrupted during the transfer; the device still runs its previous firmware (the new "
                "image goes to its spare slot) and will return to normal operation by itself."
            ),
            ResumeAction.RESUME_TRANSFER,
            firmware_unchanged=True,
            rollback_possible=False,
        )
    return InterruptionAdvice(
        step,
        t(
            "Interrupted during '{step}'; the device's bootloader keeps a bootable firmware (a new "
            "image that is not confirmed is reverted at its next reset).",
            step=state.title,
        ),
        ResumeAction.FINISH_FROM_JOURNAL,
        firmware_unchanged=False,
        rollback_possible=True,
    )
