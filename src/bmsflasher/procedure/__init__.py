"""The update procedure: preconditions, backup, transfer, reboot, self-test, rollback, journal.

Public API (the CLI, the GUI and tests use only these names):

* :func:`open_target` — connect to a device from :class:`~bmsflasher.core.types.LinkSettings`.
* :class:`UpdateProcedure` / :func:`run_update` with :class:`UpdateOptions` → :class:`UpdateResult`;
  :class:`State` is the state machine (``TRANSITIONS`` in :mod:`.states`).
* :func:`load_package`, :func:`package_loader`, :func:`build_keyring` — verified packages.
* :func:`take_backup`, :func:`restore_snapshot`, :func:`diff_snapshots` — configuration.
* :func:`manual_rollback`, :func:`ensure_running` — rollback; :func:`manual_rollback_recorded` also
  writes the service history (the CLI and the GUI share it).
* :func:`recover` — emergency recovery; :func:`recover_recorded` with the service history.
* :func:`profile_for_model` — data-driven limits; :func:`advice` — the troubleshooting table.

See docs/update-procedure.md.
"""

from bmsflasher.procedure.backup import (
    ConfigDiff,
    RestoreResult,
    diff_snapshots,
    restore_snapshot,
    take_backup,
)
from bmsflasher.procedure.connect import load_security_key, open_target
from bmsflasher.procedure.engine import Approval, TargetFactory, UpdateOptions, UpdateProcedure, run_update
from bmsflasher.procedure.journal import Journal, journal_dir
from bmsflasher.procedure.package_facts import PackageFacts
from bmsflasher.procedure.package_loading import (
    UpdatePackage,
    build_keyring,
    load_package,
    load_package_bytes,
    package_loader,
    user_keyring_dir,
)
from bmsflasher.procedure.preconditions import OVERRIDABLE, PreconditionReport
from bmsflasher.procedure.profiles import DeviceProfile, profile_for_model
from bmsflasher.procedure.recovery import RecoveryReport, recover, recover_recorded
from bmsflasher.procedure.results import (
    EXIT_FAILED,
    EXIT_REFUSED,
    EXIT_ROLLED_BACK,
    EXIT_UPDATED,
    UpdateResult,
)
from bmsflasher.procedure.rollback import (
    RollbackReport,
    ensure_running,
    manual_rollback,
    manual_rollback_recorded,
)
from bmsflasher.procedure.selftest import SelfTestReport
from bmsflasher.procedure.states import TRANSITIONS, State
from bmsflasher.procedure.troubleshooting import Advice, FailureKind, advice, all_advice

__all__ = [
    "EXIT_FAILED",
    "EXIT_REFUSED",
    "EXIT_ROLLED_BACK",
    "EXIT_UPDATED",
    "OVERRIDABLE",
    "TRANSITIONS",
    "Advice",
    "Approval",
    "ConfigDiff",
    "DeviceProfile",
    "FailureKind",
    "Journal",
    "PackageFacts",
    "PreconditionReport",
    "RecoveryReport",
    "RestoreResult",
    "RollbackReport",
    "SelfTestReport",
    "State",
    "TargetFactory",
    "UpdateOptions",
    "UpdatePackage",
    "UpdateProcedure",
    "UpdateResult",
    "advice",
    "all_advice",
    "build_keyring",
    "diff_snapshots",
    "ensure_running",
    "journal_dir",
    "load_package",
    "load_package_bytes",
    "load_security_key",
    "manual_rollback",
    "manual_rollback_recorded",
    "open_target",
    "package_loader",
    "profile_for_model",
    "recover",
    "recover_recorded",
    "restore_snapshot",
    "run_update",
    "take_backup",
    "user_keyring_dir",
]
