"""The text catalogue (texts/) against its uses: every key used is there in every language, every key there is
used, keys are named as literals, every code of a code list has a label, and the languages agree.

The uses are found by parsing the product's Python sources (`ast`) and its Jinja templates (Jinja's own parser):
calls of the `text` and `code_label` imported from `texts`, and of the `text` / `code_label` a template is given
(`texts.template_functions`). Only texts/ itself may build a key at run time: `code_label` makes
`code.<code list>.<code>` from the code lists below.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import jinja2
import pytest
from jinja2 import nodes

import texts
from auth.audit import ACTIONS as AUDIT_ACTIONS
from auth.tokens import REVOKED_REASONS as TOKEN_REVOKED_REASONS
from auth.users import ACCOUNT_ROLES
from contracts.delivery_format import COLUMNS, FIELD_BY_NAME, Discipline
from contracts.fhir_mapping import DERIVED_CONCEPTS
from exports import FORMATS as EXPORT_FORMATS
from loader.fhir import FHIR_PROBLEMS, FHIR_REASONS, JSON_TYPES
from loader.finding import UNREADABLE_REASONS
from loader.hints import RECORD_HINTS
from loader.messages import FIELDS_WITH_UNIT, STORED_LANGUAGES
from loader.refresh import REFRESH_STATUSES
from loader.results import DELIVERY_STATUSES
from queries.answers import ColumnKind
from queries.catalogue import CATALOGUE, Direction
from queries.dictionary import births_dictionary
from queries.disclosure import TREATMENTS
from queries.engine import GRAINS, LEVELS
from queries.export_table import EXPORT_COLUMNS
from queries.filters import DIMENSIONS
from queries.judgement import FLAGS, LIMITS_METHODS, MEASURES, OVERDISPERSION_CHOICES, VERDICTS
from queries.registry_console import ROW_STATES
from queries.scope import ROLES
from queries.spc import METHODS, RULES, VARIATIONS
from queries.statistics import FUNNEL_POSITIONS
from texts import CATALOGUES, DEFAULT_LANGUAGE, FORMATS, LANGUAGES, placeholders
from wording.figures import MASKED_REASONS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOT_PRODUCT = {"tests", "benchmarks", "data", "docs", "texts"}  # texts/ is the one place that builds keys
KEY_FUNCTIONS = ("text", "code_label")



def registered_page_names() -> tuple[str, ...]:
    """The `name=` of each page's `dash.register_page` call: pages register only inside an app being created
    (dashboards/pages/__init__.py), so they are read from the sources."""
    names = []
    for path in sorted((PROJECT_ROOT / "dashboards" / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "dash.register_page":
                names += [keyword.value.value for keyword in node.keywords
                          if keyword.arg == "name" and isinstance(keyword.value, ast.Constant)]
    return tuple(names)


#: Every code list a `code_label` call names, with its codes (from the modules that own them).
CODE_LISTS: dict[str, tuple[str, ...]] = {
    "page": registered_page_names(),
    "role": ACCOUNT_ROLES,
    "viewing_as": ROLES,
    "org_type": LEVELS,
    "org_type_plural": LEVELS,
    "org_type_with_article": LEVELS,
    "reference": LEVELS,
    "comparator_group": LEVELS,
    "discipline": tuple(Discipline),
    "discipline_plural": tuple(Discipline),
    "delivery_status": DELIVERY_STATUSES,
    "refresh_status": REFRESH_STATUSES,
    "unreadable_reason": UNREADABLE_REASONS,
    "hint_code": tuple(sorted({hint.code for hint in RECORD_HINTS})),
    "suppression": MASKED_REASONS,
    "disclosure": TREATMENTS,
    "verdict": (*VERDICTS, "none"),  # none: the pages' "no verdict" (no rate to judge)
    "position": FUNNEL_POSITIONS,
    "grain": GRAINS,
    "export_format": EXPORT_FORMATS,
    "overdispersion": OVERDISPERSION_CHOICES,
    "limits_method": LIMITS_METHODS,
    "limits_method_short": LIMITS_METHODS,
    "flag": FLAGS,
    "measure": MEASURES,
    "spc_method": METHODS,
    "spc_variation": VARIATIONS,
    "spc_rule": RULES,
    "direction": tuple(Direction),
    "indicator_name": tuple(CATALOGUE),
    "indicator_definition": tuple(CATALOGUE),
    "dimension": tuple(DIMENSIONS),
    "dimension_value": tuple(f"{name}.{value}" for name, dimension in DIMENSIONS.items() for value in dimension.values),
    "field": COLUMNS,
    "field_unit": FIELDS_WITH_UNIT,
    "export_header": tuple(column.name for column in EXPORT_COLUMNS),  # a column's label (exports/)
    "export_column": tuple(column.name for column in EXPORT_COLUMNS),  # what the column holds
    "export_kind": get_args(ColumnKind),
    "audit_action": AUDIT_ACTIONS,
    "token_revoked_reason": TOKEN_REVOKED_REASONS,
    "registry_state": ROW_STATES,
    "registry_state_explained": ROW_STATES,
    "indicator_numerator": tuple(CATALOGUE),
    "indicator_denominator": tuple(CATALOGUE),
    "indicator_exclusions": tuple(id for id, definition in CATALOGUE.items() if definition.exclusions),
    "births_column": tuple(entry.column for entry in births_dictionary()),
    "fhir_problem": FHIR_PROBLEMS,
    "json_type": JSON_TYPES,
    "fhir_reason": FHIR_REASONS,
    "fhir_concept": DERIVED_CONCEPTS,
}


@dataclass
class Uses:
    """What the sources ask of the catalogue."""

    keys: dict[str, list[str]] = field(default_factory=dict)  # literal key -> where
    code_lists: dict[str, list[str]] = field(default_factory=dict)  # literal code list -> where
    # (where, key or code list, the names of the values given; None when some are given as **mapping)
    calls: list[tuple[str, str, str, frozenset[str] | None]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def call(self, where: str, function: str, first: object, values: frozenset[str] | None) -> None:
        if not isinstance(first, str):
            what = "key" if function == "text" else "code list"
            self.problems.append(f"{where}: {function}() with a {what} that is not a string literal")
            return
        if function == "text":
            self.keys.setdefault(first, []).append(where)
        else:
            self.code_lists.setdefault(first, []).append(where)
        self.calls.append((where, function, first, values))


def product_sources() -> list[Path]:
    return sorted(path for path in PROJECT_ROOT.rglob("*.py")
                  if path.relative_to(PROJECT_ROOT).parts[0] not in NOT_PRODUCT
                  and not any(part.startswith(".") or part == "node_modules" for part in path.parts))


def templates() -> list[Path]:
    return sorted(path for path in PROJECT_ROOT.rglob("templates/**/*.html")
                  if not any(part.startswith(".") or part == "node_modules" for part in path.parts))


def _key_functions(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """The local names of `texts.text` / `texts.code_label` (`from texts import text`) and of the module `texts`."""
    functions, modules = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "texts":
            functions.update({alias.asname or alias.name: alias.name for alias in node.names
                              if alias.name in KEY_FUNCTIONS})
        elif isinstance(node, ast.Import):
            modules.update(alias.asname or alias.name for alias in node.names if alias.name == "texts")
    return functions, modules


def python_uses(uses: Uses, path: Path, source: str) -> None:
    tree = ast.parse(source)
    functions, modules = _key_functions(tree)
    called = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in functions:
            name = functions[function.id]
        elif (isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name)
              and function.value.id in modules and function.attr in KEY_FUNCTIONS):
            name = function.attr
        else:
            continue
        called.add(id(function))
        where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
        first = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        given = frozenset(k.arg for k in node.keywords) if all(k.arg for k in node.keywords) else None
        uses.call(where, name, first, given)
    for node in ast.walk(tree):  # a key function handed on (`t = text`, `map(text, keys)`) hides its keys
        if (isinstance(node, ast.Name) and node.id in functions and isinstance(node.ctx, ast.Load)
                and id(node) not in called):
            uses.problems.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: {node.id} used other than called")


def template_uses(uses: Uses, path: Path, source: str) -> None:
    tree = jinja2.Environment().parse(source)
    called = set()
    for node in tree.find_all(nodes.Call):
        if isinstance(node.node, nodes.Name) and node.node.name in KEY_FUNCTIONS:
            called.add(id(node.node))
            first = node.args[0].value if node.args and isinstance(node.args[0], nodes.Const) else None
            given = frozenset(k.key for k in node.kwargs) if node.dyn_kwargs is None else None
            uses.call(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}", node.node.name, first, given)
    for node in tree.find_all(nodes.Name):
        if node.name in KEY_FUNCTIONS and id(node) not in called:
            uses.problems.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: {node.name} used other than called")


def find_uses(python: dict[Path, str], jinja: dict[Path, str]) -> Uses:
    uses = Uses()
    for path, source in python.items():
        python_uses(uses, path, source)
    for path, source in jinja.items():
        template_uses(uses, path, source)
    return uses


def catalogue_problems(uses: Uses, catalogues: dict[str, dict[str, str]]) -> list[str]:
    """Everything wrong between the uses and the catalogues (one dict of texts per language, the default first)."""
    problems = list(uses.problems)
    default = catalogues[DEFAULT_LANGUAGE]
    for language, catalogue in catalogues.items():
        problems += [f"{language}: key '{key}' is not in {DEFAULT_LANGUAGE}"
                     for key in catalogue.keys() - default.keys()]
        problems += [f"{language}: no text for '{key}'" for key in default.keys() - catalogue.keys()]
        problems += [f"{language}: '{key}' has placeholders {sorted(placeholders(catalogue[key]))}, "
                     f"{DEFAULT_LANGUAGE} {sorted(placeholders(default[key]))}"
                     for key in catalogue.keys() & default.keys()
                     if placeholders(catalogue[key]) != placeholders(default[key])]
    for key, where in sorted(uses.keys.items()):
        if key.startswith("code."):
            problems.append(f"{where[0]}: '{key}' is a code label: use code_label()")
        problems += [f"{where[0]}: key '{key}' is not in {language}" for language, catalogue in catalogues.items()
                     if key not in catalogue]
    for code_list, where in sorted(uses.code_lists.items()):
        if code_list not in CODE_LISTS:
            problems.append(f"{where[0]}: code list '{code_list}' is not in CODE_LISTS (tests/test_texts.py)")
    problems += [f"code list '{code_list}' is never used" for code_list in CODE_LISTS.keys() - uses.code_lists.keys()]
    code_keys = {f"code.{code_list}.{code}" for code_list, codes in CODE_LISTS.items() for code in codes}
    for language, catalogue in catalogues.items():
        problems += [f"{language}: no label for '{key}'" for key in sorted(code_keys - catalogue.keys())]
    problems += [f"key '{key}' is never used" for key in sorted(default.keys() - uses.keys.keys() - code_keys)]
    for where, function, name, given in uses.calls:
        if given is None:  # values given as **mapping
            continue
        keys = [name] if function == "text" else [f"code.{name}.{code}" for code in CODE_LISTS.get(name, ())]
        needed = set().union(*(placeholders(default[key]) for key in keys if key in default))
        if (given or needed) and needed != given:  # a value missing, or one that no text of the list takes
            problems.append(f"{where}: {name} has placeholders {sorted(needed)}, the call gives {sorted(given)}")
    return problems


@pytest.fixture(scope="module")
def sources() -> tuple[dict[Path, str], dict[Path, str]]:
    return ({path: path.read_text(encoding="utf-8") for path in product_sources()},
            {path: path.read_text(encoding="utf-8") for path in templates()})


@pytest.fixture(scope="module")
def product_uses(sources) -> Uses:
    return find_uses(*sources)


def test_the_sources_and_the_catalogue_agree(sources, product_uses) -> None:
    python, jinja = sources
    assert any(path.name == "login.html" for path in jinja) and len(python) > 40  # the scan sees the product
    uses = product_uses
    assert len(uses.keys) > 200 and len(uses.code_lists) == len(CODE_LISTS)
    problems = catalogue_problems(uses, CATALOGUES)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("change", "expected"), [
    ("delete a used key from English", "en: no text for 'tagline'"),
    ("delete a used key from both", "dashboards/layout.py"),
    ("add a dead key", "key 'never_shown' is never used"),
    ("add a key only English has", "en: key 'only_english' is not in nl"),
    ("change a placeholder", "en: 'throttled' has placeholders ['minute'], nl ['minutes']"),
    ("delete a code's label", "en: no label for 'code.role.admin'"),
    ("add a label for a code no list has", "key 'code.role.superuser' is never used"),
])
def test_the_check_fails_on_a_broken_catalogue(product_uses, change, expected) -> None:
    """The check above is not vacuous: each kind of mistake in a language file is reported."""
    catalogues = {language: dict(catalogue) for language, catalogue in CATALOGUES.items()}
    if change == "delete a used key from English":
        del catalogues["en"]["tagline"]
    elif change == "delete a used key from both":
        for catalogue in catalogues.values():
            del catalogue["tagline"]
    elif change == "add a dead key":
        for catalogue in catalogues.values():
            catalogue["never_shown"] = "?"
    elif change == "add a key only English has":
        catalogues["en"]["only_english"] = "?"
    elif change == "change a placeholder":
        catalogues["en"]["throttled"] = "Too many failed login attempts. Please try again in {minute} minutes."
    elif change == "delete a code's label":
        del catalogues["en"]["code.role.admin"]
    elif change == "add a label for a code no list has":
        for catalogue in catalogues.values():
            catalogue["code.role.superuser"] = "?"
    problems = catalogue_problems(product_uses, catalogues)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(("file", "source", "expected"), [
    ("broken.py", 'from texts import text\ntext(f"direction_{x}", "nl")\n', "text() with a key that is not a string"),
    ("broken.py", 'from texts import text\nkey = "tagline"\ntext(key, "nl")\n', "text() with a key that is not a"),
    ("broken.py", 'from texts import code_label\ncode_label(name, "x", "nl")\n', "code_label() with a code list that"),
    ("broken.py", 'from texts import text as t\n[t(k, "nl") for k in ("a", "b")]\n', "text() with a key that is not"),
    ("broken.py", 'from texts import text\nlabel = text\n', "text used other than called"),
    ("broken.py", 'import texts\ntexts.text("no_such_key", "nl")\n', "key 'no_such_key' is not in nl"),
    ("broken.py", 'from texts import code_label\ncode_label("colour", "red", "nl")\n', "code list 'colour' is not in"),
    ("broken.py", 'from texts import text\ntext("throttled", "nl", minute=1)\n', "the call gives ['minute']"),
    ("broken.py", 'from texts import text\ntext("code.role.admin", "nl")\n', "is a code label: use code_label()"),
    ("broken.html", "{{ text(error) }}", "text() with a key that is not a string literal"),
    ("broken.html", "{{ text('no_such_key') }}", "key 'no_such_key' is not in nl"),
    ("broken.html", "{% set t = text %}", "text used other than called"),
])
def test_the_check_fails_on_a_broken_use(product_uses, file, source, expected) -> None:
    """Python sources and templates: a key that is not a literal, a missing key, a key function handed on ..."""
    uses = copy.deepcopy(product_uses)
    read = python_uses if file.endswith(".py") else template_uses
    read(uses, PROJECT_ROOT / file, source)
    problems = catalogue_problems(uses, CATALOGUES)
    assert any(expected in problem for problem in problems), problems


def test_a_language_is_a_file_with_the_same_keys_and_date_patterns() -> None:
    assert LANGUAGES[0] == DEFAULT_LANGUAGE == "nl" and set(LANGUAGES) >= {"nl", "en"}
    assert set(STORED_LANGUAGES) <= set(LANGUAGES)
    for language in LANGUAGES:
        assert (texts.FOLDER / f"{language}.toml").is_file()
        assert FORMATS[language].keys() == FORMATS[DEFAULT_LANGUAGE].keys() == {"date", "datetime", "quarter"}


def test_dutch_field_labels_are_the_kernset_concepts() -> None:
    """The loader names a field in Dutch by the concept of the delivery format (contracts/delivery_format.py)."""
    assert {name: texts.code_label("field", name, "nl") for name in COLUMNS} == {
        name: FIELD_BY_NAME[name].concept for name in COLUMNS}


def test_texts_imports_nothing_from_the_project() -> None:
    """texts/ is the bottom layer: everything may import it, it imports only the standard library and Babel."""
    project = {path.name for path in PROJECT_ROOT.iterdir() if (path / "__init__.py").is_file()}
    project |= {path.stem for path in PROJECT_ROOT.glob("*.py")}
    for path in (PROJECT_ROOT / "texts").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {name.split(".")[0] for name in names} & (project - {"texts"}), (path.name, names)
