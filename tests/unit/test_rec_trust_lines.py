"""The service report (HTML, PDF) and ``history show`` name the firmware's signers and the technician.

A session records its package signers in its details (``package_signers``: key id, certificate
subject and fingerprint) and every certificate unlock as a ``security_access`` step. The report's
"Signers and technician" table and ``history show``'s lines draw them; the fingerprints of the
signers appear nowhere else in either output, so these tests go red when the drawing is removed.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from bmsflasher.cli.main import main
from bmsflasher.core.target import SecurityUnlock
from bmsflasher.procedure.unlock_records import UNLOCK_STEP
from bmsflasher.records import RecordsDb, StepRecord
from bmsflasher.records.reports import render_report
from bmsflasher.records.signers import SIGNERS_DETAIL, RecordedSigner
from bmsflasher.records.technicians import UNLOCK_STEP as READ_STEP
from bmsflasher.records.technicians import RecordedTechnician, recorded_technicians

MANIFEST_KEY = "a1" * 32
IMAGE_KEY = "b2" * 32
SIGNER_FP = "c3" * 32
TECH_FP = "d4" * 32
SIGNER = "CN=Acme release,O=Acme"
TECHNICIAN = "CN=Anna Technician,O=Acme workshop"


@pytest.fixture
def history(tmp_path: Path, data_home: Path) -> tuple[Path, int]:
    """One update session signed under a certificate (manifest) and a plain key (image), one unlock."""
    path = tmp_path / "history.sqlite3"
    signers = [
        RecordedSigner("manifest", MANIFEST_KEY, SIGNER, SIGNER_FP).to_json(),
        RecordedSigner("image", IMAGE_KEY).to_json(),
    ]
    unlock = SecurityUnlock("SN-7", "the firmware download", datetime(2026, 12, 6, 9, tzinfo=UTC).timestamp(),
                            TECHNICIAN, TECH_FP)  # fmt: skip
    with RecordsDb.open(path) as db:
        db.use_sealer(None)
        sid = db.start_session("SN-7", "update", "pytest", "ee" * 32, {SIGNERS_DETAIL: signers})
        db.log_step(sid, UNLOCK_STEP, True, unlock.sentence())
        db.finish_session(sid, "updated", "1.0.0", "1.1.0")
    return path, sid


def _section(html_text: str, heading: str) -> str:
    """The HTML from an <h2> heading to the next one."""
    start = html_text.index(f"<h2>{heading}</h2>")
    end = html_text.find("<h2>", start + 4)
    return html_text[start : end if end > 0 else None]


def test_the_technicians_are_read_back_from_the_unlock_sentence() -> None:
    assert READ_STEP == UNLOCK_STEP
    unlock = SecurityUnlock("SN-7", "a configuration write", 0.0, TECHNICIAN, TECH_FP)
    seed_key = SecurityUnlock("SN-7", "a configuration write", 0.0)

    steps = [StepRecord(i, 1, datetime.now(UTC), UNLOCK_STEP, True, s.sentence()) for i, s in
             enumerate((unlock, seed_key, unlock))]  # fmt: skip
    assert recorded_technicians(steps) == (RecordedTechnician(TECHNICIAN, TECH_FP),)


def test_the_html_report_names_the_signers_and_the_technician(
    history: tuple[Path, int], tmp_path: Path
) -> None:
    path, sid = history
    with RecordsDb.open(path) as db:
        page = render_report(db, sid, "html", tmp_path / "r.html").read_text(encoding="utf-8")
        dutch = render_report(db, sid, "html", tmp_path / "r-nl.html", "nl").read_text(encoding="utf-8")
    trust = _section(page, "Signers and technician")
    for value in (
        MANIFEST_KEY,
        SIGNER,
        SIGNER_FP,
        IMAGE_KEY,
        "plain key (no certificate)",
        TECHNICIAN,
        TECH_FP,
    ):
        assert value in trust, value
    assert "Release manifest signer" in trust
    assert "Technician (authenticated by the device)" in trust
    assert SIGNER_FP in _section(dutch, "Ondertekenaars en technicus")
    assert page.count(SIGNER_FP) == 1  # not dumped again as raw JSON in the session details


def test_the_pdf_report_names_the_signers_and_the_technician(
    history: tuple[Path, int], tmp_path: Path
) -> None:
    path, sid = history
    with RecordsDb.open(path) as db:
        data = render_report(db, sid, "pdf", tmp_path / "r.pdf", "fr").read_bytes()
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    flat = re.sub(r"\s+", "", text)
    assert "Signataires et technicien" in text
    assert SIGNER_FP in flat  # long values may be wrapped inside their cell
    assert "CN=AcmeRelease,O=Acme".lower() in flat.lower()


def test_history_show_names_the_signers_and_the_technician(
    history: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    path, sid = history
    assert main(["--lang", "en", "history", "show", str(sid), "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Release manifest signer: key {MANIFEST_KEY}, certificate {SIGNER} (SHA-256 {SIGNER_FP})." in out
    assert f"Image signer: key {IMAGE_KEY}, a plain key (no certificate)." in out
    assert f"Technician authenticated by the device: {TECHNICIAN} (certificate SHA-256 {TECH_FP})." in out
    assert main(["history", "show", str(sid), "--db", str(path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["signers"][0]["certificate_fingerprint"] == SIGNER_FP
    assert payload["technicians"] == [{"subject": TECHNICIAN, "fingerprint": TECH_FP}]
    assert payload["session"]["id"] == sid
