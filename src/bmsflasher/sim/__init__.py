"""The virtual BMS: a simulated smart BMS with dual-bank flash and an MCUboot-style bootloader.

One subpackage per layer; a layer may import the ones below it, never those above (import-linter
contract "the virtual BMS's own layers" in ``pyproject.toml``):

* ``demo_bench`` - the demo setup shared by ``make demo`` and ``make demo-cli``;
* ``wire`` - what the tool opens (pty or loopback TCP serial port, UART, CAN bus, slcan adapter)
  and the front-ends;
* ``uds`` | ``smp`` - the protocol servers;
* ``device`` - the device model, :class:`~bmsflasher.sim.device.virtual_bms.VirtualBms`;
* ``flash`` - flash memory, images, boot state and the bootloader;
* ``errors``, ``options`` - the leaves every layer shares.

Contract: ``docs/design/sim-api.md``; user guide: ``docs/virtual-bms.md``. This package never
imports the tool's client code, and its ``__init__`` modules import nothing (the pty modules load
only where a front-end starts).
"""
