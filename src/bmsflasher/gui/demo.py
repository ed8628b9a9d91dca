"""Demo mode for the GUI: the shared demo bench of the virtual BMS.

``bmsflasher gui --demo`` and ``bmsflasher demo`` start the same setup, built once in
:mod:`bmsflasher.sim.demo_bench` (virtual BMS on a pty, link settings, demo key and packages,
work folders). The GUI only adapts it to a window (``gui/app.py``); these are the names it uses.
"""

from __future__ import annotations

from bmsflasher.sim.demo_bench import (
    DEMO_BAUD,
    DemoBench,
    DemoScenario,
    DemoUnavailableError,
    check_demo_supported,
)

__all__ = ["DEMO_BAUD", "DemoBench", "DemoScenario", "DemoUnavailableError", "check_demo_supported"]
