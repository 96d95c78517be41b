"""The export question (IndicatorEngine.export, queries/export_table.py): the same figures, scope and disclosure as
the engine's other answers, in one row per figure. Compared with `results` (no breakdown), `trend` and `breakdown`
(one organisation by period or target-group value) for every kind of viewer, in the disclosure attacks' world
(tests/disclosure_world.py: four VSVs, twelve hospitals, five practices)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest
from disclosure_world import REGISTER, fill

from queries import disclosure
from queries.answers import COLUMN_TYPES
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from queries.export_table import EXPORT_COLUMNS
from queries.filters import InvalidParameterError
from queries.scope import NotPermittedError, Viewer
from tables.database import make_engine

VIEWERS = {
    "provider": Viewer("provider", org_code="H001"),
    "vsv": Viewer("vsv", vsv_code="V01"),
    "researcher": Viewer("researcher"),
    "granted_researcher": Viewer("researcher", org_code="P002"),
    "admin": Viewer("admin"),
}
FIGURES = ("numerator", "denominator", "rate", "ci_low", "ci_high", "position", "verdict", "disclosure",
           "suppression_reason")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndicatorEngine]:
    db = make_engine(f"sqlite:///{tmp_path_factory.mktemp('export') / 'world.db'}")
    fill(db)
    yield IndicatorEngine(db, EngineConfig(pseudonym_key="export tests"))
    db.dispose()


def rows_of(engine: IndicatorEngine, viewer: Viewer, filters: dict | None = None, **question: object) -> pl.DataFrame:
    table = engine.export(viewer, filters or {}, **question)
    chunks = list(table.chunks())
    for chunk in chunks:
        assert chunk.columns == [column.name for column in EXPORT_COLUMNS]
        assert chunk.dtypes == [COLUMN_TYPES[column.kind] for column in EXPORT_COLUMNS]
    return pl.concat(chunks)


def figure(row: dict) -> dict:
    """A row's figures as the engine's other answers name them."""
    band = (row["size_band_low"], row["size_band_high"])
    return {**{name: row[name] for name in FIGURES}, "band": None if band == (None, None) else band}


def answer_figure(cell: dict) -> dict:
    band = cell.get("size_band")
    return {**{name: cell.get(name) for name in FIGURES}, "band": (band["low"], band["high"]) if band else None}


@pytest.mark.parametrize("viewer", list(VIEWERS))
@pytest.mark.parametrize("level", ["hospital", "vsv", "practice"])
@pytest.mark.parametrize("filters", [{}, {"period": "2023-03"}, {"ga_band": "32-36"}])
def test_without_breakdown_the_rows_are_the_results(engine: IndicatorEngine, viewer: str, level: str,
                                                   filters: dict) -> None:
    indicators = ["caesarean", "pph", "preterm"]
    rows = rows_of(engine, VIEWERS[viewer], filters, indicators=indicators, level=level)
    for indicator in indicators:
        answer = engine.results(indicator, level, VIEWERS[viewer], filters, export=True)
        mine = rows.filter(pl.col("indicator_id") == indicator)
        organisations = {row["org_label"]: figure(row) for row in mine.filter(row_kind="organisation").iter_rows(
            named=True)}
        assert organisations == {row["label"]: answer_figure(row) for row in answer["rows"]}
        national = mine.filter(row_kind="national").row(0, named=True)
        comparator = mine.filter(row_kind="comparator").row(0, named=True)
        assert figure(national) == answer_figure(answer["national"])
        assert figure(comparator) == answer_figure(answer["reference"])
        # Own, then named, then peers (as the results' rows).
        assert mine.filter(row_kind="organisation")["org_label"].to_list() == [row["label"] for row in answer["rows"]]


@pytest.mark.parametrize("viewer", ["provider", "vsv", "granted_researcher", "admin"])
@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
def test_one_organisation_by_period_is_its_trend(engine: IndicatorEngine, viewer: str, grain: str) -> None:
    code = {"provider": "H001", "vsv": "H002", "granted_researcher": "P002", "admin": "H005"}[viewer]
    rows = rows_of(engine, VIEWERS[viewer], indicators=["caesarean", "instrumental"], org_code=code, grain=grain)
    for indicator in ("caesarean", "instrumental"):
        trend = engine.trend(indicator, VIEWERS[viewer], {}, grain=grain, org_code=code, export=True)
        mine = rows.filter(pl.col("indicator_id") == indicator)
        national, organisation = trend["series"]
        assert [figure(row) for row in mine.filter(row_kind="national").iter_rows(named=True)] == [
            answer_figure(point) for point in national["points"]]
        of_code = mine.filter(row_kind="organisation")
        assert set(of_code["org_code"]) == {code}
        assert of_code["period"].to_list() == [point["period"] for point in organisation["points"]
                                               if point["denominator"] != 0]
        shown = {point["period"]: answer_figure(point) for point in organisation["points"]}
        assert all(figure(row) == shown[row["period"]] for row in of_code.iter_rows(named=True))


@pytest.mark.parametrize("dimension", ["parity", "ga_band", "place"])
def test_one_organisation_by_target_group_is_its_breakdown(engine: IndicatorEngine, dimension: str) -> None:
    viewer = VIEWERS["provider"]
    rows = rows_of(engine, viewer, indicators=["caesarean"], org_code="H001", dimensions=[dimension], language="en")
    answer = engine.breakdown("caesarean", dimension, viewer, {}, org_code="H001", export=True)
    national, organisation = answer["series"]
    exported = {row["value_1"]: row for row in rows.filter(row_kind="national").iter_rows(named=True)}
    for value in national["values"]:
        if value["denominator"] == 0 and value["value"] not in exported:
            continue  # no births of that value: no row
        row = exported[value["value"]]
        assert figure(row) == answer_figure(value)
        assert row["value_1_label"] == value["label_en"] and row["dimension_1"] == dimension
    own = {row["value_1"]: row for row in rows.filter(row_kind="organisation").iter_rows(named=True)}
    for value in organisation["values"]:
        if value["value"] in own:
            assert figure(own[value["value"]]) == answer_figure(value)


def test_a_peer_keeps_its_pseudonym_across_periods_and_values_of_an_indicator(engine: IndicatorEngine) -> None:
    rows = rows_of(engine, VIEWERS["researcher"], indicators=["caesarean", "epidural"], level="hospital",
                   grain="month", dimensions=["parity"])
    peers = rows.filter(row_kind="organisation")
    assert peers["named"].sum() == 0 and peers["org_code"].null_count() == peers.height
    per_indicator = {indicator: set(peers.filter(indicator_id=indicator)["org_label"])
                     for indicator in ("caesarean", "epidural")}
    assert len(per_indicator["caesarean"]) == 12  # every hospital, one label each across months and parity
    assert not per_indicator["caesarean"] & per_indicator["epidural"]  # not followed from one indicator to the next
    months = peers.filter(indicator_id="caesarean").group_by("org_label").agg(pl.col("period").n_unique())
    assert months["period"].max() == 3 and months["period"].min() >= 2  # H005 has no births in March


def test_peers_share_bands_of_five_within_each_cell_and_show_no_counts(engine: IndicatorEngine) -> None:
    rows = rows_of(engine, VIEWERS["provider"], indicators=["caesarean", "instrumental"], level="hospital",
                   grain="month")
    peers = rows.filter(disclosure="peer")
    assert peers.select("numerator", "denominator", "ci_low", "ci_high").null_count().row(0) == (peers.height,) * 4
    banded = peers.filter(pl.col("size_band_low").is_not_null())
    sizes = banded.group_by("indicator_id", "period", "size_band_low", "size_band_high").len()
    assert sizes["len"].min() >= disclosure.PEER_GROUP_SIZE
    # A peer's rate is rounded to 0.1%.
    rates = peers["rate"].drop_nulls().to_numpy()
    assert np.allclose(np.round(rates * 1000), rates * 1000)


def test_fewer_than_five_peers_in_a_cell_withholds_them_and_the_comparator(engine: IndicatorEngine) -> None:
    # A VSV user's peers at VSV level: three other VSVs.
    rows = rows_of(engine, VIEWERS["vsv"], indicators=["caesarean"], level="vsv", grain="quarter")
    peers = rows.filter(disclosure="peer")
    assert peers.height == 3
    assert set(peers["suppression_reason"]) == {"few_peers"} and peers["rate"].null_count() == 3
    assert peers["size_band_low"].null_count() == 3
    comparator = rows.filter(row_kind="comparator").row(0, named=True)
    assert comparator["suppression_reason"] == "few_peers" and comparator["denominator"] is None
    own = rows.filter(own=True).row(0, named=True)
    assert own["org_code"] == "V01" and own["disclosure"] == "exact" and own["denominator"] > 0


def test_a_providers_vsv_is_withheld_by_the_structural_rule(engine: IndicatorEngine) -> None:
    rows = rows_of(engine, VIEWERS["provider"], indicators=["caesarean"], level="vsv", grain="month")
    own_vsv = rows.filter(org_code="V01")
    assert own_vsv.height == 3 and set(own_vsv["suppression_reason"]) == {"complementary"}
    assert own_vsv["denominator"].null_count() == 3


def test_masked_cells_are_empty_with_their_reason(engine: IndicatorEngine) -> None:
    rows = rows_of(engine, VIEWERS["admin"], indicators=["pph", "oasis"], level="hospital", grain="month")
    masked = rows.filter(suppression_reason="count_masked")
    assert masked.height > 0
    assert masked.select("numerator", "denominator", "rate").null_count().row(0) == (masked.height,) * 3
    assert masked["suppressed"].all()
    # Own counts of 1–4 are masked in an export too (admin sees everything exactly, as its own).
    assert set(masked["disclosure"]) == {"exact"}


def test_the_export_says_what_it_answers(engine: IndicatorEngine) -> None:
    table = engine.export(VIEWERS["researcher"], {"period": "2023-01..2023-02", "parity": "nulliparous"},
                          indicators=["caesarean", "stillbirth"], level="hospital", grain="month",
                          dimensions=["ga_band"])
    about = table.about
    assert about["question"] == {
        "indicators": ["caesarean", "stillbirth"], "level": "hospital", "org": None, "dimensions": ["ga_band"],
        "grain": "month", "overdispersion": about["question"]["overdispersion"],
        "filters": {"period": "2023-01..2023-02", "parity": "nulliparous"}, "language": "nl",
        "data_version": about["data_version"]["number"]}
    assert [definition["id"] for definition in about["indicators"]] == ["caesarean", "stillbirth"]
    assert about["rules"]["peer_group_size"] == disclosure.PEER_GROUP_SIZE
    rows = pl.concat(list(table.chunks()))
    assert set(rows["period"]) == {"2023-01", "2023-02"}
    assert rows["period_start"].min().isoformat() == "2023-01-01"
    assert rows["period_end"].max().isoformat() == "2023-02-28"
    assert rows.filter(pl.col("indicator_id") == "stillbirth")["unit_scale"].unique().to_list() == [1000]


@pytest.mark.parametrize(("question", "parameter"), [
    ({"indicators": ["nope"]}, "indicator"), ({"level": "country"}, "level"), ({"grain": "week"}, "grain"),
    ({"dimensions": ["parity", "parity"]}, "dimension"), ({"dimensions": ["a"]}, "dimension"),
    ({"dimensions": ["parity", "ga_band", "place"]}, "dimension"), ({"language": "fr"}, "language"),
])
def test_a_wrong_question_names_its_parameter(engine: IndicatorEngine, question: dict, parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as error:
        engine.export(VIEWERS["admin"], {}, **question)
    assert error.value.parameter == parameter


def test_an_organisation_the_viewer_may_not_name_is_refused(engine: IndicatorEngine) -> None:
    with pytest.raises(NotPermittedError):
        engine.export(VIEWERS["provider"], {}, org_code="H002")
    with pytest.raises(NotPermittedError):
        engine.export(VIEWERS["researcher"], {}, org_code="H001")
    assert {row["org_code"] for row in REGISTER if row["org_type"] == "hospital"} >= {"H001", "H002"}


def test_present_columns_is_present_cell_by_cell() -> None:
    """The export's vectorised presentation gives what `present` gives every page and answer, on random cells of
    every treatment, with counts around the masking and minimum-denominator edges."""
    rng = np.random.default_rng(7)
    size = 4000
    exact_d = rng.integers(0, 40, size).astype(float)
    exact_n = np.floor(exact_d * rng.random(size))
    published_d = np.maximum(exact_d + rng.integers(-2, 3, size), 0)
    published_n = np.clip(exact_n + rng.integers(-2, 3, size), 0, published_d)
    treatment = rng.choice(np.array(disclosure.TREATMENTS, dtype=object), size)
    from queries.statistics import rates_with_interval
    exact = {"numerator": exact_n, "denominator": exact_d, **rates_with_interval(exact_n, exact_d)}
    published = {"numerator": published_n, "denominator": published_d,
                 **rates_with_interval(published_n, published_d)}
    positions = rng.choice(np.array(["within", "above_95", None], dtype=object), size)
    rules = disclosure.SmallNumbers(10, 1, 4)
    for export in (True, False):
        shown = disclosure.present_columns(exact, published, treatment, rules, export=export, unit_scale=100,
                                           judged={"position": positions})
        for i in range(size):
            def variant(arrays: dict, i: int = i) -> dict:
                value = {name: arrays[name][i] for name in disclosure.VARIANT_FIELDS}
                return {name: (None if np.isnan(v) else int(v) if name in ("numerator", "denominator") else v)
                        for name, v in value.items()}
            cell = {"position": positions[i], "exact": variant(exact), "published": variant(published)}
            expected = disclosure.present(cell, treatment[i], None, rules, export=export, unit_scale=100)
            for name in (*disclosure.VARIANT_FIELDS, "position", "suppressed", "suppression_reason", "disclosure"):
                value = shown[name][i]
                value = None if isinstance(value, float) and np.isnan(value) else value
                assert value == pytest.approx(expected[name], abs=1e-12), (name, i, cell, treatment[i], export)


def test_an_export_can_name_a_kept_data_version(sqlite_engine) -> None:
    from births_factory import publish, random_births

    from queries.store import VersionNotKeptError

    publish(sqlite_engine, random_births(200, seed=1), data_version=1)
    publish(sqlite_engine, random_births(500, seed=2), data_version=2)
    engine = IndicatorEngine(sqlite_engine, EngineConfig(pseudonym_key="export tests"))
    admin = Viewer("admin")

    def births(version: int | None) -> int:
        table = engine.export(admin, {}, indicators=["caesarean"], data_version=version)
        national = pl.concat(list(table.chunks())).filter(row_kind="national").row(0, named=True)
        assert table.about["data_version"]["number"] == (version or 2)
        assert table.about["question"]["data_version"] == (version or 2)
        return national["denominator"]

    assert births(None) == births(2) == 500
    assert births(1) == 200
    with pytest.raises(VersionNotKeptError) as error:
        engine.export(admin, {}, data_version=7)
    assert sorted(error.value.kept) == [1, 2]


@pytest.mark.parametrize("viewer", ["provider", "researcher", "admin"])
def test_without_breakdown_the_case_mix_columns_are_the_adjusted_answer(engine: IndicatorEngine, viewer: str) -> None:
    rows = rows_of(engine, VIEWERS[viewer], indicators=["caesarean", "preterm"], level="hospital")
    answer = engine.adjusted("caesarean", "hospital", VIEWERS[viewer], {}, export=True)
    organisations = rows.filter(indicator_id="caesarean", row_kind="organisation")
    fields = {"expected": "expected", "oe_ratio": "ratio", "oe_low": "ratio_low", "oe_high": "ratio_high",
              "adjusted_rate": "adjusted_rate"}

    def shown(values: dict, names: list[str]) -> tuple:
        return tuple(None if values[name] is None else round(values[name], 9) for name in names)

    # Peers carry other pseudonyms in `adjusted` (another answer): compared as a multiset, named rows by code.
    exported = sorted((shown(row, list(fields)) for row in organisations.iter_rows(named=True)), key=repr)
    adjusted = sorted((shown(row, list(fields.values())) for row in answer["rows"]), key=repr)
    assert exported == adjusted
    assert any(value is not None for row in exported for value in row)
    # Preterm has no case-mix adjustment (its outcome is a stratum), and a breakdown has none either.
    assert rows.filter(indicator_id="preterm")["oe_ratio"].null_count() == rows.filter(indicator_id="preterm").height
    by_month = rows_of(engine, VIEWERS[viewer], indicators=["caesarean"], level="hospital", grain="month")
    assert by_month["oe_ratio"].null_count() == by_month.height


# ---- the national figure and the comparator in a narrow cell (a review's attack) ----------------------------------

NARROW_REGISTER = [
    {"org_code": "V01", "name": "VSV Een", "org_type": "vsv", "vsv_code": "V01"},
    {"org_code": "H001", "name": "Ziekenhuis Een", "org_type": "hospital", "vsv_code": "V01"},
    {"org_code": "H002", "name": "Ziekenhuis Twee", "org_type": "hospital", "vsv_code": "V01"},
    *({"org_code": f"V0{n}", "name": f"VSV {n}", "org_type": "vsv", "vsv_code": f"V0{n}"} for n in range(2, 7)),
    *({"org_code": f"H00{n + 1}", "name": f"Ziekenhuis {n + 1}", "org_type": "hospital", "vsv_code": f"V0{n}"}
      for n in range(2, 7)),
]


@pytest.fixture(scope="module")
def narrow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndicatorEngine]:
    """Seven hospitals in six VSVs (H001 and H002 share VSV V01, which is withheld for H001's provider) with births in
    January; in April only H002 has births: then the national figure, the comparator and the VSV are all H002's."""
    from births_factory import birth, publish

    rows = []
    for index, hospital in enumerate(h["org_code"] for h in NARROW_REGISTER if h["org_type"] == "hospital"):
        vsv = next(h["vsv_code"] for h in NARROW_REGISTER if h["org_code"] == hospital)
        for i in range(60 + 10 * index):
            rows.append(birth(birth_month="2023-01", hospital_code=hospital, vsv_code=vsv, practice_code=None,
                              caesarean=i % 4 == 0, vaginal_birth=i % 4 != 0))
    rows += [birth(birth_month="2023-04", hospital_code="H002", vsv_code="V01", practice_code=None,
                   caesarean=i % 3 == 0, vaginal_birth=i % 3 != 0) for i in range(30)]
    db = make_engine(f"sqlite:///{tmp_path_factory.mktemp('narrow') / 'narrow.db'}")
    publish(db, rows, register=NARROW_REGISTER)
    yield IndicatorEngine(db, EngineConfig(pseudonym_key="narrow"))
    db.dispose()


PROVIDER = Viewer("provider", org_code="H001")


def test_in_a_cell_of_one_peer_national_and_comparator_are_withheld_in_every_answer(narrow: IndicatorEngine) -> None:
    april = {"period": "2023-04"}
    for level in ("hospital", "vsv"):
        answer = narrow.results("caesarean", level, PROVIDER, april, export=True)
        for cell in (answer["national"], answer["reference"]):
            assert (cell["suppression_reason"], cell["numerator"], cell["denominator"]) == ("few_peers", None, None)
        rows = rows_of(narrow, PROVIDER, indicators=["caesarean"], level=level, grain="month")
        shown = rows.filter((pl.col("period") == "2023-04") & pl.col("row_kind").is_in(["national", "comparator"]))
        assert set(shown["suppression_reason"]) == {"few_peers"} and shown["denominator"].null_count() == 2
    overview = narrow.overview(PROVIDER, april, export=True)
    caesarean = next(row for row in overview["rows"] if row["indicator"]["id"] == "caesarean")
    assert caesarean["national"]["suppression_reason"] == "few_peers"
    assert caesarean["vsv"]["suppression_reason"] == "complementary"
    national = narrow.trend("caesarean", PROVIDER, {}, grain="month")["series"][0]["points"]
    assert {point["period"]: point["suppression_reason"] for point in national}["2023-04"] == "few_peers"
    # January: seven hospitals in six VSVs — the national figure is shown (perturbed), so is the comparator.
    january = narrow.results("caesarean", "hospital", PROVIDER, {"period": "2023-01"}, export=True)
    assert january["national"]["disclosure"] == "perturbed" and january["national"]["denominator"] > 0
    assert january["reference"]["denominator"] > 0


def test_the_national_figure_needs_five_vsvs_besides_the_viewers_own() -> None:
    assert not disclosure.national_withheld(0, 1)  # empty: nothing to hide
    assert disclosure.national_withheld(5, 1)  # a provider's own VSV and four others
    assert not disclosure.national_withheld(6, 1)
    assert disclosure.national_withheld(4, 0) and not disclosure.national_withheld(5, 0)  # a researcher
