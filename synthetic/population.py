"""The register as arrays, and the organisations' own habits (random effects and true outliers).

The generator draws every woman's organisation and postcode from these arrays. Organisation effects are
drawn once per seed (not per year), so a practice that refers often does so every year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from synthetic.organisations import PROVINCES


@dataclass(frozen=True)
class RegisterArrays:
    practice_codes: np.ndarray  # (P,) str
    practice_vsv: np.ndarray  # (P,) index into vsv_codes
    practice_hospitals: np.ndarray  # (P, 2) index into hospital_codes; second -1 when only one
    practice_postcode_start: np.ndarray  # (P,) first index of the practice's catchment in `postcodes`
    practice_postcode_count: np.ndarray  # (P,)
    hospital_codes: np.ndarray  # (H,) str
    hospital_region: np.ndarray  # (H,) index into PROVINCES
    vsv_codes: np.ndarray  # (V,) str
    postcodes: np.ndarray  # all postcodes, grouped by VSV
    postcode_ses: np.ndarray


def register_arrays(organisations: pl.DataFrame, postcode_ses: pl.DataFrame) -> RegisterArrays:
    """Index the register; each practice draws its women from a contiguous window of its VSV's postcodes,
    so practices in one VSV differ in social mix as neighbourhoods do."""
    region_index = {p.name: i for i, p in enumerate(PROVINCES)}
    vsvs = organisations.filter(pl.col("org_type") == "vsv").sort("org_code")
    hospitals = organisations.filter(pl.col("org_type") == "hospital").sort("org_code")
    practices = organisations.filter(pl.col("org_type") == "practice").sort("org_code")
    vsv_codes = np.array(vsvs["org_code"].to_list())
    vsv_index = {code: i for i, code in enumerate(vsv_codes)}
    hospital_codes = np.array(hospitals["org_code"].to_list())
    hospital_index = {code: i for i, code in enumerate(hospital_codes)}

    practice_vsv = np.array([vsv_index[v] for v in practices["vsv_code"]])
    practice_hospitals = np.full((practices.height, 2), -1)
    for p, codes in enumerate(practices["hospital_codes"]):
        for k, code in enumerate(codes.split(";")[:2]):
            practice_hospitals[p, k] = hospital_index[code]

    by_vsv = postcode_ses.with_columns(vsv=pl.col("vsv_code").replace_strict(vsv_index, return_dtype=pl.Int64))
    by_vsv = by_vsv.sort("vsv", "postcode4")
    vsv_of_postcode = by_vsv["vsv"].to_numpy()
    vsv_start = np.searchsorted(vsv_of_postcode, np.arange(len(vsv_codes)))
    vsv_count = np.bincount(vsv_of_postcode, minlength=len(vsv_codes))
    start = np.zeros(practices.height, dtype=np.int64)
    count = np.zeros(practices.height, dtype=np.int64)
    for v in range(len(vsv_codes)):
        members = np.flatnonzero(practice_vsv == v)
        k, n = len(members), vsv_count[v]
        width = max(3, min(n, int(np.ceil(2.5 * n / k))))
        centres = ((np.arange(k) + 0.5) * n / k).astype(int)
        start[members] = vsv_start[v] + np.clip(centres - width // 2, 0, n - width)
        count[members] = width
    return RegisterArrays(
        practice_codes=np.array(practices["org_code"].to_list()), practice_vsv=practice_vsv,
        practice_hospitals=practice_hospitals, practice_postcode_start=start, practice_postcode_count=count,
        hospital_codes=hospital_codes,
        hospital_region=np.array([region_index[r] for r in hospitals["region"]]),
        vsv_codes=vsv_codes, postcodes=by_vsv["postcode4"].to_numpy(), postcode_ses=by_vsv["ses_quintile"].to_numpy(),
    )


@dataclass(frozen=True)
class OrganisationEffects:
    """Logit-scale shifts per organisation (0 = national average) and each practice's relative size."""

    practice_size: np.ndarray
    practice_referral: np.ndarray
    practice_home_birth: np.ndarray
    practice_episiotomy: np.ndarray
    hospital_caesarean: np.ndarray
    hospital_induction: np.ndarray
    hospital_epidural: np.ndarray
    hospital_episiotomy: np.ndarray
    hospital_instrumental: np.ndarray
    outliers: pl.DataFrame  # org_code, indicator, direction


# (organisation type, effect name, indicator id of PRODUCT.md, logit shift): the planted true outliers.
OUTLIER_PLAN: tuple[tuple[str, str, str, float], ...] = (
    ("hospital", "hospital_caesarean", "caesarean", 1.0),
    ("hospital", "hospital_caesarean", "caesarean", 0.9),
    ("hospital", "hospital_caesarean", "caesarean", -0.9),
    ("hospital", "hospital_episiotomy", "episiotomy", 1.2),
    ("hospital", "hospital_epidural", "epidural", 1.1),
    ("practice", "practice_referral", "referral_labour", 1.3),
    ("practice", "practice_referral", "referral_labour", 1.2),
    ("practice", "practice_home_birth", "home_birth", 1.2),
    ("practice", "practice_home_birth", "home_birth", -1.5),
)


def draw_organisation_effects(register: RegisterArrays, seed: int) -> OrganisationEffects:
    """Random effects per organisation, sized like the between-unit ranges of national-figures.md (e.g. the
    practice referral SD of 7 percentage points around 38% is ~0.3 on the logit scale), plus the outliers."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    n_practices, n_hospitals = len(register.practice_codes), len(register.hospital_codes)
    region_epidural = rng.normal(0.0, 0.3, len(PROVINCES))
    effects = {
        "practice_size": rng.lognormal(0.0, 0.5, n_practices),
        "practice_referral": rng.normal(0.0, 0.3, n_practices),
        "practice_home_birth": rng.normal(0.0, 0.35, n_practices),
        "practice_episiotomy": rng.normal(0.0, 0.4, n_practices),
        "hospital_caesarean": rng.normal(0.0, 0.15, n_hospitals),
        "hospital_induction": rng.normal(0.0, 0.15, n_hospitals),
        "hospital_epidural": region_epidural[register.hospital_region] + rng.normal(0.0, 0.25, n_hospitals),
        "hospital_episiotomy": rng.normal(0.0, 0.25, n_hospitals),
        "hospital_instrumental": rng.normal(0.0, 0.15, n_hospitals),
    }
    # Outliers are chosen among the larger organisations, where a funnel plot can actually show them.
    hospital_load = np.bincount(register.practice_hospitals[:, 0], weights=effects["practice_size"],
                                minlength=n_hospitals)
    practice_size = effects["practice_size"]
    candidates = {
        "practice": list(rng.permutation(np.flatnonzero(practice_size > np.median(practice_size)))),
        "hospital": list(rng.permutation(np.flatnonzero(hospital_load > np.median(hospital_load)))),
    }
    rows = []
    for org_type, effect, indicator, shift in OUTLIER_PLAN:
        index = candidates[org_type].pop()
        effects[effect][index] = shift
        codes = register.practice_codes if org_type == "practice" else register.hospital_codes
        rows.append({"org_code": str(codes[index]), "indicator": indicator,
                     "direction": "higher" if shift > 0 else "lower"})
    outliers = pl.DataFrame(rows, schema={"org_code": pl.Utf8, "indicator": pl.Utf8, "direction": pl.Utf8})
    return OrganisationEffects(**effects, outliers=outliers.sort("org_code", "indicator"))
