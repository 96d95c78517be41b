"""The synthetic organisation register and postcode reference (the files the project ships).

`python -m synthetic.organisations` writes `data/reference/organisations.csv` (71 VSVs, 74 hospital
locations, 585 midwifery practices; the national counts of `national-figures.md`) and
`data/reference/postcode_ses.csv` (four-digit postcodes with their VSV area and SES quintile).
Both are deterministic: the register uses its own fixed seed, independent of the delivery seed, so the
committed files never change unless this module does.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from settings import REFERENCE_FOLDER
from synthetic.names import PRACTICE_KINDS, PRACTICE_MOTIFS, SAINTS, TOWN_PARTS, place_names

ORGANISATIONS_FILE = REFERENCE_FOLDER / "organisations.csv"
POSTCODE_SES_FILE = REFERENCE_FOLDER / "postcode_ses.csv"
REGISTER_SEED = 20261122

VSV_COUNT = 71
HOSPITAL_COUNT = 74
PRACTICE_COUNT = 585
INTEGRATED_VSV_COUNT = 8  # integrated birth-care organisations (IGO) among the VSVs
TWO_HOSPITAL_PRACTICE_SHARE = 0.03
POSTCODE_COUNT = 4000  # the Netherlands has about 4,000 four-digit postcode areas


@dataclass(frozen=True)
class Province:
    name: str
    population_thousands: int  # CBS, 1 January 2024 (rounded)
    postcode_ranges: tuple[tuple[int, int], ...]  # roughly the real PC4 ranges, so codes look familiar


PROVINCES: tuple[Province, ...] = (
    Province("Zuid-Holland", 3826, ((2200, 3399),)),
    Province("Noord-Holland", 2952, ((1000, 1299), (1380, 2199))),
    Province("Noord-Brabant", 2626, ((4600, 5799),)),
    Province("Gelderland", 2150, ((4000, 4299), (6500, 7399))),
    Province("Utrecht", 1387, ((3400, 3999),)),
    Province("Overijssel", 1180, ((7400, 7699), (8000, 8199))),
    Province("Limburg", 1118, ((5800, 6499),)),
    Province("Friesland", 657, ((8400, 9299),)),
    Province("Groningen", 592, ((9500, 9999),)),
    Province("Drenthe", 502, ((7700, 7999), (9300, 9499))),
    Province("Flevoland", 444, ((1300, 1379), (8200, 8259), (8300, 8322))),
    Province("Zeeland", 392, ((4300, 4599),)),
)


def allocate(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split `total` into integers proportional to `weights` (largest-remainder method), each >= `minimum`."""
    weights = np.asarray(weights, dtype=float)
    spare = total - minimum * len(weights)
    exact = spare * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    remainder_order = np.argsort(-(exact - counts), kind="stable")
    counts[remainder_order[: spare - counts.sum()]] += 1
    return counts + minimum


