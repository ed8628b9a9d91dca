"""The configuration backup's two device reads, made while the precondition window waits.

Reading every parameter twice (the backup compares two reads to catch an unstable read) costs about
0.2 s on a serial link, and the stability window leaves the link idle for most of 0.8 s. The update
engine queues the two reads as background jobs of :func:`.preconditions.measure`; the backup step
then stores and checks them exactly as :func:`.backup.take_backup` does with reads of its own.

A read that fails here is not an error of the precondition step: the prefetch just gives up and the
backup step reads for itself, so a failure is reported where it always was. Reads older than
:data:`FRESH_S` (an operator who took a while to approve) are read again for the same reason a
backup is taken right before the transfer: it must be what the device holds when writing starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.target import Target
from bmsflasher.core.types import ConfigSnapshot
from bmsflasher.procedure.idle_work import Job

FRESH_S: Final = 10.0
"""Reads older than this when the backup step starts are read again."""


class ConfigPrefetch:
    """Two ``read_config`` jobs and their results."""

    def __init__(self, target: Target, clock: Callable[[], float] = time.monotonic) -> None:
        self._target = target
        self._clock = clock
        self._reads: list[ConfigSnapshot] = []
        self._first_at: float | None = None
        self._failed = False

    def jobs(self) -> tuple[Job, Job]:
        """The first and the second read, queued separately so each fits a gap of its own."""
        return (self._read, self._read)

    def _read(self) -> None:
        if self._failed:
            return
        started = self._clock()
        try:
            snapshot = self._target.read_config()
        except BmsFlasherError:
            self._failed = True  # the backup step reads again and reports the failure itself
            return
        if self._first_at is None:
            self._first_at = started
        self._reads.append(snapshot)

    def take(self) -> tuple[ConfigSnapshot, ConfigSnapshot] | None:
        """Both reads, if both were made and are fresh; None tells the backup to read for itself."""
        if self._failed or len(self._reads) != 2 or self._first_at is None:
            return None
        if self._clock() - self._first_at > FRESH_S:
            return None
        return self._reads[0], self._reads[1]
