"""The small world the disclosure attacks (tests/test_disclosure_attacks.py) are run in: a register, synthetic
births, the real app on a real local port, hostile users logged in through the login form, and the ground truth.

Register (four VSVs, twelve hospitals, five practices):
- V01 "VSV Noordkust": H001 (the provider's own), H002 and practice P001 (home births only, all at term). For
  `ga_band=32-36` the VSV minus H001 is H002 alone; for 37-41 it is H002 and P001.
- V02 "VSV Rivierenland": H003, H004, H005 (no births in March 2023) and P002. For March the VSV minus H003 is
  H004 alone; for January–February it is H004 and H005.
- V03 "VSV Heuvelland": H006, H007, H008, P003. V04 "VSV Polder": H009–H012, P004, P005.
Every hospital has its own number of births (public knowledge, as births per hospital are in the Netherlands), its
own rates (so the funnel finds overdispersion) and births in January–March 2023.

Ground truth is what the engine gives an admin (exact), `Truth` below; the attacks compare what they recover with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from functools import cache

import numpy as np
import polars as pl
import requests
from births_factory import birth, publish
from sqlalchemy import Engine

from auth.users import add_user, grant
from queries.catalogue import INDICATORS
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from queries.scope import Viewer

PASSWORD = "a long enough password for attacks"
MONTHS = ("2023-01", "2023-02", "2023-03")
QUARTER = "2023-01..2023-03"

REGISTER = [
    {"org_code": "V01", "name": "VSV Noordkust", "org_type": "vsv", "vsv_code": "V01"},
    {"org_code": "V02", "name": "VSV Rivierenland", "org_type": "vsv", "vsv_code": "V02"},
    {"org_code": "V03", "name": "VSV Heuvelland", "org_type": "vsv", "vsv_code": "V03"},
    {"org_code": "V04", "name": "VSV Polder", "org_type": "vsv", "vsv_code": "V04"},
    {"org_code": "H001", "name": "Ziekenhuis Noordkust", "org_type": "hospital", "vsv_code": "V01"},
    {"org_code": "H002", "name": "Ziekenhuis Duinrand", "org_type": "hospital", "vsv_code": "V01"},
    {"org_code": "H003", "name": "Ziekenhuis Rivierenland", "org_type": "hospital", "vsv_code": "V02"},
    {"org_code": "H004", "name": "Ziekenhuis Waalkant", "org_type": "hospital", "vsv_code": "V02"},
    {"org_code": "H005", "name": "Ziekenhuis Maaskant", "org_type": "hospital", "vsv_code": "V02"},
    {"org_code": "H006", "name": "Ziekenhuis Heuvelrug", "org_type": "hospital", "vsv_code": "V03"},
    {"org_code": "H007", "name": "Ziekenhuis Dalzicht", "org_type": "hospital", "vsv_code": "V03"},
    {"org_code": "H008", "name": "Ziekenhuis Bergzicht", "org_type": "hospital", "vsv_code": "V03"},
    {"org_code": "H009", "name": "Ziekenhuis Polderland", "org_type": "hospital", "vsv_code": "V04"},
    {"org_code": "H010", "name": "Ziekenhuis Dijkzicht", "org_type": "hospital", "vsv_code": "V04"},
    {"org_code": "H011", "name": "Ziekenhuis Molenwaard", "org_type": "hospital", "vsv_code": "V04"},
    {"org_code": "H012", "name": "Ziekenhuis Zeezicht", "org_type": "hospital", "vsv_code": "V04"},
    {"org_code": "P001", "name": "Verloskundigen Noordkust", "org_type": "practice", "vsv_code": "V01"},
    {"org_code": "P002", "name": "Verloskundigen Rivierenland", "org_type": "practice", "vsv_code": "V02"},
    {"org_code": "P003", "name": "Verloskundigen Heuvelland", "org_type": "practice", "vsv_code": "V03"},
    {"org_code": "P004", "name": "Verloskundigen Polder", "org_type": "practice", "vsv_code": "V04"},
    {"org_code": "P005", "name": "Verloskundigen Dijkzicht", "org_type": "practice", "vsv_code": "V04"},
]
NAMES = {org["org_code"]: org["name"] for org in REGISTER}
TYPE_OF = {org["org_code"]: org["org_type"] for org in REGISTER}
VSV_OF = {org["org_code"]: org["vsv_code"] for org in REGISTER}
HOSPITALS = tuple(code for code, kind in TYPE_OF.items() if kind == "hospital")
PRACTICES = tuple(code for code, kind in TYPE_OF.items() if kind == "practice")
VSVS = tuple(code for code, kind in TYPE_OF.items() if kind == "vsv")
PRACTICE_OF_VSV = {"V01": ("P001",), "V02": ("P002",), "V03": ("P003",), "V04": ("P004", "P005")}

# Births per month of each hospital (H005: none in March), each size its own; and the rates that differ.
MONTHLY_BIRTHS = {"H001": 26, "H002": 33, "H003": 41, "H004": 24, "H005": 28, "H006": 71, "H007": 60, "H008": 45,
                  "H009": 82, "H010": 37, "H011": 29, "H012": 54}
HOME_BIRTHS_PER_MONTH = {"P001": 9, "P002": 7, "P003": 8, "P004": 6, "P005": 5}
CAESAREAN_RATE = {"H001": 0.16, "H002": 0.31, "H003": 0.12, "H004": 0.27, "H005": 0.20, "H006": 0.14,
                  "H007": 0.24, "H008": 0.10, "H009": 0.18, "H010": 0.33, "H011": 0.15, "H012": 0.22}
SEED = 20231


def _hospital_birth(rng: np.random.Generator, hospital: str, month: str, index: int) -> dict:
    vsv = VSV_OF[hospital]
    practice = str(rng.choice(PRACTICE_OF_VSV[vsv])) if rng.random() < 0.5 else None
    band = str(rng.choice(["<32", "32-36", "37-41", ">=42"], p=[0.025, 0.085, 0.85, 0.04]))
    ga_days = {"<32": int(rng.integers(175, 224)), "32-36": int(rng.integers(224, 259)),
               "37-41": int(rng.integers(259, 294)), ">=42": int(rng.integers(294, 300))}[band]
    spread = 0.5 + list(MONTHLY_BIRTHS).index(hospital) / 11  # 0.5 .. 1.5: rates differ by hospital
    nulliparous = bool(rng.random() < 0.45)
    multiple = bool(rng.random() < 0.015)
    onset = str(rng.choice(["spontaneous", "induced", "prelabour_caesarean"], p=[0.66, 0.26, 0.08]))
    caesarean = onset == "prelabour_caesarean" or bool(rng.random() < CAESAREAN_RATE[hospital])
    instrumental = not caesarean and bool(rng.random() < 0.09 * spread)
    mode = "caesarean" if caesarean else "vacuum" if instrumental else "spontaneous"
    death = bool(rng.random() < 0.012 * spread) and ga_days >= 168
    stillbirth = death and bool(rng.random() < 0.5)
    weight = int(np.clip(rng.normal(3400 - (280 - ga_days) * 25, 420), 500, 5200))
    blood_loss = int(rng.integers(1000, 2500)) if rng.random() < 0.06 * spread else int(rng.integers(100, 999))
    age = int(rng.integers(19, 44))
    term = ga_days >= 259
    return birth(
        birth_month=month, birth_date=date(2023, int(month[5:]), 1 + index % 28), hospital_code=hospital,
        vsv_code=vsv, practice_code=practice, has_midwife_record=practice is not None,
        has_obstetrician_record=True, started_care_with_midwife=practice is not None,
        early_booking=bool(rng.random() < 0.8), link_method="deterministic",
        maternal_age=age, maternal_age_band="<25" if age < 25 else "25-29" if age < 30 else "30-34" if age < 35
        else "35-39" if age < 40 else ">=40",
        parity=0 if nulliparous else 1, parity_group="nulliparous" if nulliparous else "multiparous",
        smoking=bool(rng.random() < 0.08 * spread), ses_quintile=int(rng.integers(1, 6)),
        plurality=2 if multiple else 1, plurality_group="multiple" if multiple else "singleton",
        ga_days=ga_days, ga_weeks=ga_days // 7, ga_band=band, onset_of_labour=onset,
        labour_started=onset != "prelabour_caesarean", care_level_onset="obstetrician", midwife_led_at_onset=False,
        referral_during_labour=None,
        robson_group=("1" if nulliparous else "3") if onset == "spontaneous" else
        ("2a" if nulliparous else "4a") if onset == "induced" else ("2b" if nulliparous else "4b"),
        ntsv=nulliparous and term and not multiple, mode_of_birth=mode, caesarean=caesarean,
        vaginal_birth=not caesarean, spontaneous_vaginal=mode == "spontaneous", instrumental=instrumental,
        place_of_birth="hospital_obstetrician", home_birth=False,
        epidural=onset != "prelabour_caesarean" and bool(rng.random() < 0.3 * spread),
        episiotomy=not caesarean and bool(rng.random() < 0.2 * spread),
        oasis=not caesarean and bool(rng.random() < 0.03 * spread), blood_loss_ml=blood_loss,
        pph=blood_loss >= 1000, birth_weight_g=weight, sga=bool(rng.random() < 0.1 * spread) if 168 <= ga_days <= 294
        else None, preterm=ga_days < 259, very_preterm=ga_days < 224, live_birth=not stillbirth,
        stillbirth=stillbirth, early_neonatal_death=death and not stillbirth, neonatal_death=death and not stillbirth,
        perinatal_death=death, perinatal_death_22w_7d=death, perinatal_death_24w_28d=death,
        apgar_5min=5 if rng.random() < 0.02 * spread else 9,
        nicu_admission=bool(rng.random() < 0.07 * spread), breastfeeding=bool(rng.random() < 0.8))


def _home_birth(rng: np.random.Generator, practice: str, month: str, index: int) -> dict:
    ga_days = int(rng.integers(262, 292))
    nulliparous = bool(rng.random() < 0.35)
    return birth(birth_month=month, birth_date=date(2023, int(month[5:]), 1 + index % 28), practice_code=practice,
                 hospital_code=None, vsv_code=VSV_OF[practice], ga_days=ga_days, ga_weeks=ga_days // 7,
                 ga_band="37-41", parity=0 if nulliparous else 1,
                 parity_group="nulliparous" if nulliparous else "multiparous", robson_group="1" if nulliparous
                 else "3", ntsv=nulliparous, smoking=bool(rng.random() < 0.05),
                 episiotomy=bool(rng.random() < 0.05), early_booking=bool(rng.random() < 0.85))


def make_births(seed: int = SEED) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for month in MONTHS:
        for hospital, count in MONTHLY_BIRTHS.items():
            if hospital == "H005" and month == "2023-03":
                continue
            rows += [_hospital_birth(rng, hospital, month, i) for i in range(count)]
        for practice, count in HOME_BIRTHS_PER_MONTH.items():
            rows += [_home_birth(rng, practice, month, i) for i in range(count)]
    for row in rows:  # low Apgar is counted for term singletons born alive
        row["low_apgar"] = row["apgar_5min"] < 7
    return rows


# ---- accounts -----------------------------------------------------------------------------------------------

# name → (add_user arguments, grants, the organisations the account may see exactly: its own)
ACCOUNTS: dict[str, tuple[dict, tuple[str, ...], frozenset[str]]] = {
    "provider": ({"role": "provider", "org_code": "H001"}, (), frozenset({"H001"})),
    "provider_v02": ({"role": "provider", "org_code": "H003"}, (), frozenset({"H003"})),
    "vsv": ({"role": "vsv", "org_code": "V01"}, (), frozenset({"V01", "H001", "H002", "P001"})),
    "researcher": ({"role": "researcher"}, (), frozenset()),
    "granted_researcher": ({"role": "researcher"}, ("P002",), frozenset({"P002"})),
}


def fill(engine: Engine) -> None:
    publish(engine, make_births(), register=REGISTER)
    for name, (arguments, grants, _) in ACCOUNTS.items():
        add_user(engine, name, password=PASSWORD, **arguments)
        for code in grants:
            grant(engine, name, code)


# ---- the app on a real port ---------------------------------------------------------------------------------

class Hostile:
    """A logged-in user attacking over HTTP: the login form, the JSON API and Dash's callback endpoint."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.username = username
        self.http = requests.Session()
        self.requests = 0
        page = self.http.get(f"{base}/login", timeout=30).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = self.http.post(f"{base}/login", data={"username": username, "password": PASSWORD,
                                                       "csrf_token": csrf}, allow_redirects=False, timeout=30)
        assert answer.status_code == 303, f"login of {username} failed: {answer.status_code}"
        assert self.http.get(f"{base}/", timeout=30).status_code == 200  # Dash Pages registers its router callback
        self.dependencies = self.http.get(f"{base}/_dash-dependencies", timeout=30).json()

    def api(self, question: str, **parameters: str) -> dict:
        """GET /api/v1/<question> with these parameters; must answer 200 (the attack asks what it may ask)."""
        self.requests += 1
        answer = self.http.get(f"{self.base}/api/v1/{question}", params=parameters, timeout=60)
        assert answer.status_code == 200, f"{question} {parameters}: {answer.status_code} {answer.text[:300]}"
        return answer.json()

    def api_status(self, question: str, **parameters: str) -> tuple[int, str]:
        self.requests += 1
        answer = self.http.get(f"{self.base}/api/v1/{question}", params=parameters, timeout=60)
        return answer.status_code, answer.text

    def callback(self, output: str, search: str, *, indicator: str = "caesarean", path: str = "/",
                 values: Mapping[str, object] | None = None) -> dict:
        """POST /_dash-update-component as the browser would for the callback whose outputs include `output`
        ("component-id.property"), built from the app's own /_dash-dependencies: `search` is the URL's query
        string. Returns {component id: {property: value}}."""
        entry = next(item for item in self.dependencies if output in item["output"])
        chosen = {"view-search.data": search, "overview-request.data": search, "compare-request.data": search,
                  "detail-request.data": {"search": search, "indicator": indicator},
                  "detail-indicator.data": indicator, "detail-grain.value": "month",
                  "detail-overdispersion.value": "auto", "detail-dimension.value": "parity",
                  "overview-overdispersion.value": "auto", "overview-spine-sort.value": "order",
                  "overview-spine-show.value": "all", "_pages_location.pathname": path,
                  "_pages_location.search": search, **(values or {})}

        def filled(items: list[dict]) -> list[dict]:
            return [{"id": item["id"], "property": item["property"],
                     "value": chosen.get(f"{item['id']}.{item['property']}")} for item in items]

        key = entry["output"]
        names = key.split("@")[0].strip(".").split("...")
        outputs = [dict(zip(("id", "property"), name.rsplit(".", 1), strict=True)) for name in names]
        body = {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
                "inputs": filled(entry["inputs"]), "state": filled(entry["state"]),
                "changedPropIds": [f"{item['id']}.{item['property']}" for item in entry["inputs"]]}
        self.requests += 1
        answer = self.http.post(f"{self.base}/_dash-update-component", json=body, timeout=60)
        assert answer.status_code == 200, f"{output}: {answer.status_code} {answer.text[:300]}"
        return answer.json()["response"]


