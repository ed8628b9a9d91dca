"""The probe table: protocol × baud/bitrate × address, ordered by likelihood, last good setting first.

Ordering is what makes a scan fast: most BMS run at the first rate tried, and a remembered setting
turns a cold sweep into a single handshake. The table is plain data so the CLI can print it
(``bmsflasher scan --plan``) and tests can check its order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t

DEFAULT_BAUDS: Final[tuple[int, ...]] = (115200, 921600, 460800, 230400, 57600, 38400, 19200, 9600)
"""Serial rates in order of how often Zephyr/MCUboot BMS ship with them (115200 is Zephyr's default)."""

DEFAULT_BITRATES: Final[tuple[int, ...]] = (500000, 250000, 1000000, 125000)
"""CAN bitrates in order of use in EV/industrial battery buses."""

SLCAN_BITRATES: Final[frozenset[int]] = frozenset(
    {10000, 20000, 50000, 83300, 100000, 125000, 250000, 500000, 750000, 1000000}
)
"""Bitrates the slcan ``Sn`` command can select (python-can ``slcanBus._BITRATES``)."""

MAX_SERIAL_BAUD: Final = 12_000_000


@dataclass(frozen=True, slots=True)
class UdsAddressing:
    """How to reach every UDS server on a bus at once, and how to talk to one of them afterwards.

    Attributes:
        name: shown in results and the plan.
        functional_id: CAN ID of functional (1-to-n) requests.
        extended_id: 29-bit identifiers.
        response_ids: the CAN IDs servers answer from.
    """

    name: str
    functional_id: int
    extended_id: bool
    response_ids: tuple[int, ...]

    def request_id_for(self, response_id: int) -> int:
        """The physical request ID that pairs with a server's response ID.

        11-bit (ISO 15765-4): request = response − 8 (0x7E8 ↔ 0x7E0). 29-bit normal fixed
        (ISO 15765-2 §10.3.6): 0x18DA<TA><SA> with the tester and server addresses swapped.
        """
        if not self.extended_id:
            return response_id - 8
        server = response_id & 0xFF
        tester = (response_id >> 8) & 0xFF
        return (response_id & 0x1FFF0000) | (server << 8) | tester


OBD_11BIT: Final = UdsAddressing(
    name="11-bit normal (0x7DF / 0x7E0-0x7E7)",
    functional_id=0x7DF,
    extended_id=False,
    response_ids=tuple(range(0x7E8, 0x7F0)),
)
NORMAL_FIXED_29BIT: Final = UdsAddressing(
    name="29-bit normal fixed (0x18DB33F1 / 0x18DAxxF1)",
    functional_id=0x18DB33F1,
    extended_id=True,
    response_ids=tuple(0x18DAF100 | server for server in range(0x100)),
)
DEFAULT_ADDRESSING: Final[tuple[UdsAddressing, ...]] = (OBD_11BIT, NORMAL_FIXED_29BIT)


@dataclass(frozen=True, slots=True)
class SerialStep:
    """One serial attempt: open at ``baud`` and run the SMP handshake."""

    baud: int
    protocol: str = "smp"
    from_cache: bool = False

    def describe(self) -> str:
        if self.from_cache:
            return t(
                "{protocol} at {baud} baud (last good setting)",
                protocol=self.protocol.upper(),
                baud=self.baud,
            )
        return t("{protocol} at {baud} baud", protocol=self.protocol.upper(), baud=self.baud)


@dataclass(frozen=True, slots=True)
class CanStep:
    """One CAN attempt at ``bitrate``: listen silently for traffic, or ask every UDS server to answer."""

    bitrate: int
    listen_only: bool
    addressing: tuple[UdsAddressing, ...] = DEFAULT_ADDRESSING
    from_cache: bool = False
    expected_nodes: int | None = None
    """How many servers answered last time (remembered steps only): once they have, stop waiting."""

    def describe(self) -> str:
        what = t("listen for traffic") if self.listen_only else t("UDS TesterPresent, functional")
        if self.from_cache:
            return t("{what} at {bitrate} bit/s (last good setting)", what=what, bitrate=self.bitrate)
        return t("{what} at {bitrate} bit/s", what=what, bitrate=self.bitrate)


def check_bauds(bauds: Sequence[int]) -> tuple[int, ...]:
    """Validate a user's baud list (positive, plausible, no repeats kept)."""
    if not bauds:
        raise ConfigValidationError(t("the baud list is empty; give at least one rate such as 115200"))
    for baud in bauds:
        if not 50 <= baud <= MAX_SERIAL_BAUD:
            raise ConfigValidationError(
                t(
                    "baud rate {baud} is outside 50…{max_baud}",
                    baud=baud,
                    max_baud=MAX_SERIAL_BAUD,
                )
            )
    return tuple(dict.fromkeys(bauds))


def check_bitrates(bitrates: Sequence[int], *, slcan: bool = False) -> tuple[int, ...]:
    """Validate a user's bitrate list; slcan adapters only offer the ``Sn`` rates."""
    if not bitrates:
        raise ConfigValidationError(t("the bitrate list is empty; give at least one rate such as 500000"))
    for bitrate in bitrates:
        if not 5000 <= bitrate <= 1_000_000:
            raise ConfigValidationError(
                t("CAN bitrate {bitrate} is outside 5000…1000000 bit/s", bitrate=bitrate)
            )
        if slcan and bitrate not in SLCAN_BITRATES:
            allowed = ", ".join(str(rate) for rate in sorted(SLCAN_BITRATES))
            raise ConfigValidationError(
                t(
                    "slcan adapters cannot run at {bitrate} bit/s; use one of {allowed}",
                    bitrate=bitrate,
                    allowed=allowed,
                )
            )
    return tuple(dict.fromkeys(bitrates))


def plan_serial(
    bauds: Sequence[int], cached_baud: int | None, *, baud_matters: bool = True
) -> list[SerialStep]:
    """Order the serial attempts: the remembered baud first, then the list; one rate for USB CDC."""
    ordered = list(check_bauds(bauds))
    steps: list[SerialStep] = []
    if cached_baud is not None:
        steps.append(SerialStep(baud=cached_baud, from_cache=True))
        ordered = [baud for baud in ordered if baud != cached_baud]
    steps.extend(SerialStep(baud=baud) for baud in ordered)
    if not baud_matters:
        return steps[:1]
    return steps


def plan_can(
    bitrates: Sequence[int],
    cached_bitrate: int | None,
    *,
    can_set_bitrate: bool = True,
    fixed_bitrate: int | None = None,
    supports_listen_only: bool = False,
    addressing: tuple[UdsAddressing, ...] = DEFAULT_ADDRESSING,
    cached_nodes: int | None = None,
) -> list[CanStep]:
    """Order the CAN attempts.

    1. The remembered bitrate, actively (one request: the warm path).
    2. Every bitrate in listen-only mode, when the adapter has one: a bitrate that carries valid
       traffic is found without sending a single frame onto a bus that may be running at another rate.
    3. Every bitrate actively, for a quiet bus (a BMS that only answers a tester).

    The prober skips step 3 rates other than the one step 2 found traffic at.
    """
    if not can_set_bitrate:
        rate = fixed_bitrate if fixed_bitrate is not None else 0
        return [CanStep(bitrate=rate, listen_only=False, addressing=addressing)]
    ordered = list(dict.fromkeys(bitrates))
    steps: list[CanStep] = []
    if cached_bitrate is not None:
        steps.append(
            CanStep(
                bitrate=cached_bitrate,
                listen_only=False,
                addressing=addressing,
                from_cache=True,
                expected_nodes=cached_nodes,
            )
        )
    if supports_listen_only:
        steps.extend(CanStep(bitrate=rate, listen_only=True, addressing=addressing) for rate in ordered)
    steps.extend(
        CanStep(bitrate=rate, listen_only=False, addressing=addressing)
        for rate in ordered
        if rate != cached_bitrate
    )
    return steps
