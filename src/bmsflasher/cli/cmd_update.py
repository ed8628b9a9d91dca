"""Changing a battery's firmware: ``flash`` (the safe update), ``recover`` and ``rollback``.

Thin over the procedure engine: each command opens the target the shared options name, calls one
engine function, renders its events and returns an exit code. ``flash`` exit codes: 0 updated,
2 refused by a precondition, 10 rolled back, 3 package rejected, 4 link failure, 5 protocol
failure, 6 other procedure failure, 1 cancelled, 130 interrupted (with the command that resumes).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Final

from rich.console import Console

from bmsflasher.cli.console import (
    ask,
    declined,
    error_json,
    make_console,
    print_json,
    progress_console,
    require_interactive_or_yes,
    say,
)
from bmsflasher.cli.pack_line import add_addresses_argument
from bmsflasher.cli.render import EventRenderer, identity_json, print_update_result
from bmsflasher.cli.resume import command_argv, report_interrupt
from bmsflasher.cli.target_args import (
    add_device_arguments,
    add_history_arguments,
    add_trust_argument,
    add_yes_argument,
    keyring_from_args,
    open_from_args,
    opened_records,
    opened_target,
)
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.events import Event, StepStarted
from bmsflasher.core.i18n import t
from bmsflasher.core.link_options import modbus_link
from bmsflasher.core.names import mode_name
from bmsflasher.core.target import Target
from bmsflasher.discovery.modbus_probe import parse_addresses
from bmsflasher.procedure.engine import Approval, UpdateOptions, UpdateProcedure
from bmsflasher.procedure.package_loading import load_package, package_loader
from bmsflasher.procedure.preconditions import PreconditionReport
from bmsflasher.procedure.rack_update import RackUpdate
from bmsflasher.procedure.recovery import recover_recorded
from bmsflasher.procedure.recovery_checks import DeclaredIdentity
from bmsflasher.procedure.results import EXIT_ROLLED_BACK, UpdateResult
from bmsflasher.procedure.rollback import RollbackReport, manual_rollback_recorded, other_slot
from bmsflasher.procedure.states import State
from bmsflasher.records import RecordsDb

EXIT_OK: Final = 0
EXIT_DECLINED: Final = 1

_OUTCOME_ERRORS: Final = {
    State.REFUSED: "UpdateRefused",
    State.ROLLED_BACK: "UpdateRolledBack",
    State.CANCELLED: "UpdateCancelled",
    State.FAILED: "UpdateFailed",
}
"""The ``error`` of a failed update's JSON when no exception names it (a refused gate, a "no" answer)."""


