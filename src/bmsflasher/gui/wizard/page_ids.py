"""Page ids of the update wizard, in the order the procedure reaches them."""

from __future__ import annotations

from typing import Final

PACKAGE: Final = 0
VERIFY: Final = 1
PRECONDITIONS: Final = 2
BACKUP: Final = 3
TRANSFER: Final = 4
REBOOT: Final = 5
SELF_TEST: Final = 6
RESULT: Final = 7

PAGE_OF_STEP: Final = {
    "verify_package": BACKUP,
    "identify": BACKUP,
    "preconditions": BACKUP,
    "backup": BACKUP,
    "transfer": TRANSFER,
    "reboot": REBOOT,
    "self_test": SELF_TEST,
    "confirm": SELF_TEST,
    "config_check": SELF_TEST,
    "rollback": SELF_TEST,
    "config_restore": SELF_TEST,
}
"""Which page shows a running procedure step (the wizard moves forward as the steps do)."""
