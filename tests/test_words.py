"""Words, not codes (issue 13): what each indicator counts, the data dictionary's meanings, the delivery fields and
the audit actions have a label in each language, written as words rather than as the code's conditions or names.
(That every code has a label in both languages: tests/test_texts.py CODE_LISTS. Times with their zone:
tests/test_text_formatting.py; the pages as a user reads them: tests/browser/test_words.py.)"""

from __future__ import annotations

import re

import pytest

from auth.audit import ACTIONS
from contracts.delivery_format import COLUMNS
from dashboards.layout import counted_terms
from queries.catalogue import INDICATORS
from queries.dictionary import births_dictionary
from texts import LANGUAGES, code_label

CODE_LIKE = re.compile(r"=|\btrue\b|\bfalse\b|is missing|\ball births\b|[a-z]+_[a-z]+")


@pytest.mark.parametrize("language", LANGUAGES)
def test_what_each_indicator_counts_is_in_words(language):
    for indicator in INDICATORS:
        terms = counted_terms(indicator.as_dict(), language)
        assert len(terms) == 3 if indicator.exclusions else len(terms) == 2
        for _, value in terms:
            assert value and not CODE_LIKE.search(value), f"{indicator.id}: {value!r}"


def test_the_dutch_and_english_words_differ():
    for indicator in INDICATORS:
        dutch = counted_terms(indicator.as_dict(), "nl")
        english = counted_terms(indicator.as_dict(), "en")
        assert [value for _, value in dutch] != [value for _, value in english], indicator.id


def test_the_data_dictionary_means_in_the_page_language():
    for entry in births_dictionary():
        assert code_label("births_column", entry.column, "en") == entry.meaning  # the schema's own words
        assert code_label("births_column", entry.column, "nl") != entry.meaning, entry.column


def test_fields_and_audit_actions_are_words_in_both_languages():
    for language in LANGUAGES:
        for name in COLUMNS:
            assert not re.fullmatch(r"[A-Z][a-z]+( [a-z]+)* (ml|g|days)", code_label("field", name, language))
            assert "_" not in code_label("field", name, language)
        for action in ACTIONS:
            assert "_" not in code_label("audit_action", action, language)
    assert code_label("field", "blood_loss_ml", "en") != "Blood loss ml"
