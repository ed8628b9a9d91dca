"""Coverage-guided fuzz targets (atheris / libFuzzer) for the parsers that meet hostile bytes.

Run as its own process, because libFuzzer owns the process and exits when done::

    python tests/reliability/rel_atheris_target.py TARGET -runs=20000 -max_total_time=60

Targets: ``smp-client`` (serial frame decoder + response decoder), ``uds-client`` (every UDS
response decoder), ``smp-server`` (the virtual BMS's SMP request handler), ``package`` (package
container + manifest + image verification). A project error (``BmsFlasherError``) is the expected
answer to garbage; any other exception is a crash that libFuzzer reports with a non-zero exit.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports():
    from bmsflasher.core.errors import BmsFlasherError
    from bmsflasher.core.resources import resource_path
    from bmsflasher.core.types import FirmwareVersion
    from bmsflasher.firmware.keys import Keyring, load_public_key_file
    from bmsflasher.firmware.policy import DeviceFacts, verify_package
    from bmsflasher.protocols.smp.codec import decode_response
    from bmsflasher.protocols.smp.framing import FrameDecoder
    from bmsflasher.protocols.uds import codec as uds_codec


def smp_client(data: bytes) -> None:
    decoder = FrameDecoder()
    for message in decoder.feed(data):
        expect_project_errors(lambda m=message: decode_response(m))
    expect_project_errors(lambda: decode_response(data))


UDS_DECODERS: list[Callable[[bytes], object]] = [
    uds_codec.device_mode,
    uds_codec.slots,
    uds_codec.transport_caps,
    uds_codec.compression_methods,
    uds_codec.upload_status,
    uds_codec.pack_values,
    uds_codec.cells,
    uds_codec.temperatures,
    uds_codec.balancing,
    uds_codec.config_schema,
    uds_codec.dtc_texts,
    uds_codec.self_test,
]


def uds_client(data: bytes) -> None:
    if not data:
        return
    decoder = UDS_DECODERS[data[0] % len(UDS_DECODERS)]
    expect_project_errors(lambda: decoder(data[1:]))


_SERVER: list[object] = []


def smp_server(data: bytes) -> None:
    if not _SERVER:
        from bmsflasher.sim.device.virtual_bms import VirtualBms
        from bmsflasher.sim.options import SimOptions
        from bmsflasher.sim.smp.server import SmpServer

        device = VirtualBms.create(SimOptions(erase_time_s_per_sector=0.0, time_scale=0.0))
        _SERVER.append(SmpServer(device))
    server = _SERVER[0]
    server.handle(data)  # type: ignore[attr-defined]


_KEYRING: list[Keyring] = []


def package(data: bytes) -> None:
    if not _KEYRING:
        keyring = Keyring()
        keyring.add(load_public_key_file(resource_path("demo", "demo-key.pub.pem")), "demo")
        _KEYRING.append(keyring)
    facts = DeviceFacts(
        model="VBMS-16",
        hardware_revision="C",
        security_counter=1,
        bootloader_version=FirmwareVersion(2, 1, 0),
    )
    expect_project_errors(lambda: verify_package(data, _KEYRING[0], facts))


def expect_project_errors(call: Callable[[], object]) -> None:
    with contextlib.suppress(BmsFlasherError):
        call()


TARGETS: dict[str, Callable[[bytes], None]] = {
    "smp-client": smp_client,
    "uds-client": uds_client,
    "smp-server": smp_server,
    "package": package,
}


def main() -> None:
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
