"""Stop PySide6 from keeping the source text of every module imported after it (~14 MiB RSS).

PySide6 6.x hooks ``import``: for each module imported once Qt is loaded it asks whether the module
mentions "PySide6" (to support ``from __feature__ import snake_case``), and it asks with
``inspect.getsource``, which reads the whole file into :mod:`linecache` and leaves it there. The GUI
imports some 900 modules after Qt (pyqtgraph, numpy, the engine), so the process carried every line
of their source for its whole life: 14 MiB of resident memory and a third of the live view's Python
allocations (measured with ``tracemalloc``; see docs/performance.md).

:func:`limit` replaces that question with one that reads the file and forgets it, giving the same
answer (the file's text contains "PySide6" or not). The GUI never uses ``__feature__``, so even a
different answer could not change behaviour. Importing this module applies the fix, so it must be
imported before the heavy modules; ``app_model`` and ``app`` import it right after Qt.
"""

from __future__ import annotations

import linecache
import logging
import sys
from pathlib import Path
from types import ModuleType

import PySide6.QtCore  # noqa: F401 - loads shibokensupport, whose hook this module adjusts

_log = logging.getLogger(__name__)

_HOOK_MODULE = "shibokensupport.feature"
_HOOK_FUNCTION = "_mod_uses_pyside"


def module_mentions_pyside(module: ModuleType) -> bool:
    """Whether the module's source file contains "PySide6", read once and not cached.

    Same answer as PySide6's own check (``"PySide6" in inspect.getsource(module)``), which also
    says False when there is no readable source (built-in or compiled modules).
    """
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False
    try:
        return b"PySide6" in Path(path).read_bytes()
    except OSError:
        return False


def limit() -> bool:
    """Install the non-caching check; returns whether PySide6's hook was found and replaced."""
    hook = sys.modules.get(_HOOK_MODULE)
    current = getattr(hook, _HOOK_FUNCTION, None)
    if hook is None or current is None:
        _log.debug("PySide6 has no %s.%s; nothing to limit", _HOOK_MODULE, _HOOK_FUNCTION)
        return False
    if current is not module_mentions_pyside:
        setattr(hook, _HOOK_FUNCTION, module_mentions_pyside)
        linecache.clearcache()  # drop what the original check cached before this ran
    return True


limit()