def build_register(seed: int = REGISTER_SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The organisation register and the postcode/SES reference, as two polars frames."""
    rng = np.random.default_rng(seed)
    taken_places: set[str] = set()

    population = np.array([p.population_thousands for p in PROVINCES], dtype=float)
    vsvs_per_province = allocate(VSV_COUNT, population, minimum=1)
    vsv_province = np.repeat(np.arange(len(PROVINCES)), vsvs_per_province)
    # A VSV's size: its province's population shared unevenly between the province's VSVs.
    vsv_weight = population[vsv_province] / vsvs_per_province[vsv_province] * rng.lognormal(0.0, 0.3, VSV_COUNT)
    vsv_codes = [f"V{i + 1:03d}" for i in range(VSV_COUNT)]
    vsv_areas = place_names(rng, VSV_COUNT, taken_places)
    integrated = set(rng.choice(VSV_COUNT, INTEGRATED_VSV_COUNT, replace=False).tolist())

    # The largest VSVs are the ones with two hospital locations.
    two_location_vsvs = set(np.argsort(-vsv_weight, kind="stable")[: HOSPITAL_COUNT - VSV_COUNT].tolist())
    practices_per_vsv = allocate(PRACTICE_COUNT, vsv_weight, minimum=2)

    rows: list[dict] = []
    for v in range(VSV_COUNT):
        prefix = "Geboortezorg" if v in integrated else "VSV"
        rows.append({"org_code": vsv_codes[v], "name": f"{prefix} {vsv_areas[v]}", "org_type": "vsv",
                     "vsv_code": vsv_codes[v], "region": PROVINCES[vsv_province[v]].name, "hospital_codes": None})

    hospital_rows: list[dict] = []
    vsv_hospitals: list[list[str]] = []
    vsv_towns: list[list[str]] = []
    for v in range(VSV_COUNT):
        towns = place_names(rng, int(rng.integers(4, 10)), taken_places)
        vsv_towns.append(towns)
        codes: list[str] = []
        if v in two_location_vsvs:
            group = f"Ziekenhuisgroep {vsv_areas[v]}" if rng.random() < 0.5 else f"{rng.choice(SAINTS)} Ziekenhuis"
            for town in towns[:2]:
                codes.append(f"H{len(hospital_rows) + 1:03d}")
                hospital_rows.append({"name": f"{group}, locatie {town}", "vsv": v})
        else:
            style = rng.integers(0, 5)
            name = (f"Ziekenhuis {vsv_areas[v]}", f"Medisch Centrum {towns[0]}", f"{rng.choice(SAINTS)} Gasthuis",
                    f"{towns[0]}er Ziekenhuis", f"Streekziekenhuis {vsv_areas[v]}")[style]
            codes.append(f"H{len(hospital_rows) + 1:03d}")
            hospital_rows.append({"name": name, "vsv": v})
        vsv_hospitals.append(codes)
    hospital_names = _unique([h["name"] for h in hospital_rows])
    for i, hospital in enumerate(hospital_rows):
        v = hospital["vsv"]
        rows.append({"org_code": f"H{i + 1:03d}", "name": hospital_names[i], "org_type": "hospital",
                     "vsv_code": vsv_codes[v], "region": PROVINCES[vsv_province[v]].name, "hospital_codes": None})

    practice_vsv = np.repeat(np.arange(VSV_COUNT), practices_per_vsv)
    two_hospital_practices = _practices_with_two_hospitals(rng, practice_vsv, vsv_hospitals, vsv_province)
    practice_names: list[str] = []
    practice_hospitals: list[str] = []
    for p, v in enumerate(practice_vsv):
        town = str(rng.choice(vsv_towns[v]))
        kind = str(rng.choice(PRACTICE_KINDS))
        style = rng.random()
        if style < 0.55:
            practice_names.append(f"{kind} {rng.choice(PRACTICE_MOTIFS)}")
        elif style < 0.8:
            practice_names.append(f"{kind} {town}")
        else:
            practice_names.append(f"{kind} {town}-{rng.choice(TOWN_PARTS)}")
        own = vsv_hospitals[v]
        hospitals = two_hospital_practices.get(p) or [own[int(rng.integers(0, len(own)))]]
        practice_hospitals.append(";".join(hospitals))
    # Two practices drawing the same motif get their town added, as real namesakes do.
    practice_names = _unique(practice_names, suffixes=[f" {rng.choice(vsv_towns[v])!s}" for v in practice_vsv])
    for p, v in enumerate(practice_vsv):
        rows.append({"org_code": f"P{p + 1:04d}", "name": practice_names[p], "org_type": "practice",
                     "vsv_code": vsv_codes[v], "region": PROVINCES[vsv_province[v]].name,
                     "hospital_codes": practice_hospitals[p]})

    organisations = pl.DataFrame(rows, schema={"org_code": pl.Utf8, "name": pl.Utf8, "org_type": pl.Utf8,
                                               "vsv_code": pl.Utf8, "region": pl.Utf8, "hospital_codes": pl.Utf8})
    postcodes = _postcode_reference(rng, vsv_province, vsv_weight, vsv_codes)
    return organisations, postcodes


def _practices_with_two_hospitals(rng: np.random.Generator, practice_vsv: np.ndarray,
                                  vsv_hospitals: list[list[str]], vsv_province: np.ndarray) -> dict[int, list[str]]:
    """About 3% of practices work with two hospitals: both locations of their own VSV, or (near a VSV border)
    their own hospital and the one of the neighbouring VSV."""
    wanted = round(TWO_HOSPITAL_PRACTICE_SHARE * len(practice_vsv))
    in_two_location_vsv = [p for p, v in enumerate(practice_vsv) if len(vsv_hospitals[v]) == 2]
    chosen = rng.choice(in_two_location_vsv, size=min(len(in_two_location_vsv), wanted // 2), replace=False)
    result = {int(p): vsv_hospitals[practice_vsv[p]][:] for p in chosen}
    single = [p for p in range(len(practice_vsv)) if len(vsv_hospitals[practice_vsv[p]]) == 1]
    for p in rng.choice(single, size=len(single), replace=False):
        if len(result) == wanted:
            break
        v = int(practice_vsv[p])
        same_province = np.flatnonzero((vsv_province == vsv_province[v]) & (np.arange(len(vsv_province)) != v))
        neighbour = int(same_province[np.argmin(np.abs(same_province - v))]) if len(same_province) else v
        if neighbour == v:
            continue
        result[int(p)] = [vsv_hospitals[v][0], vsv_hospitals[neighbour][0]]
    return result


def _unique(names: list[str], suffixes: list[str] | None = None) -> list[str]:
    """Make names unique: a repeated name gets its suffix (or a number) appended."""
    seen: set[str] = set()
    result: list[str] = []
    for i, name in enumerate(names):
        candidate = name
        if candidate in seen and suffixes is not None:
            candidate = name + suffixes[i]
        number = 2
        while candidate in seen:
            candidate = f"{name} {number}"
            number += 1
        seen.add(candidate)
        result.append(candidate)
    return result


def _postcode_reference(rng: np.random.Generator, vsv_province: np.ndarray, vsv_weight: np.ndarray,
                        vsv_codes: list[str]) -> pl.DataFrame:
    """Postcodes per VSV (contiguous runs inside the province's ranges, count proportional to the VSV's size)
    and an SES quintile per postcode: a VSV-level mean plus postcode noise, cut into national quintiles so
    the quintiles are equal nationally but differ between regions."""
    population = np.array([p.population_thousands for p in PROVINCES], dtype=float)
    per_province = allocate(POSTCODE_COUNT, population)
    codes: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for index, province in enumerate(PROVINCES):
        available = np.concatenate([np.arange(low, high + 1) for low, high in province.postcode_ranges])
        chosen = np.sort(rng.choice(available, size=per_province[index], replace=False))
        members = np.flatnonzero(vsv_province == index)
        per_vsv = allocate(len(chosen), vsv_weight[members], minimum=5)
        codes.append(chosen)
        owners.append(np.repeat(members, per_vsv))
    postcode = np.concatenate(codes)
    owner = np.concatenate(owners)
    vsv_ses_mean = rng.normal(0.0, 0.6, len(vsv_codes))
    latent = vsv_ses_mean[owner] + rng.normal(0.0, 1.0, len(postcode))
    # Every postcode stands for about the same number of births, so equal counts give equal national quintiles.
    rank = np.argsort(np.argsort(latent, kind="stable"), kind="stable")
    quintile = 1 + (rank * 5) // len(postcode)
    return pl.DataFrame({"postcode4": postcode.astype(np.int64), "vsv_code": [vsv_codes[v] for v in owner],
                         "ses_quintile": quintile.astype(np.int64)}).sort("postcode4")


def write_reference_files(directory: Path = REFERENCE_FOLDER) -> tuple[Path, Path]:
    """Write organisations.csv and postcode_ses.csv into `directory`; returns their paths."""
    organisations, postcodes = build_register()
    directory.mkdir(parents=True, exist_ok=True)
    organisations_path = directory / ORGANISATIONS_FILE.name
    postcodes_path = directory / POSTCODE_SES_FILE.name
    organisations.write_csv(organisations_path)
    postcodes.write_csv(postcodes_path)
    return organisations_path, postcodes_path


def load_organisations(path: Path = ORGANISATIONS_FILE) -> pl.DataFrame:
    """The organisation register as shipped (all columns text)."""
    return pl.read_csv(path, infer_schema=False)


def load_postcode_ses(path: Path = POSTCODE_SES_FILE) -> pl.DataFrame:
    """The postcode reference: postcode4 (int), vsv_code, ses_quintile (int)."""
    return pl.read_csv(path, schema={"postcode4": pl.Int64, "vsv_code": pl.Utf8, "ses_quintile": pl.Int64})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic organisation register and postcode reference.")
    parser.add_argument("--out", type=Path, default=REFERENCE_FOLDER, help="folder to write the two CSV files into")
    arguments = parser.parse_args(argv)
    for path in write_reference_files(arguments.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
