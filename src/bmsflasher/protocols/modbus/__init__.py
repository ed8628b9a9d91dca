"""Modbus RTU / Modbus TCP: battery modules of energy-storage racks (``docs/protocols/modbus.md``).

``target`` is the target; ``session`` the conversation (pymodbus framing over the tool's serial
link); ``sunspec`` and ``live_data`` the SunSpec live data; ``vendor_map``, ``module_access`` and
``transfer`` the vendor block and the image transfer.
"""
