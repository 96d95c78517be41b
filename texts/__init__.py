"""Every text the product shows, in every language it speaks: one catalogue, one file per language.

`nl.toml` (Dutch, the default language) and `en.toml` hold the same keys, read with `tomllib`:

- plain keys for the texts of the pages, charts, account and admin pages (`tagline`, `login_title`) and `loader.*`
  for the loader's messages on deliveries. Callers name a key as a string literal: `text("tagline", language)`.
- `code.<code list>.<code>` for the readable name of a code that the product stores or computes: roles,
  disciplines, delivery statuses, verdicts, grains, indicator names and definitions, target-group dimensions and
  their values, delivery fields ... Only `code_label(code_list, code, language)` builds these keys, from the code
  lists of the packages that own them (tests/test_texts.py names those lists).
- the `[format]` table: the Babel patterns a language writes dates in where its locale's default is not what the
  product shows (used by `texts.formatting`; numbers, month names and quarters come from the locale).

Placeholders are `{name}` (`str.format`) and are the same in every language. tests/test_texts.py fails on a key
that is used but missing, defined but unused, built at run time outside `code_label`, a code without a label, and
on languages that differ in keys or placeholders.

A language's texts and formats are one file: copy `en.toml` to `<language>.toml`, where `<language>` is a Babel
locale code (e.g. `de.toml`), translate every value and set its `[format]` patterns. `LANGUAGES` is the files
present, Dutch first. Two things still know only Dutch and English: the language switch, a link to the other of the
two (`dashboards/layout.py`, `auth/pages.py`, `assets/perispiegel.js`), and the loader's stored messages (the tables
have the columns `message_nl` and `message_en`).

This package imports nothing from the rest of the project, so every other package may use it.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Callable
from pathlib import Path

DEFAULT_LANGUAGE = "nl"
NO_VALUE = "—"  # what is shown for a missing value or code, in every language

FOLDER = Path(__file__).parent  # where the language files are


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    """TOML tables as dotted keys: `[code.role] admin = ...` becomes `code.role.admin`."""
    flat: dict[str, str] = {}
    for name, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _read(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """A language file as (texts by key, date patterns by name)."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    formats = data.pop("format", {})
    return _flatten(data), formats


_FILES = sorted(FOLDER.glob("*.toml"), key=lambda path: (path.stem != DEFAULT_LANGUAGE, path.stem))
#: Every language the product speaks (one file each), the default first.
LANGUAGES: tuple[str, ...] = tuple(path.stem for path in _FILES)
_READ = {path.stem: _read(path) for path in _FILES}
#: Per language: every text by key.
CATALOGUES: dict[str, dict[str, str]] = {language: texts for language, (texts, _) in _READ.items()}
#: Per language: its `[format]` table (Babel date patterns).
FORMATS: dict[str, dict[str, str]] = {language: formats for language, (_, formats) in _READ.items()}


def language_of(value: str | None) -> str:
    """The language asked for, or Dutch when none or an unknown one is given."""
    return value if value in CATALOGUES else DEFAULT_LANGUAGE


def text(key: str, language: str | None, **values: object) -> str:
    """The text for `key` in `language`, with `{placeholders}` filled from `values`; `KeyError` for an unknown key."""
    template = CATALOGUES[language_of(language)][key]
    return template.format(**values) if values else template


def code_label(code_list: str, code: object, language: str | None, **values: object) -> str:
    """The readable name of `code` from `code_list` (the text `code.<code_list>.<code>`): "—" for no code, the code
    itself when the list does not name it."""
    if code is None:
        return NO_VALUE
    template = CATALOGUES[language_of(language)].get(f"code.{code_list}.{code}")
    if template is None:
        return str(code)
    return template.format(**values) if values else template


def template_functions(language: str | None) -> dict[str, Callable[..., str]]:
    """`text(key, **values)` and `code_label(code_list, code, **values)` in one language, for a Jinja template
    (`render_template(..., **template_functions(language))`); the template names its keys as literals too."""
    def template_text(key: str, **values: object) -> str:
        return text(key, language, **values)

    def template_code_label(code_list: str, code: object, **values: object) -> str:
        return code_label(code_list, code, language, **values)

    return {"text": template_text, "code_label": template_code_label}


def code_parts(message: str) -> list[tuple[str, bool]]:
    """A text's parts, each with whether it is code: a text marks a command or a header as `code` with backticks
    ("draai `perispiegel load`"), which a page shows in a code font and never as backticks."""
    return [(part, index % 2 == 1) for index, part in enumerate(message.split("`")) if part]


def placeholders(template: str) -> set[str]:
    """The names of the `{placeholders}` in a text."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
