"""The flash and the bootloader: NOR flash with faults, MCUboot images, boot state, swap, trailer.

The bottom layer of the sim: what survives a power cut. It knows neither the device model above
it nor any protocol.
"""
