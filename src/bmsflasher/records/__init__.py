"""Service records: the SQLite history, its hash-chained audit trail, config backups and reports.

The procedure writes through :class:`RecordsDb`; the GUI and the ``history``/``report`` commands
read through it. Reports are rendered by :func:`bmsflasher.records.reports.render_report`.
"""

from bmsflasher.records.db import DB_FILENAME, RecordsDb, default_db_path
from bmsflasher.records.errors import RecordNotFoundError
from bmsflasher.records.models import (
    PARENT_SESSION_DETAIL,
    BackupRecord,
    ChainReport,
    DeviceRecord,
    MeasurementRecord,
    SessionDetail,
    SessionRecord,
    StepRecord,
    TelemetryRecord,
)
from bmsflasher.records.schema import SCHEMA_VERSION

__all__ = [
    "DB_FILENAME",
    "PARENT_SESSION_DETAIL",
    "SCHEMA_VERSION",
    "BackupRecord",
    "ChainReport",
    "DeviceRecord",
    "MeasurementRecord",
    "RecordNotFoundError",
    "RecordsDb",
    "SessionDetail",
    "SessionRecord",
    "StepRecord",
    "TelemetryRecord",
    "default_db_path",
]
