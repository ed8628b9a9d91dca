"""Fast checks of the distribution files, without running PyInstaller (that is test_frozen_app.py).

A freeze loses what is imported by name at run time; these tests compare the installer's lists with
the libraries actually installed, import the whole app with the excluded modules blocked (so an
over-eager exclusion fails here, not in a technician's hands), and check the udev rules, driver
guidance, desktop entry, installer scripts and icon containers that ship with the bundles.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import json
import os
import pkgutil
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import can.interfaces
import pytest
import serial.urlhandler

from bmsflasher.cli.main import COMMAND_MODULES
from bmsflasher.discovery.adapters import AdapterKind
from bmsflasher.discovery.results import AdapterStatus
from bmsflasher.gui.options import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "installer"
DRIVERS = ROOT / "drivers"
RULES = DRIVERS / "linux" / "60-bmsflasher.rules"
RESOURCES = ROOT / "src" / "bmsflasher" / "resources"
OS_NAMES = {"linux", "windows", "macos"}


def _load(name: str) -> ModuleType:
    """Import an installer module by path, under a private name (installer/ is not a package)."""
    if str(INSTALLER) not in sys.path:
        sys.path.insert(0, str(INSTALLER))
    spec = importlib.util.spec_from_file_location(f"_bmsflasher_installer_{name}", INSTALLER / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


manifest = _load("manifest")
icons = _load("icons")


# --- what the freeze must collect ------------------------------------------------------------------


def test_every_python_can_backend_is_listed() -> None:
    installed = {module for module, _cls in can.interfaces.BACKENDS.values()}
    assert installed == set(manifest.CAN_BACKEND_MODULES)


def test_every_pyserial_url_handler_is_listed() -> None:
    installed = {
        f"serial.urlhandler.{m.name}" for m in pkgutil.iter_modules(serial.urlhandler.__path__) if not m.ispkg
    }
    assert installed == set(manifest.SERIAL_URL_HANDLER_MODULES)


def test_cli_subcommands_imported_by_name_are_listed() -> None:
    assert set(COMMAND_MODULES) <= set(manifest.BMSFLASHER_DYNAMIC_MODULES)
    for name in manifest.BMSFLASHER_DYNAMIC_MODULES:
        assert importlib.util.find_spec(name) is not None, f"{name} is listed but does not exist"


def test_sim_front_ends_imported_by_name_are_listed() -> None:
    from bmsflasher.cli.cmd_sim import FRONT_ENDS

    assert {target.partition(":")[0] for target in FRONT_ENDS.values()} == set(manifest.SIM_FRONT_END_MODULES)
    for name in manifest.SIM_FRONT_END_MODULES:
        assert importlib.util.find_spec(name) is not None, f"{name} is listed but does not exist"
    assert set(manifest.SIM_FRONT_END_MODULES) <= set(manifest.required_frozen_modules())


# Modules that run ``sys.executable`` only where a frozen bundle never goes, with the reason.
_CHILD_PROCESS_ALLOWED = {
    "gui/i18n_build.py": "compiles .ts sources, which the bundle does not ship (it ships .qm only)",
}


def test_child_processes_have_a_frozen_fallback() -> None:
    """In a bundle ``sys.executable`` is bmsflasher(-gui) itself: ``-m``/``-c`` would re-run the app."""
    for path in (ROOT / "src" / "bmsflasher").rglob("*.py"):
        relative = path.relative_to(ROOT / "src" / "bmsflasher").as_posix()
        text = path.read_text(encoding="utf-8")
        if "sys.executable" in text and relative not in _CHILD_PROCESS_ALLOWED:
            assert 'getattr(sys, "frozen"' in text, (
                f"{relative} starts sys.executable without a frozen fallback"
            )


def test_required_modules_are_hidden_imports() -> None:
    hidden = set(manifest.hidden_imports())
    assert set(manifest.required_frozen_modules()) <= hidden
    assert "can.interfaces.slcan" in hidden
    assert "serial.urlhandler.protocol_socket" in hidden


def test_qt_translations_cover_the_app_languages() -> None:
    assert set(LANGUAGES) <= set(manifest.QT_TRANSLATION_LANGUAGES)


def test_the_app_imports_no_excluded_qt_module() -> None:
    pattern = re.compile(r"PySide6\.(Qt\w+)|from PySide6 import ([\w, ]+)")
    used: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            if match.group(1):
                used.add(match.group(1))
            else:
                used |= {name.strip() for name in match.group(2).split(",")}
    assert used, "the scan found no Qt import at all: the pattern is broken"
    assert not used & set(manifest.QT_MODULES_EXCLUDED)


def test_excluded_modules_are_not_needed_by_the_app() -> None:
    """Import every bmsflasher module and by-name module with the excluded modules blocked."""
    script = textwrap.dedent(
        f"""
        import importlib, json, pkgutil, sys, warnings
        sys.path.insert(0, {str(INSTALLER)!r})
        import manifest
        BLOCKED = tuple(manifest.EXCLUDED_MODULES)
        MARK = "excluded from the frozen bundle: "

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                    raise ModuleNotFoundError(MARK + name, name=name)
                return None

        sys.meta_path.insert(0, Blocker())
        warnings.simplefilter("ignore")
        import bmsflasher
        names = [m.name for m in pkgutil.walk_packages(bmsflasher.__path__, "bmsflasher.")]
        names += list(manifest.required_frozen_modules())
        broken = {{}}
        for name in names:
            try:
                importlib.import_module(name)
            except BaseException as exc:  # report every failure caused by a blocked module
                cause = exc
                while cause is not None:
                    if MARK in str(cause):
                        broken[name] = str(cause)
                        break
                    cause = cause.__cause__ or cause.__context__
        print(json.dumps({{"checked": len(names), "broken": broken}}))
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["checked"] > 100
    assert report["broken"] == {}


