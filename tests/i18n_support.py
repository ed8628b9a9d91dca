"""The catalogue's English sentences, found the way the catalogue test finds them (shared by the tests).

Every literal template passed to ``bmsflasher.core.i18n.t(...)`` in ``src/`` (by parsing the code,
not by running it), plus the two tables of sentences that are data rather than code: the
troubleshooting rows (``resources/troubleshooting.json``) and the driver guidance
(``drivers/guidance.json``), which the code wraps in ``t(...)`` when it reads them.
"""

from __future__ import annotations

import ast
import functools
import json
from pathlib import Path

from bmsflasher.core import i18n
from bmsflasher.core.resources import resource_path
from bmsflasher.discovery.driver_guidance import guidance_path

SRC = Path(i18n.__file__).resolve().parents[1]


@functools.cache
def marked_templates() -> dict[str, str]:
    """Every English template the catalogues must translate, with where it was found."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, f"{path.relative_to(SRC)}:{node.lineno}")
    for sentence, where in data_sentences().items():
        found.setdefault(sentence, where)
    return found


def data_sentences() -> dict[str, str]:
    """The sentences of the data tables the code wraps in ``t(...)`` when it reads them."""
    found: dict[str, str] = {}
    table = json.loads(resource_path("troubleshooting.json").read_text(encoding="utf-8"))
    for entry in table["entries"]:
        for key in ("pattern", "diagnostic", "resolution"):
            found.setdefault(entry[key], f"troubleshooting.json:{entry['id']}.{key}")
    guidance = guidance_path()
    if guidance is not None and guidance.is_file():
        for entry in json.loads(guidance.read_text(encoding="utf-8"))["entries"]:
            found.setdefault(entry["title"], f"guidance.json:{entry['id']}.title")
            for number, step in enumerate(entry.get("steps", []), 1):
                found.setdefault(step, f"guidance.json:{entry['id']}.step{number}")
    return found
