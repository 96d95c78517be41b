"""docs/delivery-format.md tells senders the same format the loader enforces."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import polars as pl
import pytest
from fixtures.delivery_files import ORGANISATIONS_FILE

from contracts.delivery_format import COLUMNS, FIELDS, FILE_NAME_PATTERN, Discipline
from loader.files import FILE_REJECTIONS
from loader.finding import read_delivery_file
from loader.parsing import LineProblem
from loader.records import RECORD_CHECKS
from loader.validate import validate_deliveries

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "delivery-format.md"


@pytest.fixture(scope="module")
def document() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


def field_rows(document: str) -> dict[str, list[str]]:
    """The rows of the field table, by field name: the cells of each row."""
    rows: dict[str, list[str]] = {}
    for line in document.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and re.fullmatch(r"`\w+`", cells[1]):
            rows[cells[1].strip("`")] = cells
    return rows


def disciplines_in(cell: str) -> set[str]:
    if cell == "all":
        return {discipline.value for discipline in Discipline}
    return set() if cell == "–" else {part.strip() for part in cell.split(",")}


def test_every_field_has_a_row_in_the_field_table_in_file_order(document: str) -> None:
    assert list(field_rows(document)) == list(COLUMNS)


@pytest.mark.parametrize("spec", FIELDS, ids=lambda spec: spec.name)
def test_each_field_row_states_the_format_of_the_code(document: str, spec) -> None:
    cells = field_rows(document)[spec.name]
    assert spec.concept in cells[6]
    assert disciplines_in(cells[3]) == {discipline.value for discipline in spec.required_for}
    assert disciplines_in(cells[4]) == {discipline.value for discipline in spec.important_for}
    for code in spec.codes:
        assert f"`{code}`" in cells[5], f"code {code!r} of {spec.name} is not documented"
    if spec.low is not None:
        assert f"{spec.low}–{spec.high}" in cells[5]


def test_the_example_file_names_follow_the_pattern(document: str) -> None:
    names = set(re.findall(r"`(l[\w-]+\.csv)`", document))
    assert {"lvr1_P0001_2023-04.csv", "lvr1_P0001_2023-04_resend1.csv", "lvr2_H001_2023-04.csv"} <= names
    assert all(FILE_NAME_PATTERN.match(name) for name in names)


def test_the_example_files_are_accepted_by_the_loader(document: str, tmp_path: Path) -> None:
    blocks = re.findall(r"```csv\n(.*?)```", document, flags=re.DOTALL)
    paths = []
    for name, block in zip(["lvr1_P0001_2023-04.csv", "lvr2_H001_2023-04.csv"], blocks, strict=True):
        paths.append(tmp_path / name)
        paths[-1].write_text(block, encoding="utf-8")
    result = validate_deliveries([read_delivery_file(path) for path in paths],
                                 pl.read_csv(ORGANISATIONS_FILE, infer_schema=False))
    assert [(delivery.records_accepted, delivery.records_rejected, delivery.records_objected)
            for delivery in result.files] == [(1, 0, 1), (1, 0, 0)]
    assert result.hints.height == 0


def test_every_rejection_is_told_to_senders(document: str) -> None:
    """Each whole-file rejection has its row, in the order checked, and every record-level error kind is named."""
    rows = re.findall(r"^\| `(\w+)` \| ", document[document.index("**A whole file is rejected**"):], flags=re.M)
    assert rows[:len(FILE_REJECTIONS)] == list(FILE_REJECTIONS)
    record_kinds = {check.code for check in RECORD_CHECKS} | set(get_args(LineProblem)) | {"objection_not_recorded"}
    for kind in sorted(record_kinds):
        assert f"`{kind}" in document, f"the record rejection {kind} is not in delivery-format.md"


def test_the_fhir_mapping_table_lists_every_concept_as_the_contract_has_it(document: str) -> None:
    """Each concept of contracts/fhir_mapping.py has its row: field, resource, profile, element, code, PWD concept id,
    and each of its coded values."""
    from contracts.fhir_mapping import CONCEPTS, KEY_ELEMENTS

    table = document[document.index("## FHIR: the same dossiers as FHIR Bundles"):]
    rows = {re.match(r"\| `(\w+)`", line).group(1): line for line in table.splitlines()  # type: ignore[union-attr]
            if re.match(r"\| `\w+`( \(derived\))? \| [A-Z]", line)}
    for concept in CONCEPTS:
        row = rows[concept.field]
        concept_id = concept.concept_id or "none in the Kernset"
        for part in (concept.resource, concept.profile, f"`{concept.element}`", concept_id):
            assert part in row, (concept.field, part)
        if concept.code is not None:
            assert f"{concept.code[0]} `{concept.code[1]}`" in row, concept.field
        for (_system, code), value in concept.values.items():
            assert f"`{code}` = {value}" in row, (concept.field, code)
    for name, where in KEY_ELEMENTS.items():
        assert f"| `{name}` | {where} |" in table
