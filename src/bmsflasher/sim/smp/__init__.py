"""The virtual BMS's MCUmgr SMP server: the serial transport's framing and one module per group.

:mod:`~bmsflasher.sim.smp.server` decodes a request, dispatches it to a group handler (OS, image,
settings, the BMS vendor group) and encodes the answer; :mod:`~bmsflasher.sim.smp.transport`
assembles frames from the serial byte stream. The wire (:mod:`bmsflasher.sim.wire`) carries both.
"""
