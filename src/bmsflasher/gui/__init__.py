"""The desktop application (PySide6 + pyqtgraph): the only layer that imports Qt.

The package itself imports no Qt, so ``bmsflasher`` commands can read the GUI's options without
loading it; :mod:`bmsflasher.gui.app` is the entry point.
"""