# --- flash ------------------------------------------------------------------------------------------------
def _parse_overrides(items: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, reason = item.partition("=")
        if not sep or not name.strip():
            raise ConfigValidationError(t("--override takes GATE=REASON, not '{item}'", item=item))
        overrides[name.strip()] = reason.strip()
    return overrides


def _approval(console: Console) -> Approval:
    def approve(report: PreconditionReport) -> bool:
        if report.overrides:
            console.print(
                say(t("All preconditions passed ({count} overridden).", count=len(report.overrides))),
                highlight=False,
            )
        else:
            console.print(say(t("All preconditions passed.")), highlight=False)
        return ask(t("Write the new firmware to the device now?"))

    return approve


def _rollback_with_records(
    console: Console, args: argparse.Namespace, db: RecordsDb, target: Target
) -> RollbackReport:
    report = manual_rollback_recorded(target, db, operator=args.operator)
    if not args.json:
        console.print(
            say(t("Rolled back from {old} to {new}.", old=report.from_version, new=report.to_version)),
            highlight=False,
        )
    return report


def _offer_rollback(
    console: Console, args: argparse.Namespace, db: RecordsDb, target: Target, result: UpdateResult
) -> RollbackReport | None:
    if not ask(t("Keep firmware {version}? Answer 'n' to roll back now.", version=result.to_version)):
        return _rollback_with_records(console, args, db, target)
    return None


def result_json(result: UpdateResult) -> dict[str, object]:
    """``flash --json``'s object: the result, plus the five error keys when the update did not succeed."""
    payload = result.to_json()
    if result.exit_code == EXIT_OK:
        return payload
    error = type(result.error).__name__ if result.error is not None else _OUTCOME_ERRORS[result.outcome]
    if result.advice is not None:
        hint: object = result.advice.resolution
    else:
        hint = result.error.hint if result.error is not None else None
    return error_json(error, result.reason, hint, result.exit_code, **payload)


def _rerun_command(args: argparse.Namespace) -> str:
    """The ``flash`` command that resumes this run: package, link, keys, history, operator, overrides."""
    return shlex.join(command_argv(["flash"], _add_flash_arguments, args))


def _cmd_flash(args: argparse.Namespace) -> int:
    package_path: Path = args.package
    keyring = keyring_from_args(args)
    overrides = _parse_overrides(args.override)
    if args.reference_mv is not None and args.reference_mv <= 0:
        raise ConfigValidationError(
            t("--reference-mv must be positive, not {value}", value=args.reference_mv)
        )
    require_interactive_or_yes(args, "flash")
    console = progress_console(args.json)  # with --json stdout carries nothing but the result object
    renderer = EventRenderer(console)
    opened: list[Target] = []

    def connect() -> Target:
        target = open_from_args(args, announce_unlocks=False)  # the engine logs each unlock
        opened.append(target)
        return target

    options = UpdateOptions(
        operator=args.operator,
        overrides=overrides,
        reference_mv=args.reference_mv,
        approve=None if args.yes else _approval(console),
        details={"package_file": package_path.name},
    )
    manual: RollbackReport | None = None
    steps: list[str] = []

    def sink(event: Event) -> None:
        if isinstance(event, StepStarted):
            steps.append(event.step)
        renderer(event)

    with opened_records(args) as db:
        try:
            result = UpdateProcedure(package_loader(package_path, keyring), connect, db, sink, options).run()
            renderer.close()
            if result.outcome is State.UPDATED and not args.yes and not args.json and opened:
                manual = _offer_rollback(console, args, db, opened[0], result)
        except KeyboardInterrupt:
            renderer.close()
            for target in opened:
                target.close()
            return report_interrupt(args, steps[-1] if steps else None, _rerun_command(args))
        finally:
            renderer.close()
            for target in opened:
                target.close()
    if args.json:
        payload = result_json(result)
        if manual is not None:
            payload["manual_rollback"] = {
                "to_version": str(manual.to_version),
                "actions": list(manual.actions),
            }
        print_json(payload)
    else:
        print_update_result(console, result)
    if manual is not None:
        return EXIT_ROLLED_BACK
    return result.exit_code


# --- recover / rollback -----------------------------------------------------------------------------------
def _cmd_recover(args: argparse.Namespace) -> int:
    package_path: Path = args.package
    keyring = keyring_from_args(args)
    update = load_package(package_path, keyring)  # verified before the device is touched
    require_interactive_or_yes(args, "recover")
    console = progress_console(args.json)
    renderer = EventRenderer(console)  # with --json on stderr: stdout carries only the result
    # The recovery records and logs each unlock through the renderer itself.
    with opened_records(args) as db, opened_target(args, announce_unlocks=False) as target:
        before = target.identify()
        question = t(
            "Flash {version} into the device in {mode} mode?",
            version=update.facts.version,
            mode=mode_name(before.mode.value),
        )
        if not args.yes and not ask(question):
            return declined(args, t("Recovery cancelled: nothing was written."), EXIT_DECLINED)
        try:
            declared = DeclaredIdentity(args.model, args.hw_rev)
            report = recover_recorded(
                target, update, db, renderer, operator=args.operator, before=before, declared=declared
            )
        finally:
            renderer.close()
    if args.json:
        print_json({"recovered": True, "device": identity_json(report.after)})
    else:
        console.print(
            say(t("Recovered: the device runs {version}.", version=report.after.firmware_version)),
            highlight=False,
        )
    return EXIT_OK


def _cmd_rollback(args: argparse.Namespace) -> int:
    if args.all:
        from bmsflasher.cli.cmd_campaign import run_pack_rollback

        return run_pack_rollback(args)
    require_interactive_or_yes(args, "rollback")
    console = make_console()
    with opened_records(args) as db, opened_target(args) as target:
        if not args.yes:
            identity = target.identify()
            previous = other_slot(identity)
            if previous is not None and previous.version:
                question = t(
                    "Roll device {serial} back from {running} to {previous}?",
                    serial=identity.serial_number,
                    running=identity.firmware_version,
                    previous=previous.version,
                )
            else:
                question = t(
                    "Roll device {serial} back from {running}?",
                    serial=identity.serial_number,
                    running=identity.firmware_version,
                )
            if not ask(question):
                return declined(args, t("Rollback cancelled."), EXIT_DECLINED)
        report = _rollback_with_records(console, args, db, target)
    if args.json:
        print_json(
            {
                "from_version": str(report.from_version),
                "to_version": str(report.to_version),
                "actions": list(report.actions),
                "device": identity_json(report.identity),
            }
        )
    return EXIT_OK


# --- registration -----------------------------------------------------------------------------------------
def _add_flash_arguments(flash: argparse.ArgumentParser) -> None:
    """Every option of ``flash``; also what the resume command is written from."""
    flash.add_argument("package", type=Path, metavar="PKG", help=say(t("the .bmspkg release package")))
    add_device_arguments(flash, json_help=t("print the result as JSON on stdout (progress goes to stderr)"))
    add_trust_argument(flash)
    add_history_arguments(flash)
    add_yes_argument(flash)
    flash.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="GATE=REASON",
        help=say(
            t(
                "accept a failed overridable precondition (link_quality, supply_stability, "
                "cell_voltage_stability) with a recorded reason"
            )
        ),
    )
    flash.add_argument(
        "--reference-mv", type=int, metavar="MV", help=say(t("pack voltage measured with a meter"))
    )


