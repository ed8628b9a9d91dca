"""``bmsflasher demo``: the whole update procedure end to end on the command line, no hardware.

A virtual BMS starts in this process behind a real pseudo-terminal (the same OS object a USB
serial adapter is; where there are none, as on Windows, a local TCP port the tool opens as
``socket://127.0.0.1:PORT``), the tool connects to it with its SMP client like to any serial device, and
flashes a demo package with the full procedure: verification, preconditions, backup, transfer
with a progress bar, test boot, self-test, confirm (or automatic rollback), configuration check.
Everything the demo writes (flash state, service history, journal) goes to a temporary folder, so
it never mixes with a workshop's real records.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

from rich.console import Console

from bmsflasher.cli.console import make_console, say
from bmsflasher.cli.render import EventRenderer, identity_json, print_advice, print_outcome
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import Target
from bmsflasher.procedure.connect import open_target
from bmsflasher.procedure.engine import UpdateOptions, UpdateProcedure
from bmsflasher.procedure.package_loading import build_keyring, package_loader
from bmsflasher.procedure.states import State
from bmsflasher.records import RecordsDb
from bmsflasher.sim.demo_bench import DEMO_PACKAGES, DemoBench, DemoScenario

EXIT_DEMO_OK: Final = 0


def _package_path(choice: str) -> Path:
    if choice in DEMO_PACKAGES:
        return DemoBench.package(choice)
    path = Path(choice)
    if not path.is_file():
        names = ", ".join(DEMO_PACKAGES)
        raise ConfigValidationError(
            t(
                "'{choice}' is neither a demo package ({names}) nor a package file",
                choice=choice,
                names=names,
            )
        )
    return path


def run_demo(
    package: Path,
    workdir: Path,
    *,
    baud: int,
    soc_pct: float,
    console: Console,
    quiet: bool = False,
    keep: bool = False,
) -> int:
    """Run one update against a fresh virtual BMS in ``workdir``; returns the flash exit code.

    Raises:
        DemoUnavailableError: ``BMSFLASHER_DEMO_LINK=pty`` where there are no pseudo-terminals.
    """
    renderer = EventRenderer(console, quiet=quiet)
    opened: list[Target] = []

    def connect(bench: DemoBench) -> Callable[[], Target]:
        def open_it() -> Target:
            target = open_target(bench.link, timeout_s=10.0)
            opened.append(target)
            return target

        return open_it

    # The bench picks its port (a pty, or a local TCP port where there are none) or refuses in one sentence.
    with DemoBench(DemoScenario(soc_pct=soc_pct, baud=baud), workdir, in_process=True) as bench:
        try:
            with RecordsDb.open(bench.history_path) as db:
                device = bench.device  # in process: the bench holds the device
                if not quiet and device is not None:
                    console.print(
                        say(
                            t(
                                "Virtual BMS {serial_number} is listening on {port} at {baud} baud.",
                                serial_number=device.serial_number,
                                port=bench.port,
                                baud=baud,
                            )
                        )
                    )
                keyring = build_keyring([bench.trusted_key()], folder=bench.trusted_keys_dir, demo=True)
                options = UpdateOptions(
                    operator="demo", journal_dir=bench.journal_dir, details={"demo": True}
                )
                result = UpdateProcedure(
                    package_loader(package, keyring), connect(bench), db, renderer, options
                ).run()
                renderer.close()
                after = opened[0].identify() if opened and result.outcome is not State.FAILED else None
                for target in opened:
                    target.close()
                opened.clear()
        finally:
            renderer.close()
            for target in opened:
                target.close()
    if not quiet:
        print_outcome(console, result)
        print_advice(console, result.advice)
        if after is not None:
            info = identity_json(after)
            console.print(
                say(
                    t(
                        "The device now runs {version} (security counter {counter}).",
                        version=info["firmware_version"],
                        counter=info["security_counter"],
                    )
                ),
                highlight=False,
            )
        if result.session_id is not None and keep:
            console.print(
                say(
                    t(
                        "Service report: bmsflasher report {session_id} --db {db} --out report.html",
                        session_id=result.session_id,
                        db=bench.history_path,
                    )
                ),
                highlight=False,
            )
    return result.exit_code


def _cmd_demo(args: argparse.Namespace) -> int:
    package = _package_path(args.package)
    if args.baud <= 0:
        raise ConfigValidationError(t("--baud must be positive, not {baud}", baud=args.baud))
    console = make_console()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return run_demo(package, args.workdir, baud=args.baud, soc_pct=args.soc, console=console, keep=True)
    with tempfile.TemporaryDirectory(prefix="bmsflasher-demo-") as folder:
        return run_demo(package, Path(folder), baud=args.baud, soc_pct=args.soc, console=console)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command."""
    demo = subparsers.add_parser(
        "demo",
        help=say(t("update a virtual BMS end to end (no hardware needed)")),
        description=say(
            t(
                "Start a virtual BMS on a pseudo-terminal (a local TCP port where there are none, or "
                "with BMSFLASHER_DEMO_LINK=tcp) and update it with a demo package. Demo packages: "
                "{packages}.",
                packages=", ".join(DEMO_PACKAGES),
            )
        ),
    )
    demo.add_argument(
        "--package",
        default="healthy",
        metavar="NAME|FILE",
        help=say(t("demo package name or .bmspkg (default healthy)")),
    )
    demo.add_argument("--baud", type=int, default=921_600, help=say(t("serial baud rate (default 921600)")))
    demo.add_argument(
        "--soc", type=float, default=60.0, help=say(t("state of charge of the virtual pack in %%"))
    )
    demo.add_argument(
        "--workdir", type=Path, help=say(t("keep the device state and history here (default: temporary)"))
    )
    demo.set_defaults(func=_cmd_demo)
