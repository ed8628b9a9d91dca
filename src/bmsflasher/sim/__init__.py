"""The virtual BMS: a simulated smart BMS with dual-bank flash and an MCUboot-style bootloader.

Start at :class:`bmsflasher.sim.device.virtual_bms.VirtualBms` (contract: ``docs/design/sim-api.md``, user
guide: ``docs/virtual-bms.md``). This package never imports the tool's client code.
"""