# --- rack-update ----------------------------------------------------------------------------------------
def _cmd_rack_update(args: argparse.Namespace) -> int:
    """Every module of an RS485 rack from one broadcast: exit 0 all updated, else the first failure's code."""
    package_path: Path = args.package
    keyring = keyring_from_args(args)
    addresses: tuple[int, ...] = args.addresses
    link = modbus_link(
        address=addresses[0],
        port=args.port,
        baud=args.baud,
        parity=args.parity,
        stopbits=args.stopbits,
        tcp=args.tcp,
    )
    assert link is not None  # an address was given
    require_interactive_or_yes(args, "rack-update")
    console = progress_console(args.json)
    renderer = EventRenderer(console)
    options = UpdateOptions(
        operator=args.operator,
        approve=None if args.yes else _approval(console),
        details={"package_file": package_path.name, "rack_addresses": list(addresses)},
    )
    with opened_records(args) as db:
        try:
            rack = RackUpdate(
                package_loader(package_path, keyring),
                link,
                addresses,
                db,
                sink_for=lambda _a: renderer,
                options=options,
            ).run()
        finally:
            renderer.close()
    codes = [m.result.exit_code for m in rack.modules if m.result is not None]
    if args.json:
        print_json(
            {
                "modules": [
                    {"address": m.address, "repaired_records": m.repaired_records, **result_json(m.result)}
                    for m in rack.modules
                    if m.result is not None
                ],
                "broadcast_s": rack.broadcast.broadcast_seconds if rack.broadcast else None,
                "broadcast_records": rack.broadcast.records_broadcast if rack.broadcast else None,
            }
        )
    else:
        for module in rack.modules:
            if module.result is None:
                continue
            console.print(
                say(
                    t(
                        "Module {address} ({repaired} records repaired after the broadcast):",
                        address=module.address,
                        repaired=module.repaired_records,
                    )
                ),
                highlight=False,
            )
            print_update_result(console, module.result)
    return next((code for code in codes if code != EXIT_OK), EXIT_OK)


def _modbus_addresses(text: str) -> tuple[int, ...]:
    """``--addresses 1-8,10``: argparse shows the sentence of a bad list as a usage error."""
    try:
        return parse_addresses(text)
    except ConfigValidationError as exc:
        raise argparse.ArgumentTypeError(say(exc.message)) from None


