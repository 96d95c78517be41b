"""The export question's table: its columns in their documented order (docs/api.md, "Exports").

One row per figure: an indicator for one unit (national, the comparator "all organisations of a level", or one
organisation), one period (with a grain) and one value of each breakdown dimension. Counts are integers, rates
proportions (0..1) with `unit_scale` saying per how many they are shown (100: %, 1000: ‰); a cell that shows less
is empty, never a word, with its `suppression_reason`.
"""

from __future__ import annotations

from queries.answers import ExportColumn

EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("data_version", "integer"),
    ExportColumn("indicator_id", "string"),
    ExportColumn("indicator_name", "string"),
    ExportColumn("row_kind", "string"),  # national, comparator or organisation
    ExportColumn("level", "string"),  # practice, hospital or vsv; empty for national
    ExportColumn("org_code", "string"),  # empty for an organisation the viewer may not name
    ExportColumn("org_label", "string"),  # name, pseudonym of this export, or all_<level> / national
    ExportColumn("named", "boolean"),
    ExportColumn("own", "boolean"),
    ExportColumn("period", "string"),  # 2024-03, 2024-Q1 or 2024 with a grain; empty without
    ExportColumn("period_start", "date"),
    ExportColumn("period_end", "date"),
    ExportColumn("dimension_1", "string"),
    ExportColumn("value_1", "string"),
    ExportColumn("value_1_label", "string"),
    ExportColumn("dimension_2", "string"),
    ExportColumn("value_2", "string"),
    ExportColumn("value_2_label", "string"),
    ExportColumn("numerator", "integer"),
    ExportColumn("denominator", "integer"),
    ExportColumn("rate", "number"),
    ExportColumn("ci_low", "number"),
    ExportColumn("ci_high", "number"),
    ExportColumn("unit_scale", "integer"),
    ExportColumn("size_band_low", "integer"),
    ExportColumn("size_band_high", "integer"),
    ExportColumn("position", "string"),  # funnel position without breakdown: within, above_95, ...
    ExportColumn("verdict", "string"),
    ExportColumn("disclosure", "string"),  # exact, perturbed or peer
    ExportColumn("suppressed", "boolean"),
    ExportColumn("suppression_reason", "string"),
)
