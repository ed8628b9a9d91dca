"""The device model: one virtual BMS as its firmware sees itself.

:class:`~bmsflasher.sim.device.virtual_bms.VirtualBms` is the API the protocol servers drive; the
pack physics, the firmware's measurement and protection logic, the configuration, the DTC memory,
the sim behaviours and the upload/slot logic sit beside it. It stores everything in the flash
(:mod:`bmsflasher.sim.flash`) and knows no protocol.
"""
