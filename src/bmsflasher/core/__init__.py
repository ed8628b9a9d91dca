"""Pure domain layer: types, events, errors and the protocol-neutral target interface.

Nothing here imports Qt or does I/O, so every other layer (CLI, GUI, procedure, protocols, sim)
can depend on it without dragging in hardware libraries.
"""
