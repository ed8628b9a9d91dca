"""The wire: what the tool opens, and the front-ends that put a device's server on it.

The OS objects a real device would appear as (a pseudo-terminal serial port with a paced, faulty
UART behind it, or where there are no ptys a loopback TCP socket pyserial opens as
``socket://127.0.0.1:PORT``; an emulated slcan USB-CAN adapter; the shared CAN bus timeline) and
the front-ends that wire one device model and its protocol server (:mod:`bmsflasher.sim.uds`,
:mod:`bmsflasher.sim.smp`) to them. Top layer of the sim: nothing below imports it.

This ``__init__`` imports nothing: the pty modules need POSIX ``termios``, and importing the
package must stay possible where they cannot load (Windows, where ``tcp_serial`` serves instead).
"""
