"""Refuse key files and keyring folders that another user of this computer could have changed.

A workshop laptop is shared: several technicians, a service account, sometimes a guest. A key that
sits where another account can write is a key that account chose, so before a single key is read,
every folder and file it comes from must pass the checks below (OpenSSH's ``StrictModes`` applies
the same rules to ``~/.ssh``):

* not writable by the group or by others (mode ``& 0o022 == 0``);
* owned by the user running bmsflasher, or by root (root can change anything anyway);
* inside a folder, no symbolic links at all: a link is how a file owned by someone else, or one in
  a world-writable place, gets into a folder that passes the first two checks.

A path the technician names on the command line (``--trust FILE``) may itself be a link: it is
followed and its target checked, since the technician chose it for this run. The user's keyring
folder, which is trusted on every run without being named, may not be a link.

The mode and owner checks are POSIX concepts and are skipped on Windows, where a user's profile
folder is private by its ACL and bmsflasher does not evaluate ACLs. The link check applies on every
system. bmsflasher's own installed resources (the demo keys) are exempt: an account that can
change them can change bmsflasher's code as well, so checking them would add nothing, and a
checkout made with ``umask 002`` would otherwise refuse its own demo.

Every refusal is one sentence naming the path and the command that fixes it.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t
from bmsflasher.core.resources import resources_dir
from bmsflasher.firmware.errors import KeyFileError

KEY_FILE_SUFFIX: Final = ".pem"
WRITABLE_BY_OTHERS: Final = stat.S_IWGRP | stat.S_IWOTH
ROOT_UID: Final = 0
POSIX_CHECKS: Final = sys.platform != "win32"
"""Mode and owner checks run on Linux and macOS; Windows relies on the profile folder's ACL."""


class UnsafeKeyPathError(KeyFileError):
    """A key file or keyring folder another account could have written (or a link to one)."""


def _user_name(uid: int) -> str:
    """The login name of ``uid`` for messages, or the number when it has none."""
    if sys.platform == "win32":
        return str(uid)
    import pwd  # POSIX only

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def is_installed_resource(path: Path) -> bool:
    """True for a file of bmsflasher's own installation (the shipped demo keys)."""
    try:
        shipped = resources_dir().resolve()
    except BmsFlasherError:
        return False
    try:
        return path.resolve().is_relative_to(shipped)
    except OSError:
        return False


def _describe(path: Path, is_folder: bool) -> str:
    """The subject that starts a refusal: 'The folder X' or 'The key file X'."""
    return t("The folder {path}", path=path) if is_folder else t("The key file {path}", path=path)


def check_not_writable_by_others(path: Path, *, follow_link: bool) -> None:
    """Refuse ``path`` when another account could change it: mode, owner, and (unless followed) link.

    Raises:
        UnsafeKeyPathError: the one-sentence refusal with its fix.
        KeyFileError: the path does not exist or cannot be examined.
    """
    try:
        status = path.stat() if follow_link else path.lstat()
    except FileNotFoundError as exc:
        raise KeyFileError(t("The key file {path} does not exist.", path=path)) from exc
    except OSError as exc:
        raise KeyFileError(
            t("{path} cannot be examined: {reason}.", path=path, reason=exc.strerror or exc)
        ) from exc
    quoted = shlex.quote(str(path))
    if stat.S_ISLNK(status.st_mode):
        raise UnsafeKeyPathError(
            t(
                "{path} is a symbolic link, and a link can bring in a key someone else controls; replace "
                'it with the file it points to (cp --remove-destination "$(readlink -f {quoted})" '
                "{quoted}).",
                path=path,
                quoted=quoted,
            )
        )
    if not (stat.S_ISREG(status.st_mode) or stat.S_ISDIR(status.st_mode)):
        return  # a device is refused by the reader; a pipe (--trust <(...)) comes from the user's shell
    if not POSIX_CHECKS or is_installed_resource(path):
        return
    if follow_link and path.is_symlink():
        path = path.resolve()  # name the file whose mode and owner are wrong
        quoted = shlex.quote(str(path))
    is_folder = stat.S_ISDIR(status.st_mode)
    what = _describe(path, is_folder)
    if status.st_mode & WRITABLE_BY_OTHERS:
        who = t("all users") if status.st_mode & stat.S_IWOTH else t("its group")
        raise UnsafeKeyPathError(
            t(
                "{what} is writable by {who}, so another account could plant or swap a trusted "
                "key there; fix it with: chmod go-w {quoted}",
                what=what,
                who=who,
                quoted=quoted,
            )
        )
    me = os.geteuid()
    if status.st_uid not in (me, ROOT_UID):
        owner = _user_name(status.st_uid)
        raise UnsafeKeyPathError(
            t(
                "{what} belongs to user {owner} (uid {uid}), not to you ({user_name}), so that "
                "account could swap the key; fix it with: sudo chown {user_quoted} {quoted}",
                what=what,
                owner=owner,
                uid=status.st_uid,
                user_name=_user_name(me),
                user_quoted=shlex.quote(_user_name(me)),
                quoted=quoted,
            )
        )


def _entries(folder: Path) -> Iterator[Path]:
    try:
        yield from sorted(folder.iterdir())
    except OSError as exc:
        raise KeyFileError(
            t(
                "The folder {folder} cannot be read: {reason}.",
                folder=folder,
                reason=exc.strerror or exc,
            )
        ) from exc


def key_files_in(
    folder: Path, *, follow_folder_link: bool, suffixes: tuple[str, ...] = (KEY_FILE_SUFFIX,)
) -> list[Path]:
    """The ``*.pem`` files (or ``suffixes``) of a trusted folder, after the folder and every entry passed.

    The folder itself must pass :func:`check_not_writable_by_others` (a link to it only when
    ``follow_folder_link``: a folder named on the command line); no entry may be a link, whatever
    its name; every ``*.pem`` file must pass the checks too. Sub-folders are not read.
    """
    check_not_writable_by_others(folder, follow_link=follow_folder_link)
    files: list[Path] = []
    for entry in _entries(folder):
        if entry.is_symlink():
            check_not_writable_by_others(entry, follow_link=False)  # raises: a link
        if entry.suffix not in suffixes or not entry.is_file():
            continue
        check_not_writable_by_others(entry, follow_link=False)
        files.append(entry)
    return files
