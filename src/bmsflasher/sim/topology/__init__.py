"""The virtual pack: a BCU, BMCs and BMUs, each a whole virtual BMS, on one bus.

``bmsflasher sim --topology bcu=1,bmc=2,bmu=12`` builds it (``spec``: which nodes, their
addresses, models, serial numbers and state files), lets the nodes talk to each other on the bus
(``status_frames``, ``peers``, ``pack_link``: cyclic status frames, what each node heard, the
BCU's pack values and version checks, ``pack_node``: the node device) and serves it behind the
emulated slcan adapter (``can_pack``) or on the RS485 rack (``rack_pack``).
"""