# --- the spec itself -------------------------------------------------------------------------------


def _spec_tree() -> ast.Module:
    return ast.parse((INSTALLER / "bmsflasher.spec").read_text(encoding="utf-8"))


def _calls(tree: ast.Module, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def _keyword(call: ast.Call, name: str) -> ast.expr:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    raise AssertionError(f"{name}= is missing from the call on line {call.lineno}")


def test_spec_feeds_the_manifest_to_one_analysis() -> None:
    tree = _spec_tree()
    (analysis,) = _calls(tree, "Analysis")
    scripts = ast.unparse(analysis.args[0])
    assert "entry_cli.py" in scripts
    assert "entry_gui.py" in scripts
    assert "manifest.EXCLUDED_MODULES" in ast.unparse(_keyword(analysis, "excludes"))
    assert ast.unparse(_keyword(analysis, "hiddenimports")) == "sorted(set(hiddenimports))"
    assert ast.unparse(_keyword(analysis, "datas")) == "datas"
    source = ast.unparse(tree)
    assert "hiddenimports = list(manifest.hidden_imports())" in source
    assert "datas = list(manifest.data_files())" in source
    assert "manifest.METADATA_PACKAGES" in source  # --version needs bmsflasher's dist-info
    assert "optimize=0" in source  # udsoncan and can-isotp check protocol invariants with assert
    for name in ("entry_cli.py", "entry_gui.py"):
        assert (INSTALLER / name).is_file()


def test_spec_builds_a_console_and_a_windowed_program_in_one_folder() -> None:
    tree = _spec_tree()
    source = ast.unparse(tree)
    assert "exe_gui = _exe(gui_scripts, manifest.GUI_NAME, False" in source
    assert "exe_cli = _exe(cli_scripts, manifest.APP_NAME, True" in source
    (collect,) = _calls(tree, "COLLECT")
    # On macOS the first executable becomes the .app's main program: it must be the GUI.
    assert [ast.unparse(a) for a in collect.args[:2]] == ["exe_gui", "exe_cli"]
    (bundle,) = _calls(tree, "BUNDLE")
    plist = ast.unparse(_keyword(bundle, "info_plist"))
    assert "CFBundleDocumentTypes" in plist
    assert "UTExportedTypeDeclarations" in plist
    assert "PACKAGE_EXTENSION" in plist
    for call in _calls(tree, "EXE"):
        assert ast.unparse(_keyword(call, "exclude_binaries")) == "True"  # one folder, not one file


def test_data_files_ship_resources_and_driver_guidance_but_not_translation_sources() -> None:
    pairs = manifest.data_files()
    destinations = {(Path(src).name, dest) for src, dest in pairs}
    # Package data keep their place in the package: importlib.resources finds them there when frozen.
    assert ("adapters.json", "bmsflasher/resources/adapters") in destinations
    for path in RESOURCES.rglob("*"):
        if path.is_file() and path.suffix not in {".ts", ".qm"}:
            relative = path.relative_to(RESOURCES).parent
            assert (path.name, (Path("bmsflasher/resources") / relative).as_posix()) in destinations, path
    assert ("guidance.json", "drivers") in destinations
    assert ("60-bmsflasher.rules", "drivers/linux") in destinations
    assert ("README.md", "drivers/windows") in destinations
    assert not [src for src, _ in pairs if src.endswith(".ts")]
    for src, _dest in pairs:
        assert Path(src).is_file()


@pytest.mark.parametrize(
    ("destination", "excluded"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", False),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
        ("PySide6\\plugins\\platforms\\qwindows.dll", False),
        ("PySide6/Qt/plugins/platforms/libqcocoa.dylib", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", True),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", True),
        ("PySide6/Qt/translations/qtbase_nl.qm", False),
        ("PySide6/Qt/translations/qtbase_fr.qm", False),
        ("PySide6/Qt/translations/qt_fr.qm", False),
        ("PySide6/Qt/translations/qtbase_de.qm", True),
        ("PySide6/Qt/translations/qtmultimedia_fr.qm", True),
        ("bmsflasher/resources/i18n/bmsflasher_nl.qm", False),
        ("libcrypto.so.3", False),
    ],
)
def test_binary_exclusion_rules(destination: str, excluded: bool) -> None:
    assert manifest.is_excluded_binary(destination) is excluded


def test_prune_drops_only_libraries_that_removed_files_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    prune = _load("prune")
    links = {
        "/src/theme.so": {"libgtk.so", "libc.so"},
        "/src/xcb.so": {"libc.so"},
        "/src/gtk.so": {"libpango.so"},
    }
    monkeypatch.setattr(prune, "_linked_names", lambda source: links.get(source, set()))
    binaries = [
        ("plugins/themes/theme.so", "/src/theme.so", "BINARY"),  # removed by the rule
        ("plugins/platforms/xcb.so", "/src/xcb.so", "BINARY"),
        ("libgtk.so", "/src/gtk.so", "BINARY"),  # only the removed plug-in links it: dropped
        ("libpango.so", "/src/pango.so", "BINARY"),  # only libgtk links it: kept (conservative)
        ("libc.so", "/src/c.so", "BINARY"),  # the kept xcb plug-in links it: kept
        ("libusb.so", "/src/usb.so", "BINARY"),  # loaded with ctypes, linked by nobody: kept
        ("Qt/lib/libQt6Net.so", "/src/net.so", "BINARY"),  # removed by the rule
        ("libQt6Net.so", "Qt/lib/libQt6Net.so", "SYMLINK"),  # its link goes too
        ("libc.so.6", "libc.so", "SYMLINK"),  # a link to a kept file stays
    ]
    kept, dropped = prune.prune_binaries(binaries, lambda dest: dest.startswith(("plugins/themes", "Qt/lib")))
    assert [entry[0] for entry in kept] == [
        "plugins/platforms/xcb.so",
        "libpango.so",
        "libc.so",
        "libusb.so",
        "libc.so.6",
    ]
    assert set(dropped) == {"plugins/themes/theme.so", "Qt/lib/libQt6Net.so", "libgtk.so", "libQt6Net.so"}


# --- udev rules -----------------------------------------------------------------------------------

# udev(7): keys that only match, keys that only assign, keys that do both; which take {attribute}.
_MATCH_ONLY = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS"}
_MATCH_ONLY |= {"ATTRS", "TAGS", "CONST", "TEST", "PROGRAM", "RESULT"}
_ASSIGN_ONLY = {"OWNER", "GROUP", "MODE", "SECLABEL", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS"}
_BOTH = {"NAME", "SYMLINK", "ATTR", "SYSCTL", "ENV", "TAG"}
_NEEDS_ATTRIBUTE = {"ATTR", "ATTRS", "ENV", "SYSCTL", "CONST", "SECLABEL", "IMPORT"}
_PAIR = re.compile(r'^\s*([A-Z_]+)(?:\{([^{}"]+)\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*$')


def _split_pairs(line: str) -> list[str]:
    """Split a rule on the commas outside quoted values."""
    pairs: list[str] = []
    current = ""
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            pairs.append(current)
            current = ""
        else:
            current += char
    assert not quoted, f"unbalanced quotes in: {line}"
    pairs.append(current)
    return pairs


def parse_udev_rules(text: str) -> list[list[tuple[str, str | None, str, str]]]:
    """Parse udev rules strictly (udev(7) grammar); raises AssertionError naming the bad line."""
    rules: list[list[tuple[str, str | None, str, str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        assert not stripped.endswith("\\"), f"line {number}: continuation lines are not used here"
        rule = []
        for pair in _split_pairs(stripped):
            match = _PAIR.match(pair)
            assert match, f'line {number}: not KEY{{attr}}OP"value": {pair!r}'
            key, attribute, operator, value = match.groups()
            assert key in _MATCH_ONLY | _ASSIGN_ONLY | _BOTH, f"line {number}: unknown key {key}"
            if key in _NEEDS_ATTRIBUTE:
                assert attribute, f"line {number}: {key} needs an {{attribute}}"
            elif key not in {"RUN", "TEST"}:
                assert attribute is None, f"line {number}: {key} takes no {{attribute}}"
            is_match = operator in {"==", "!="}
            assert not (is_match and key in _ASSIGN_ONLY), f"line {number}: {key} cannot be matched"
            assert not (not is_match and key in _MATCH_ONLY), f"line {number}: {key} cannot be assigned"
            if key == "MODE":
                assert re.fullmatch(r"0[0-7]{3}", value), f"line {number}: MODE must be octal"
            if key in {"ATTR", "ATTRS"} and attribute in {"idVendor", "idProduct"}:
                assert re.fullmatch(r"[0-9a-f]{4}", value), f"line {number}: USB IDs are 4 lower-case hex"
            rule.append((key, attribute, operator, value))
        rules.append(rule)
    labels = {v for rule in rules for k, _a, _o, v in rule if k == "LABEL"}
    gotos = {v for rule in rules for k, _a, _o, v in rule if k == "GOTO"}
    assert gotos <= labels, f"GOTO without LABEL: {gotos - labels}"
    return rules


def test_udev_parser_rejects_broken_rules() -> None:
    for bad in (
        'SUBSYSTEM="tty", MODE="0660"',  # SUBSYSTEM cannot be assigned
        'SUBSYSTEM=="tty", MODE=="0660"',  # MODE cannot be matched
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403" MODE="0660"',  # missing comma
        'SUBSYSTEM=="tty", ENV="1"',  # ENV needs an attribute
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", MODE="660"',  # not octal
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403, MODE="0660"',  # unbalanced quote
        'SUBSYSTEM=="tty", GOTO="nowhere"',  # no such label
        'SUBSYSTEMZ=="tty", MODE="0660"',  # unknown key
    ):
        with pytest.raises(AssertionError):
            parse_udev_rules(bad)


def test_udev_rules_are_valid_syntax() -> None:
    rules = parse_udev_rules(RULES.read_text(encoding="utf-8"))
    assert len(rules) > 15
    udevadm = shutil.which("udevadm")
    if (
        udevadm
        and subprocess.run([udevadm, "verify", "--help"], capture_output=True, check=False).returncode == 0
    ):
        result = subprocess.run([udevadm, "verify", str(RULES)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_udev_rules_use_uaccess_before_seat_late() -> None:
    assert int(RULES.name.split("-")[0]) < 73  # 73-seat-late.rules applies the uaccess tag


def _rule_ids(subsystem: str) -> list[tuple[str, str | None]]:
    ids = []
    for rule in parse_udev_rules(RULES.read_text(encoding="utf-8")):
        fields = {(k, a): v for k, a, _o, v in rule}
        if fields.get(("SUBSYSTEM", None)) != subsystem:
            continue
        vid = fields.get(("ATTRS", "idVendor")) or fields.get(("ATTR", "idVendor"))
        pid = fields.get(("ATTRS", "idProduct")) or fields.get(("ATTR", "idProduct"))
        assert vid, f"a {subsystem} rule without a vendor ID: {rule}"
        assert fields.get(("MODE", None)) == "0660"
        assert ("TAG", None) in fields
        assert fields[("TAG", None)] == "uaccess"
        assert fields.get(("ENV", "ID_MM_DEVICE_IGNORE")) == "1"
        ids.append((vid, pid))
    return ids


def _covered(ids: list[tuple[str, str | None]], vid: str, pid: str | None) -> bool:
    return any(v == vid and (p is None or p == pid) for v, p in ids)


def _adapter_rows() -> list[Mapping[str, Any]]:
    data = json.loads((RESOURCES / "adapters" / "adapters.json").read_text(encoding="utf-8"))
    rows: list[Mapping[str, Any]] = data["adapters"]
    return rows


def test_every_serial_adapter_in_the_table_has_a_tty_rule() -> None:
    tty_ids = _rule_ids("tty")
    for row in _adapter_rows():
        if row["kind"] in {"serial", "usb_cdc", "slcan"}:
            assert _covered(tty_ids, row["vid"], row["pid"]), f"no tty rule for {row['name']}"


def test_every_linux_can_adapter_has_a_usb_rule_with_the_bmsflasher_group() -> None:
    usb_ids = _rule_ids("usb")
    for row in _adapter_rows():
        if row["kind"] == "native_can" and row.get("linux_interface"):
            assert _covered(usb_ids, row["vid"], row["pid"]), f"no usb rule for {row['name']}"
    text = RULES.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith('SUBSYSTEM=="usb"'):
            assert 'GROUP="bmsflasher"' in line


@pytest.fixture
def rules_dir(tmp_path: Path) -> Iterator[Path]:
    return tmp_path / "rules.d"


def test_udev_install_script_installs_checks_and_removes(rules_dir: Path) -> None:
    script = DRIVERS / "linux" / "install-udev-rules.sh"
    env = dict(os.environ, UDEV_RULES_DIR=str(rules_dir))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(script), *args], capture_output=True, text=True, env=env, timeout=30, check=False
        )

    assert "not installed" in run("--check").stdout
    installed = run()
    assert installed.returncode == 0, installed.stderr
    target = rules_dir / RULES.name
    assert target.read_bytes() == RULES.read_bytes()
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert "installed and current" in run("--check").stdout
    assert run("--bogus").returncode == 2
    assert run("--uninstall").returncode == 0
    assert not target.exists()


# --- driver guidance -------------------------------------------------------------------------------


def _guidance() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DRIVERS / "guidance.json").read_text(encoding="utf-8"))
    return data


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    lines = markdown.read_text(encoding="utf-8").splitlines()
    return {_slug(line.lstrip("#")) for line in lines if line.startswith("#")}


def pick_guidance(status: str, os_name: str, adapter: Mapping[str, Any]) -> dict[str, Any]:
    """The first entry fitting (status, os, adapter): the rule guidance.json's 'about' states."""
    for entry in _guidance()["entries"]:
        if entry["status"] != status or os_name not in entry["os"]:
            continue
        if all(
            str(adapter.get(key, "")).lower() == str(value).lower() for key, value in entry["match"].items()
        ):
            return dict(entry)
    raise AssertionError(f"no guidance for {status} on {os_name}")


def test_guidance_entries_are_well_formed() -> None:
    data = _guidance()
    statuses = {s.value for s in AdapterStatus}
    kinds = {k.value for k in AdapterKind}
    vids = {row["vid"] for row in _adapter_rows()}
    ids = [entry["id"] for entry in data["entries"]]
    assert len(ids) == len(set(ids))
    assert set(data["documents"]) == OS_NAMES
    for entry in data["entries"]:
        assert entry["status"] in statuses, entry["id"]
        assert entry["os"], entry["id"]
        assert set(entry["os"]) <= OS_NAMES, entry["id"]
        assert set(entry["match"]) <= {"vid", "pid", "python_can_interface", "kind"}, entry["id"]
        if "vid" in entry["match"]:
            assert entry["match"]["vid"] in vids, entry["id"]
        if "python_can_interface" in entry["match"]:
            assert entry["match"]["python_can_interface"] in can.interfaces.BACKENDS, entry["id"]
        if "kind" in entry["match"]:
            assert entry["match"]["kind"] in kinds, entry["id"]
        assert entry["title"], entry["id"]
        assert entry["steps"], entry["id"]
        for sentence in (entry["title"], *entry["steps"]):
            assert sentence[0].isupper() or sentence[0].isdigit(), f"{entry['id']}: {sentence!r}"
        for link in entry["links"]:
            assert link.startswith("https://"), entry["id"]


def test_guidance_links_point_at_existing_sections() -> None:
    data = _guidance()
    docs = [*data["documents"].values(), *(e["doc"] for e in data["entries"] if e["doc"])]
    for doc in docs:
        path, _, anchor = doc.partition("#")
        assert (ROOT / path).is_file(), doc
        if anchor:
            assert anchor in _anchors(ROOT / path), f"{doc}: no such heading"


def test_guidance_has_a_fallback_for_every_problem_and_system() -> None:
    for status in ("permission", "no_driver", "busy"):
        for os_name in OS_NAMES:
            assert pick_guidance(status, os_name, {})["match"] == {}


def test_no_guidance_entry_is_shadowed_by_an_earlier_one() -> None:
    entries = _guidance()["entries"]
    for index, entry in enumerate(entries):
        for earlier in entries[:index]:
            same_place = earlier["status"] == entry["status"] and set(entry["os"]) <= set(earlier["os"])
            broader = earlier["match"].items() <= entry["match"].items()
            assert not (same_place and broader), f"{entry['id']} can never be chosen after {earlier['id']}"


@pytest.mark.parametrize(
    ("status", "os_name", "adapter", "expected"),
    [
        ("no_driver", "windows", {"vid": "1a86", "kind": "serial"}, "windows-wch"),
        ("no_driver", "windows", {"vid": "0c72", "python_can_interface": "pcan"}, "windows-pcan"),
        ("no_driver", "windows", {"vid": "1d50", "python_can_interface": "gs_usb"}, "windows-gs-usb"),
        ("no_driver", "linux", {"vid": "1d50", "kind": "native_can"}, "linux-socketcan-down"),
        (
            "no_driver",
            "macos",
            {"vid": "0bfd", "kind": "native_can", "python_can_interface": "kvaser"},
            "macos-unsupported-can",
        ),
        ("permission", "linux", {"vid": "0403"}, "linux-permission"),
        ("no_driver", "linux", {"vid": "1a86"}, "linux-ch34x-brltty"),
    ],
)
def test_guidance_lookup_examples(status: str, os_name: str, adapter: dict[str, str], expected: str) -> None:
    assert pick_guidance(status, os_name, adapter)["id"] == expected


def test_every_adapter_needing_a_vendor_driver_has_windows_guidance() -> None:
    for row in _adapter_rows():
        if row.get("needs_vendor_driver") or row["kind"] == "serial":
            entry = pick_guidance("no_driver", "windows", row)
            assert entry["match"], f"only generic guidance for {row['name']}"


# --- Linux desktop integration and install script ------------------------------------------------


def test_desktop_entry_is_valid() -> None:
    path = INSTALLER / "linux" / "bmsflasher.desktop"
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == manifest.GUI_NAME
    assert "%f" in entry["Exec"]
    assert entry["Icon"] == "bmsflasher"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")
    assert entry["MimeType"] == f"{manifest.PACKAGE_MIME_TYPE};"
    validator = shutil.which("desktop-file-validate")
    if validator:
        result = subprocess.run([validator, str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout


def test_mime_type_maps_the_package_extension() -> None:
    tree = ET.parse(INSTALLER / "linux" / "bmsflasher-mime.xml")
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = tree.getroot().find("m:mime-type", ns)
    assert mime is not None
    assert mime.get("type") == manifest.PACKAGE_MIME_TYPE
    glob = mime.find("m:glob", ns)
    assert glob is not None
    assert glob.get("pattern") == f"*{manifest.PACKAGE_EXTENSION}"


@pytest.mark.parametrize(
    "script",
    [INSTALLER / "linux" / "install.sh", DRIVERS / "linux" / "install-udev-rules.sh"],
    ids=["install.sh", "install-udev-rules.sh"],
)
def test_shell_scripts_parse(script: Path) -> None:
    assert subprocess.run(["sh", "-n", str(script)], capture_output=True, check=False).returncode == 0
    assert os.access(script, os.X_OK)


def test_dmg_script_parses() -> None:
    script = INSTALLER / "macos" / "make_dmg.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, check=False).returncode == 0


def _fake_archive(root: Path) -> Path:
    """An unpacked release archive whose programs are small shell scripts (the layout is real)."""
    archive = root / "bmsflasher-0.0.0-linux-test"
    bundle = archive / "bmsflasher"
    bundle.mkdir(parents=True)
    for name in ("bmsflasher", "bmsflasher-gui"):
        program = bundle / name
        program.write_text(f"#!/bin/sh\necho '{name} 0.0.0'\n", encoding="utf-8")
        program.chmod(0o755)
    shutil.copy2(INSTALLER / "linux" / "install.sh", archive / "install.sh")
    share = archive / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy2(INSTALLER / "linux" / "bmsflasher.desktop", share / "applications" / "bmsflasher.desktop")
    (share / "mime" / "packages").mkdir(parents=True)
    shutil.copy2(INSTALLER / "linux" / "bmsflasher-mime.xml", share / "mime" / "packages" / "bmsflasher.xml")
    for size_dir, name in (("256x256", "bmsflasher.png"), ("scalable", "bmsflasher.svg")):
        folder = share / "icons" / "hicolor" / size_dir / "apps"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(b"icon")
    shutil.copytree(DRIVERS / "linux", archive / "drivers" / "linux")
    return archive


def test_install_script_installs_for_the_user_and_uninstalls(tmp_path: Path) -> None:
    archive = _fake_archive(tmp_path / "unpacked")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(archive / "install.sh"), "--user", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    result = run()
    assert result.returncode == 0, result.stderr
    app_dir = home / ".local" / "opt" / "bmsflasher"
    link = home / ".local" / "bin" / "bmsflasher"
    assert link.is_symlink()
    assert Path(os.readlink(link)) == app_dir / "bmsflasher"
    assert subprocess.run([str(link)], capture_output=True, text=True, check=False).stdout.strip() == (
        "bmsflasher 0.0.0"
    )
    desktop = (home / ".local" / "share" / "applications" / "bmsflasher.desktop").read_text(encoding="utf-8")
    assert f'Exec="{app_dir}/bmsflasher-gui" %f' in desktop
    assert (home / ".local" / "share" / "mime" / "packages" / "bmsflasher.xml").is_file()
    assert (app_dir / "drivers" / "linux" / "install-udev-rules.sh").is_file()
    assert "sudo sh" in result.stdout  # tells the user how to get adapter permissions

    again = run()  # an upgrade over an existing install
    assert again.returncode == 0, again.stderr

    removed = run("--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not app_dir.exists()
    assert not link.is_symlink()
    assert not (home / ".local" / "share" / "applications" / "bmsflasher.desktop").exists()


def test_install_script_refuses_a_foreign_folder(tmp_path: Path) -> None:
    archive = _fake_archive(tmp_path / "unpacked")
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "data.txt").write_text("keep me", encoding="utf-8")
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for args in (["--prefix", str(foreign)], ["--prefix", str(foreign), "--uninstall"]):
        result = subprocess.run(
            ["sh", str(archive / "install.sh"), "--user", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        assert "not" in result.stderr
    assert (foreign / "data.txt").read_text(encoding="utf-8") == "keep me"


# --- Windows installer script ----------------------------------------------------------------------


def _iss() -> str:
    return (INSTALLER / "windows" / "bmsflasher.iss").read_text(encoding="utf-8-sig")


def test_inno_setup_script_has_start_menu_entry_and_file_association() -> None:
    text = _iss()
    sections = set(re.findall(r"^\[(\w+)\]", text, flags=re.MULTILINE))
    assert {"Setup", "Files", "Icons", "Registry", "Tasks", "Code", "Run"} <= sections
    assert re.search(
        r'^Name: "\{group\}\\\{#AppName\}"; Filename: "\{app\}\\\{#GuiExe\}"', text, re.MULTILINE
    )
    assert 'Subkey: "Software\\Classes\\.bmspkg"' in text
    assert (
        'shell\\open\\command"; ValueType: string; ValueName: ""; ValueData: """{app}\\{#GuiExe}"" ""%1"""'
        in text
    )
    assert "ChangesAssociations=yes" in text
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", text, re.MULTILINE)
    assert '#define GuiExe "bmsflasher-gui.exe"' in text


def test_inno_setup_script_references_files_that_exist() -> None:
    text = _iss()
    assert "{#RepoRoot}\\LICENSE" in text
    assert (ROOT / "LICENSE").is_file()
    # The drivers guide opened from the Start menu is shipped inside the bundle.
    assert "{app}\\_internal\\drivers\\windows\\README.md" in text
    assert ("drivers", "drivers") in manifest.DATA_TREES
    assert (DRIVERS / "windows" / "README.md").is_file()
    # Inno Setup reads a BOM-less script as ANSI: the translated messages need the UTF-8 BOM.
    assert (INSTALLER / "windows" / "bmsflasher.iss").read_bytes().startswith(b"\xef\xbb\xbf")


# --- icons -----------------------------------------------------------------------------------------


def test_ico_container_round_trips() -> None:
    pngs = {16: icons.PNG_SIGNATURE + b"a" * 10, 256: icons.PNG_SIGNATURE + b"b" * 20}
    data = icons.ico_bytes(pngs)
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind, count) == (0, 1, 2)
    for index, size in enumerate(sorted(pngs)):
        width, height, _c, _r, planes, bits, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index
        )
        assert (width, height) == ((0, 0) if size == 256 else (size, size))
        assert (planes, bits) == (1, 32)
        assert data[offset : offset + length] == pngs[size]
    with pytest.raises(ValueError):
        icons.ico_bytes({512: b"x"})


def test_icns_container_round_trips() -> None:
    pngs = {32: icons.PNG_SIGNATURE + b"c", 512: icons.PNG_SIGNATURE + b"dd", 48: b"skipped"}
    data = icons.icns_bytes(pngs)
    assert data[:4] == b"icns"
    assert struct.unpack_from(">I", data, 4)[0] == len(data)
    found = {}
    position = 8
    while position < len(data):
        kind = data[position : position + 4]
        length = struct.unpack_from(">I", data, position + 4)[0]
        found[kind] = data[position + 8 : position + length]
        position += length
    assert found == {b"icp5": pngs[32], b"ic09": pngs[512]}
    with pytest.raises(ValueError):
        icons.icns_bytes({48: b"x"})


def test_icons_render_from_the_app_drawing(tmp_path: Path) -> None:
    outputs = icons.write_icons(RESOURCES / "icons" / "app.svg", tmp_path)
    png = outputs["png"].read_bytes()
    assert png.startswith(icons.PNG_SIGNATURE)
    assert struct.unpack(">II", png[16:24]) == (icons.LINUX_PNG_SIZE, icons.LINUX_PNG_SIZE)
    assert outputs["ico"].read_bytes()[:4] == b"\x00\x00\x01\x00"
    assert outputs["icns"].read_bytes()[:4] == b"icns"