# ---- reading what the pages send ----------------------------------------------------------------------------

NUMBER = r"\d{1,3}(?:[.,]\d{3})*"
PAIR = re.compile(rf"(?<![\d.,])({NUMBER}) / ({NUMBER})(?![\d.,]*\d)")


def whole(text: str) -> int:
    return int(text.replace(".", "").replace(",", ""))


def count_pairs(text: str) -> list[tuple[int, int]]:
    """Every "numerator / denominator" the pages write ("12 / 1.034" in Dutch, "12 / 1,034" in English)."""
    return [(whole(n), whole(d)) for n, d in PAIR.findall(text)]


def walk(node: object) -> Iterator[dict]:
    """Every dict in a JSON document (components, figures, traces, table data)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def component(response: dict, component_id: str) -> object | None:
    """The props.children (or the figure / data) of the component with this id anywhere in a callback answer."""
    for node in walk(response):
        props = node.get("props")
        if isinstance(props, dict) and props.get("id") == component_id:
            return props.get("children", props.get("figure", props.get("data")))
    return None


def traces(response: object) -> list[dict]:
    return [trace for node in walk(response) if isinstance(node.get("figure"), dict)
            for trace in node["figure"].get("data", [])]


def chart_tables(response: object) -> list[dict]:
    """The data of every chart's table (sent with the chart, drawn in the browser on request)."""
    return [node for node in walk(response) if {"caption", "headers", "rows"} <= set(node)]


