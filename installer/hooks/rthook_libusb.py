"""PyInstaller run-time hook (Windows): let pyusb find the libusb DLL shipped by ``libusb_package``.

python-can's ``gs_usb`` backend (candleLight adapters bound to WinUSB with Zadig) goes through
pyusb, which looks for ``libusb-1.0.dll`` on ``PATH`` only. The DLL sits inside the bundle's
``libusb_package`` folder, so that folder is put in front of ``PATH`` before any user code runs.
"""

import os
import sys
from pathlib import Path

_folder = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "libusb_package"
if _folder.is_dir():
    os.environ["PATH"] = str(_folder) + os.pathsep + os.environ.get("PATH", "")
    if hasattr(os, "add_dll_directory"):
        os.add_dll_directory(str(_folder))
