"""One battery module's Modbus application layer: a request PDU in, the response PDU out.

:mod:`~bmsflasher.sim.modbus.module` is the seam the RS485 bus and the Modbus TCP gateway of
:mod:`bmsflasher.sim.wire` call (no framing, no timing here); it answers the SunSpec chain at 40000
(:mod:`~bmsflasher.sim.modbus.sunspec_image`, encoded from the SunSpec Alliance's model JSON) and the
vendor block at 0xE000 (:mod:`~bmsflasher.sim.modbus.update_block`, :mod:`~bmsflasher.sim.modbus.records`)
that ``docs/protocols/modbus.md`` publishes. PDUs are parsed by hand from the Modbus Application
Protocol specification (:mod:`~bmsflasher.sim.modbus.pdu`), never with the tool's client code.
"""