def _add_rack_update_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package", type=Path, metavar="PKG", help=say(t("the .bmspkg release package")))
    bus = parser.add_mutually_exclusive_group(required=True)
    bus.add_argument("--port", help=say(t("the RS485 adapter's serial port")))
    bus.add_argument(
        "--tcp", metavar="HOST:PORT", help=say(t("the rack's Modbus TCP gateway (instead of --port)"))
    )
    parser.add_argument("--baud", type=int, default=19200, help=say(t("the bus's baud rate")))
    # parity and stop bits default to the Modbus RTU line (8E1) inside modbus_link; --tcp takes none
    parser.add_argument("--parity", choices=("N", "E", "O"), help=say(t("the bus's parity")))
    parser.add_argument("--stopbits", choices=("1", "2"), help=say(t("the bus's stop bits")))
    parser.add_argument(
        "--addresses",
        type=_modbus_addresses,
        required=True,
        metavar="LIST",
        help=say(t("the modules' unit addresses, e.g. 1-8,10")),
    )
    parser.add_argument("--json", action="store_true", help=say(t("print the result as JSON on stdout")))
    add_trust_argument(parser)
    add_history_arguments(parser)
    add_yes_argument(parser)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``flash``, ``rack-update``, ``recover`` and ``rollback``."""
    flash = subparsers.add_parser(
        "flash",
        help=say(t("update a device's firmware safely (exit 0 updated, 2 refused, 10 rolled back)")),
        description=say(
            t(
                "Verify the package, check the preconditions, back up the configuration, transfer, "
                "test-boot, self-test and confirm, or roll back automatically. Exit codes: 0 updated, 2 "
                "refused by a precondition, 10 rolled back, 3 package rejected, 4 link failure, 5 "
                "protocol failure, 6 procedure failure, 1 cancelled."
            )
        ),
    )
    _add_flash_arguments(flash)
    flash.set_defaults(func=_cmd_flash)

    rack = subparsers.add_parser(
        "rack-update",
        help=say(t("update every module of an RS485 rack by one broadcast (exit 0 all updated)")),
        description=say(
            t(
                "Send the image once to every module (Modbus address 0), re-send to each module only the "
                "records it missed, then test-boot, self-test and confirm each module, or roll back that "
                "module alone. Exit code: 0 when every module is updated, else the first failed module's "
                "flash exit code."
            )
        ),
    )
    _add_rack_update_arguments(rack)
    rack.set_defaults(func=_cmd_rack_update)

    recover = subparsers.add_parser(
        "recover",
        help=say(t("emergency recovery: flash a device that has no bootable firmware left")),
        description=say(
            t(
                "Flash a verified package into a device stuck in recovery mode (no bootable image). The "
                "package is checked against every fact the device reports, like an update; a bricked "
                "unit often cannot report its model or hardware revision: name them from its label with "
                "--model and --hw-rev (recorded in the service history). A device whose bootloader still "
                "holds a bootable image is refused: update it instead."
            )
        ),
    )
    recover.add_argument("package", type=Path, metavar="PKG", help=say(t("the .bmspkg release package")))
    recover.add_argument(
        "--model", metavar="MODEL", help=say(t("the model printed on the unit (if it cannot tell)"))
    )
    recover.add_argument(
        "--hw-rev",
        metavar="REV",
        help=say(t("the hardware revision printed on the unit (when it cannot tell)")),
    )
    add_device_arguments(recover)
    add_trust_argument(recover)
    add_history_arguments(recover)
    add_yes_argument(recover)
    recover.set_defaults(func=_cmd_recover)

    rollback = subparsers.add_parser("rollback", help=say(t("return to the firmware in the other slot")))
    add_device_arguments(rollback)
    add_history_arguments(rollback)
    add_yes_argument(rollback)
    add_addresses_argument(rollback)  # rollback --all of a pack on an RS485 bus
    rollback.add_argument(
        "--all",
        action="store_true",
        help=say(t("return every node of the pack on this CAN bus to its previous firmware (all or none)")),
    )
    rollback.set_defaults(func=_cmd_rollback)
