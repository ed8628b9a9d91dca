"""CAN bus tooling beside the UDS client: bus logs, and live data decoded with a DBC.

A BMS on a vehicle or industrial bus talks all the time, not only when a tester asks: it broadcasts
pack values and cell voltages in cyclic frames a DBC file describes. This package records those
frames to the log formats technicians already exchange (python-can's writers: candump ``.log``,
Vector ``.asc``/``.blf``, PEAK ``.trc``, ``.csv``), and turns them into the same
:class:`~bmsflasher.core.types.PackTelemetry` the live view shows, using cantools and a small JSON
map that says which signal means what. It only listens: nothing here transmits a frame.

Layering: beside ``protocols`` (it opens adapters through ``links.can``), below ``procedure``.
"""
