"""Drop collected shared libraries that only files removed from the bundle needed.

Removing a Qt plug-in from the bundle (say the GTK3 theme) leaves behind the system libraries
PyInstaller collected for it (GTK, cairo, pango...). This walks the link-time dependencies of what
is kept and drops a library only when it was a dependency of a removed file *and* nothing kept
reaches it. Libraries loaded with ``ctypes`` are never candidates, because no removed file links
them, so nothing that code loads by name can disappear.

Runs inside the PyInstaller spec (it needs ``PyInstaller.depend.bindepend``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from pathlib import PurePath, PurePosixPath

TocEntry = tuple[str, str, str]


def _base(name: str) -> str:
    """File name of a TOC destination or linker reference (slash or backslash separated)."""
    return PurePath(name.replace("\\", "/")).name


def _linked_names(source: str) -> set[str]:
    from PyInstaller.depend import bindepend

    return {_base(name) for name, _path in bindepend.get_imports(source)}


def prune_binaries(
    binaries: Iterable[TocEntry], is_excluded: Callable[[str], bool]
) -> tuple[list[TocEntry], list[str]]:
    """Return (binaries to keep, destination names dropped)."""
    everything = list(binaries)
    # PyInstaller's SYMLINK entries (dest, link target relative to dest's folder, "SYMLINK") point
    # at other entries: they are kept only while their target is.
    symlinks = [entry for entry in everything if entry[2] == "SYMLINK"]
    entries = [entry for entry in everything if entry[2] != "SYMLINK"]
    removed = [entry for entry in entries if is_excluded(entry[0])]
    kept = [entry for entry in entries if not is_excluded(entry[0])]
    by_name: dict[str, TocEntry] = {}
    for entry in kept:
        by_name.setdefault(_base(entry[0]), entry)
    candidates: set[str] = set()
    for entry in removed:
        candidates |= _linked_names(entry[1]) & set(by_name)
    needed: set[str] = set()
    pending = [entry for entry in kept if _base(entry[0]) not in candidates]
    seen: set[str] = set()
    while pending:
        entry = pending.pop()
        if entry[1] in seen:
            continue
        seen.add(entry[1])
        for name in _linked_names(entry[1]) & set(by_name):
            if name in candidates and name not in needed:
                needed.add(name)
                pending.append(by_name[name])
            elif name not in candidates:
                pending.append(by_name[name])
    dropped = candidates - needed
    result = [entry for entry in kept if _base(entry[0]) not in dropped]
    present = {_normalise(entry[0]) for entry in result}
    for link in symlinks:
        target = _normalise(str(PurePosixPath(_normalise(link[0])).parent / _normalise(link[1])))
        if target in present and not is_excluded(link[0]):
            result.append(link)
        else:
            dropped.add(link[0])
    return result, sorted(e[0] for e in removed) + sorted(dropped)


def drop_dangling_symlinks(
    binaries: Iterable[TocEntry], datas: Iterable[TocEntry]
) -> tuple[list[TocEntry], list[TocEntry], list[str]]:
    """Remove SYMLINK entries (from either list) whose target is in neither list any more."""
    binaries, datas = list(binaries), list(datas)
    present = {_normalise(e[0]) for e in (*binaries, *datas) if e[2] != "SYMLINK"}
    dropped: list[str] = []

    def keep(entry: TocEntry) -> bool:
        if entry[2] != "SYMLINK":
            return True
        target = _normalise(str(PurePosixPath(_normalise(entry[0])).parent / _normalise(entry[1])))
        if target in present:
            return True
        dropped.append(entry[0])
        return False

    return [e for e in binaries if keep(e)], [e for e in datas if keep(e)], dropped


def _normalise(path: str) -> str:
    """A TOC path with forward slashes and no ``.``/``..`` parts, for comparing destinations."""
    return posixpath.normpath(path.replace("\\", "/"))