# ---- ground truth -------------------------------------------------------------------------------------------

Counts = tuple[int, int]
ADMIN = Viewer("admin")


class Truth:
    """Exact figures, from the engine as an admin sees them (everything by name, exact)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = IndicatorEngine(engine, EngineConfig(pseudonym_key="truth"))

    @cache  # noqa: B019 - one Truth per module; the answers are small
    def level(self, indicator: str, level: str, filters: tuple[tuple[str, str], ...] = ()) -> dict[str, Counts]:
        """Code → (numerator, denominator) of every organisation of `level` with births in the denominator, plus
        "reference" (all of them) and "national"."""
        answer = self.engine.results(indicator, level, ADMIN, dict(filters))
        cells = {row["org_code"]: (row["numerator"], row["denominator"]) for row in answer["rows"]}
        assert all(isinstance(n, int) and isinstance(d, int) for n, d in cells.values()), "admin figures are exact"
        cells["reference"] = (answer["reference"]["numerator"], answer["reference"]["denominator"])
        cells["national"] = (answer["national"]["numerator"], answer["national"]["denominator"])
        return cells

    def scan(self, level: str, filters: Mapping[str, str]) -> dict[str, dict[str, Counts]]:
        """Indicator → code → counts for every organisation of `level`, in one pass over the published births (to
        find an attack's material quickly; the figures an attack is held to come from `level`)."""
        from queries.filters import parse_filters
        from queries.store import LEVEL_COLUMNS, numerator_column, population_column

        snapshot = self.engine.store.snapshot()
        assert snapshot is not None, "a published data version"
        column = LEVEL_COLUMNS[level]
        ids = [definition.id for definition in INDICATORS]
        table = (snapshot.frame.lazy().filter(parse_filters(dict(filters)).expression() & pl.col(column).is_not_null())
                 .group_by(pl.col(column).cast(pl.String).alias("code"))
                 .agg([expression for i in ids for expression in (
                     pl.col(numerator_column(i)).cast(pl.Int64).sum().alias(f"n:{i}"),
                     pl.col(population_column(i)).cast(pl.Int64).sum().alias(f"d:{i}"))])
                 .collect())
        return {i: {row["code"]: (row[f"n:{i}"], row[f"d:{i}"]) for row in table.iter_rows(named=True)} for i in ids}

    def of(self, indicator: str, code: str, filters: Mapping[str, str] | None = None) -> Counts:
        """One organisation's exact counts ((0, 0) without births in the denominator)."""
        return self.level(indicator, TYPE_OF[code], tuple(sorted((filters or {}).items()))).get(code, (0, 0))

    def indicators_of(self, org_type: str) -> list[str]:
        """The indicators on the overview of an organisation of this type."""
        from queries.catalogue import indicators_for

        return [definition.id for definition in indicators_for(org_type)]


def masked(counts: Counts, low: int = 1, high: int = 4) -> bool:
    return any(low <= value <= high for value in counts)
