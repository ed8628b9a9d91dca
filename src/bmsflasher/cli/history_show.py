"""``history show SESSION_ID``: one session in full, with its signers and authenticated technician.

The list (``history``) fits one line per session; an auditor asking "who put this firmware on this
battery, under whose signature" needs the session's steps, its signers (key id, certificate subject
and fingerprint, ``records/signers.py``) and its authenticated technicians
(``records/technicians.py``) without rendering a report.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.table import Table

from bmsflasher.cli.console import make_console, plain, print_json, say
from bmsflasher.core.display_text import visible
from bmsflasher.core.errors import StorageError
from bmsflasher.core.i18n import Text, t
from bmsflasher.core.names import outcome_name, session_kind_name, step_name
from bmsflasher.records import RecordsDb, SessionDetail, SessionRecord
from bmsflasher.records.db import default_db_path
from bmsflasher.records.signers import recorded_signers
from bmsflasher.records.technicians import recorded_technicians


def _history_path(db_arg: Path | None) -> Path:
    path = default_db_path() if db_arg is None else Path(db_arg)
    if not path.exists():
        raise StorageError(
            t("the service history {path} does not exist", path=path), hint=t("Check the --db path.")
        )
    return path


def show_json(detail: SessionDetail, session: dict[str, Any]) -> dict[str, Any]:
    """``history show --json``: the session, its signers, its technicians and its steps."""
    return {
        "session": session,
        "signers": [signer.to_json() for signer in recorded_signers(detail.session)],
        "technicians": [
            {"subject": tech.subject, "fingerprint": tech.fingerprint}
            for tech in recorded_technicians(detail.steps)
        ],
        "steps": [
            {"at": step.at.isoformat(), "step": step.step, "ok": step.ok, "detail": step.detail}
            for step in detail.steps
        ],
    }


def trust_lines(detail: SessionDetail) -> list[Text]:
    """One sentence per signer (key id, certificate) and per authenticated technician.

    Sentences, not a table: a 64-digit fingerprint folded over two table lines can no longer be
    compared with the certificate's, or found by a script.
    """
    roles = {"manifest": t("Release manifest signer"), "image": t("Image signer")}
    lines: list[Text] = []
    for signer in recorded_signers(detail.session):
        who = roles.get(signer.role, t("{role} signer", role=signer.role))
        if signer.certificate_subject is None:
            lines.append(
                t("{who}: key {key_id}, a plain key (no certificate).", who=who, key_id=signer.key_id)
            )
            continue
        lines.append(
            t(
                "{who}: key {key_id}, certificate {subject} (SHA-256 {fingerprint}).",
                who=who,
                key_id=signer.key_id,
                subject=signer.certificate_subject,
                fingerprint=signer.certificate_fingerprint or "?",
            )
        )
    lines += [
        t(
            "Technician authenticated by the device: {subject} (certificate SHA-256 {fingerprint}).",
            subject=tech.subject,
            fingerprint=tech.fingerprint,
        )
        for tech in recorded_technicians(detail.steps)
    ]
    return lines


def _steps_table(detail: SessionDetail) -> Table:
    table = Table(title=say(t("Procedure steps")), title_justify="left")
    for column in (t("time"), t("step"), t("result"), t("detail")):
        table.add_column(say(column))
    for step in detail.steps:
        state = t("started") if step.ok is None else (t("done") if step.ok else t("FAILED"))
        when = step.at.astimezone().strftime("%H:%M:%S")
        table.add_row(when, plain(say(step_name(step.step))), say(state), plain(step.detail))
    return table


def run_show(args: argparse.Namespace, session_json: Callable[[SessionRecord], dict[str, Any]]) -> int:
    """Print one session: summary line, signers and technicians, steps (or all of it as JSON)."""
    with RecordsDb.open(_history_path(getattr(args, "db", None)), read_only=True) as db:
        detail = db.session_detail(args.session_id)
    if getattr(args, "json", False):
        print_json(show_json(detail, session_json(detail.session)), ensure_ascii=False)
        return 0
    session = detail.session
    console = make_console()
    console.print(
        plain(
            say(
                t(
                    "Session {id}: {kind} of {serial}, outcome {outcome}, firmware {before} → {after}, "
                    "operator {operator}.",
                    id=session.id,
                    kind=session_kind_name(session.kind),
                    serial=session.serial,
                    outcome=outcome_name(session.outcome) if session.outcome else "?",
                    before=session.from_version or "?",
                    after=session.to_version or "?",
                    operator=session.operator or "?",
                )
            )
        )
    )
    for line in trust_lines(detail):
        print(visible(say(line)))  # plain print: no wrapping inside a fingerprint
    if detail.steps:
        console.print(_steps_table(detail))
    return 0
