"""``bmsflasher log``: record a CAN bus to a file technicians already exchange.

``bmsflasher log --can slcan:/dev/ttyACM0 --bitrate 500000 --out field.blf [--duration 60]``
writes every frame the adapter receives with python-can's writer for the file's suffix (candump
``.log``, Vector ``.asc``/``.blf``, PEAK ``.trc``, ``.csv``). Nothing is transmitted. A live frame
count runs on stderr; Ctrl-C (or the end of ``--duration``) stops the recording with the file
flushed and complete, and ``--json`` prints one summary object.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Final

from bmsflasher.canbus.listen import opened_listener
from bmsflasher.canbus.log_files import WRITE_SUFFIXES, checked_log_path, record_link
from bmsflasher.cli.console import print_json, say
from bmsflasher.cli.target_args import add_device_arguments, link_from_args
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import LinkSettings

EXIT_OK: Final = 0
COUNTER_PERIOD_S: Final = 0.25


def can_link_from_args(args: argparse.Namespace, command: str) -> LinkSettings:
    """The CAN adapter the options name; a clear sentence when they name a serial port instead."""
    link = link_from_args(args)
    if link.kind != "can":
        raise ConfigValidationError(
            t("{command} listens to a CAN bus: give --interface and --channel (or --can)", command=command)
        )
    return link


def checked_duration(value: float | None) -> float | None:
    """``--duration`` as a finite positive number of seconds (None: until Ctrl-C)."""
    if value is not None and not (0 < value < math.inf):
        raise ConfigValidationError(
            t("--duration must be a positive number of seconds, not {value}", value=value)
        )
    return value


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (the recording ends cleanly) instead of raising; restored after."""

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _counter(path: Path) -> Callable[[int], None]:
    """The live frame count on stderr, rewritten in place on a terminal (a few times a second)."""
    shown = {"at": 0.0}
    live = sys.stderr.isatty()

    def show(frames: int) -> None:
        now = time.monotonic()
        if live and now - shown["at"] >= COUNTER_PERIOD_S:
            shown["at"] = now
            sys.stderr.write("\r" + say(t("recording {path}: {frames} frames", path=path, frames=frames)))
            sys.stderr.flush()

    return show


def _cmd_log(args: argparse.Namespace) -> int:
    out: Path = checked_log_path(args.out, for_writing=True)
    duration_s = checked_duration(args.duration)
    link_settings = can_link_from_args(args, "log")
    stop = threading.Event()
    with opened_listener(link_settings) as link, stop_on_signals(stop):
        summary = record_link(link, out, stop=stop, duration_s=duration_s, on_count=_counter(out))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if args.json:
        print_json({"ok": True, **summary.to_json(), "format": out.suffix.lower().lstrip(".")})
    else:
        print(
            say(
                t(
                    "{frames} frames in {duration_s:.1f} s written to {path}",
                    frames=summary.frames,
                    duration_s=summary.duration_s,
                    path=summary.path,
                )
            ),
            file=sys.stderr,
        )
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``log``."""
    log = subparsers.add_parser("log", help=say(t("record a CAN bus to a log file (nothing is sent)")))
    add_device_arguments(log, json_help=t("print a JSON summary when the recording ends"))
    log.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help=say(
            t("the log file; its suffix picks the format: {suffixes}", suffixes=" ".join(WRITE_SUFFIXES))
        ),
    )
    log.add_argument(
        "--duration", type=float, metavar="S", help=say(t("stop after S seconds (default: until Ctrl-C)"))
    )
    log.set_defaults(func=_cmd_log)
