"""Translatable sentences for everything below the GUI: the engine, the CLI, errors and advice.

The engine speaks English, but a technician reads Dutch or French. Every sentence meant for a
person is built with :func:`t`, which returns a :class:`Text`: a ``str`` holding the English
rendering (so logs, JSON, records and every existing caller keep working unchanged) that also
remembers its template and arguments. A front-end calls :func:`localise` with the technician's
language just before showing it; the catalogue (``resources/i18n/messages.<lang>.json``, English
template → translated template) supplies the translation. Arguments that are themselves
:class:`Text` are translated too; anything else (device text, numbers, paths) is shown as given.

Qt widgets keep Qt's own catalogue (``.ts``); this one covers what is not a widget. Pure Python:
no Qt, no I/O beyond reading the shipped JSON once.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Final

from bmsflasher.core.display_text import format_number

LANGUAGES: Final = ("en", "nl", "fr")
"""The seeds' languages; English is the source language."""


class _Formatter(string.Formatter):
    """``str.format``, except that a number rounding to zero shows no minus sign ("0.00 %", not "-0.00 %")."""

    def format_field(self, value: object, format_spec: str) -> str:
        return format_number(value, format_spec)


_FORMATTER: Final = _Formatter()


class Text(str):
    """An English sentence that can be rendered again in another language.

    Attributes:
        template: the English template, e.g. ``"State of charge {soc} % is outside {low}–{high} %"``.
        params: the values filled in; :class:`Text` values are translated along with the sentence.
    """

    template: str
    params: Mapping[str, object]

    def __new__(cls, template: str, params: Mapping[str, object]) -> Text:
        rendered = _FORMATTER.vformat(template, (), params) if params else template
        text = super().__new__(cls, rendered)
        text.template = template
        text.params = dict(params)
        return text

    def __reduce__(self) -> tuple[object, ...]:
        return (Text, (self.template, self.params))


def t(template: str, /, **params: object) -> Text:
    """Mark a sentence for translation; ``template`` uses ``str.format`` names (``{port}``)."""
    return Text(template, params)


def joined(parts: Iterable[object], separator: str = "; ") -> Text:
    """``parts`` joined by ``"; "`` or ``", "`` into one sentence that stays translatable.

    ``"; ".join(...)`` over :class:`Text` parts gives a plain ``str`` (English for ever); this nests
    the parts in a translated list template instead, so each part is translated and the separator
    follows the language's typography (French writes `` ; ``).
    """
    items = list(parts)
    if not items:
        return Text("", {})
    result = items[0] if isinstance(items[0], Text) else Text("{item}", {"item": items[0]})
    for item in items[1:]:
        if separator == "; ":
            result = t("{first}; {second}", first=result, second=item)
        elif separator == ", ":
            result = t("{first}, {second}", first=result, second=item)
        else:
            raise ValueError(f"joined() knows '; ' and ', ', not {separator!r}")
    return result


def template_fields(template: str) -> frozenset[str]:
    """The ``{names}`` a template uses (a translation must use the same ones)."""
    return frozenset(name for _lit, name, _spec, _conv in _FORMATTER.parse(template) if name)


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """English template → translation for ``language`` (empty for English or a missing catalogue)."""
    if language == "en" or language not in LANGUAGES:
        return {}
    from bmsflasher.core.resources import resource_path  # resources' own errors are sentences too

    path = resource_path("i18n", f"messages.{language}.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    messages = data.get("messages", {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in messages.items()} if isinstance(messages, dict) else {}


def localise(text: object, language: str) -> str:
    """``text`` in ``language``: a :class:`Text` is translated, any other value shown as it is.

    A template without a translation is shown in English rather than not at all (the catalogue
    test keeps that from shipping).
    """
    if not isinstance(text, Text):
        return str(text)
    translated = catalogue(language).get(text.template, text.template)
    params = {
        name: localise(value, language) if isinstance(value, Text) else value
        for name, value in text.params.items()
    }
    try:
        return _FORMATTER.vformat(translated, (), params) if params else translated
    except (KeyError, IndexError, ValueError):
        return _FORMATTER.vformat(text.template, (), params) if params else text.template


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The technician's language from ``BMSFLASHER_LANG``, then the POSIX locale variables."""
    env = os.environ if environ is None else environ
    for name in ("BMSFLASHER_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name, "")
        code = value.split(":")[0].split("_")[0].split(".")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"
