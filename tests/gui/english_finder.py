"""Decide whether a text on screen is English while the technician reads Dutch or French.

The English sentences are known: every source string of the GUI catalogues (``.ts``), every
sentence the engine marks with ``core.i18n.t`` and every troubleshooting row. A visible text that
equals one of them (or fills one of their templates) although a translation exists is English
left on screen. Sentences nobody marked yet are caught by their English words ("the", "with",
"from"...). Texts that are the same in every language (numbers, units, model names, serials, file
names, words a catalogue translates identically) are not English in this sense.
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bmsflasher.core import i18n
from bmsflasher.core.resources import resource_path
from bmsflasher.gui import i18n_build

SRC = Path(i18n.__file__).resolve().parents[1]

_PLACEHOLDER = re.compile(r"%\d+|%n|\{[a-z_]+(?:![rs])?(?::[^}]*)?\}")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
ENGLISH_ONLY_WORDS = frozenset(
    {
        "the", "and", "with", "from", "this", "that", "which", "has", "have", "are", "its", "into",
        "been", "would", "could", "should", "there", "their", "than", "then", "when", "what", "your",
        "you", "not", "were", "does", "did", "will", "only", "after", "before", "while", "because",
        "for", "to", "by", "at", "it", "be", "no", "any", "every", "must", "needs", "found", "runs",
        "running", "answered", "sent", "written", "read", "checked", "battery", "device", "package",
        "failed", "passed", "refused",
    }
)  # fmt: skip
"""Words of English that are not Dutch or French words; two different ones make a text English."""


def _clean(text: str) -> str:
    """As drawn: no mnemonic ampersands, no surrounding space."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip()


@dataclass(frozen=True)
class Catalogue:
    """The English a language's screen must not show."""

    literals: frozenset[str]
    templates: tuple[tuple[re.Pattern[str], str], ...]
    translations: frozenset[str]


def _template_pattern(source: str) -> re.Pattern[str] | None:
    """A regular expression for a template; None when its words alone could match anything."""
    literal = _PLACEHOLDER.sub(" ", source)
    if len(_WORD.findall(literal)) < 2:
        return None
    parts = _PLACEHOLDER.split(source)
    return re.compile(".+?".join(re.escape(part) for part in parts), re.DOTALL)


@cache
def marked_templates() -> frozenset[str]:
    """Every literal template passed to ``t(...)`` in src/ (as the catalogue test finds them)."""
    found: set[str] = set()
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return frozenset(found)


@cache
def catalogue(language: str) -> Catalogue:
    """English sources of ``language``'s catalogues whose translation differs from them."""
    pairs: list[tuple[str, list[str]]] = []
    root = ET.parse(i18n_build.ts_path(language)).getroot()
    for message in root.iter("message"):
        source = _clean(message.findtext("source") or "")
        translation = message.find("translation")
        forms = [] if translation is None else [f.text or "" for f in translation.findall("numerusform")]
        if translation is not None and not forms:
            forms = [translation.text or ""]
        pairs.append((source, [_clean(form) for form in forms]))
    engine = i18n.catalogue(language)
    for template in marked_templates():
        pairs.append((template, [engine[template]] if template in engine else []))
    in_ts = dict(pairs)
    table = json.loads(resource_path("troubleshooting.json").read_text(encoding="utf-8"))
    for entry in table["entries"]:
        for key in ("pattern", "diagnostic", "resolution"):
            pairs.append((entry[key], in_ts.get(entry[key], [])))  # translated in the .ts, if at all
    translations = frozenset(form for _source, forms in pairs for form in forms)
    english = {source for source, forms in pairs if source and source not in forms} - translations
    literals = frozenset(source for source in english if not _PLACEHOLDER.search(source))
    templates = tuple(
        (pattern, source)
        for source in sorted(english)
        if _PLACEHOLDER.search(source) and (pattern := _template_pattern(source)) is not None
    )
    return Catalogue(literals, templates, translations)


def _pieces(text: str) -> list[str]:
    """The whole text, each line, and each clause (a label may join a sentence and a quoted one)."""
    pieces = [text]
    for line in text.splitlines():
        pieces.append(line)
        pieces += re.split(r": | — | – |; |\n", line)
    return [_clean(piece).rstrip(".…") for piece in pieces if _clean(piece)]


def english_words(text: str) -> set[str]:
    """The words of ``text`` that only English has."""
    return {word.lower() for word in _WORD.findall(text)} & ENGLISH_ONLY_WORDS


def why_english(text: str, language: str) -> str | None:
    """Why ``text`` is English on a ``language`` screen, or None when it is not."""
    table = catalogue(language)
    cleaned = _clean(text)
    if cleaned in table.translations:
        return None
    for piece in _pieces(cleaned):
        if piece in table.literals or piece + "." in table.literals:
            return f"the English source {piece!r}"
        if piece in table.translations:
            continue
        for pattern, source in table.templates:
            if pattern.fullmatch(piece):
                return f"the English template {source!r}"
        words = english_words(piece)
        if len(words) >= 2:
            return f"English words {sorted(words)}"
    return None
