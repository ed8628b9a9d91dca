"""The virtual BMS's UDS server (ISO 14229-1 on ISO-TP, ISO 15765-2): one node's diagnostic stack.

:mod:`~bmsflasher.sim.uds.server` serves requests; one module per ISO 14229-1 functional unit
holds the service handlers. It drives a device through the ``UdsDevice`` protocol
(:mod:`~bmsflasher.sim.uds.server_config`) and reaches the CAN bus through ``CanMedium``
(:mod:`~bmsflasher.sim.uds.bus_transport`), so it imports neither the wire above it nor the
device model's class.
"""
