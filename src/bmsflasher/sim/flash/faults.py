"""Flash faults: a power cut before operation k, a torn operation k, random bit flips.

Operation indices count every erase and write since the flash was powered (the first is 1), the
way MCUboot's own simulator counts them, so a sweep can first count the N operations of a clean
run and then interrupt each one in turn.
"""

from __future__ import annotations

from dataclasses import dataclass


class PowerCut(Exception):  # noqa: N818 -- an event, not an error: the device simply loses power
    """Raised inside the device when the simulated supply drops; the device is then off.

    Attributes:
        op_index: the operation that did not happen (cut) or only partly happened (torn).
        torn: True when the operation partly landed.
    """

    def __init__(self, op_index: int, *, torn: bool) -> None:
        kind = "tore" if torn else "came before"
        super().__init__(f"power cut {kind} flash operation {op_index}")
        self.op_index = op_index
        self.torn = torn


@dataclass(slots=True)
class FaultPlan:
    """Which flash operation the power fails at.

    Attributes:
        cut_before_op: the supply drops just before this operation index (it does not happen).
        tear_op: the supply drops during this operation (only part of it lands).
        tear_keep_bytes: for a torn write, how many leading bytes land intact; None picks at
            random (the byte after them is then partly programmed).
    """

    cut_before_op: int | None = None
    tear_op: int | None = None
    tear_keep_bytes: int | None = None

    def clear(self) -> None:
        """Disarm every fault."""
        self.cut_before_op = None
        self.tear_op = None
        self.tear_keep_bytes = None
