"""One year of synthetic births: the true course of every pregnancy, one row per child.

Everything is drawn with numpy, column-wise, in a fixed order from one generator per (seed, year), so a
year is reproducible on its own. The probabilities are calibrated against
`/work/shared/reference/national-figures.md`; `docs/synthetic-data.md` shows target against generated.
Each step follows the order of care: booking, pregnancy, onset of labour, who is responsible, birth,
the child. Later steps depend on earlier ones, which is what keeps the records coherent (a caesarean has
no episiotomy, a stillbirth no Apgar score, death risk follows gestational age, ...).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic.birthweight import BirthWeightTable
from synthetic.population import OrganisationEffects, RegisterArrays

BIRTHS_PER_YEAR = 165_000
MEAN_CHILDREN_PER_WOMAN = 1.0153  # 1.5% of women carry twins, a few triplets

PARITY_SHARES = np.array([0.445, 0.37, 0.122, 0.038, 0.014, 0.007, 0.004])  # 0, 1, ... 6 previous births
SMOKING_BY_SES = np.array([0.125, 0.085, 0.06, 0.045, 0.03])  # quintile 1 (lowest) .. 5
MONTH_WEIGHTS = np.array([0.97, 0.93, 0.99, 0.97, 1.0, 1.0, 1.05, 1.06, 1.05, 1.02, 0.97, 0.99])

# Gestational-age bands: 22-23, 24-25, 26-31, 32-36, 37-41, >=42 completed weeks.
BAND_FIRST_DAY = np.array([154, 168, 182, 224, 259, 294])
BAND_SHARES_SINGLETON = np.array([0.0011, 0.0016, 0.0052, 0.044, 0.0, 0.010])  # term band is the rest
BAND_SHARES_TWIN = np.array([0.008, 0.012, 0.07, 0.42, 0.0, 0.0])
BAND_SHARES_TRIPLET = np.array([0.02, 0.05, 0.3, 0.6, 0.0, 0.0])
TERM_WEEK_SHARES_SINGLETON = np.array([0.055, 0.14, 0.27, 0.31, 0.225])  # weeks 37..41
TERM_WEEK_SHARES_MULTIPLE = np.array([0.55, 0.35, 0.08, 0.02, 0.0])
# Perinatal mortality by band (Perined 2017: 987, 561, 137, 18.3, 1.7, 4.3 per 1,000) and the share of it
# that is stillbirth (fitted so that stillbirth is ~3.2 and perinatal mortality ~4.5 per 1,000 from 24 weeks).
PERINATAL_DEATH_BY_BAND = np.array([0.95, 0.561, 0.137, 0.0183, 0.0016, 0.0043]) * np.array([1, *[0.85] * 5])
STILLBIRTH_SHARE_BY_BAND = np.array([0.5, 0.48, 0.64, 0.8, 0.77, 0.75])
LATE_NEONATAL_DEATH_BY_BAND = np.array([0.02, 0.06, 0.015, 0.0008, 0.00015, 0.00015])
SGA_DEATH_RISK_RATIO = 2.5
LOW_APGAR_BY_BAND = np.array([0.75, 0.45, 0.18, 0.04, 0.0105, 0.016])
BIRTH_WEIGHT_SHIFT = 0.15  # the population's z-score offset, tuned so that singleton SGA lands at ~9.3%
Z_P10 = -1.2815516


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1.0 - p))


def categorical(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One draw per row of an (n, k) probability matrix (rows need not be normalised)."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(axis=1)


def women_for_year(scale: float) -> int:
    return max(1, round(BIRTHS_PER_YEAR * scale / MEAN_CHILDREN_PER_WOMAN))


def simulate_year(year: int, n_women: int, register: RegisterArrays, effects: OrganisationEffects,
                  weights: BirthWeightTable, seed: int) -> pl.DataFrame:
    """The true births of one year: one row per child (see `docs/synthetic-data.md` for the columns)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, year]))
    n = n_women

    # --- booking: organisation, neighbourhood, the woman ---
    practice = rng.choice(len(register.practice_codes), n, p=effects.practice_size / effects.practice_size.sum())
    postcode_index = register.practice_postcode_start[practice] + (
        rng.random(n) * register.practice_postcode_count[practice]).astype(np.int64)
    postcode = register.postcodes[postcode_index]
    ses = register.postcode_ses[postcode_index]
    second_hospital = register.practice_hospitals[practice, 1]
    hospital = np.where((second_hospital >= 0) & (rng.random(n) < 0.4), second_hospital,
                        register.practice_hospitals[practice, 0])
    parity = rng.choice(len(PARITY_SHARES), n, p=PARITY_SHARES / PARITY_SHARES.sum())
    nulliparous = parity == 0
    age_mean = np.where(nulliparous, 30.4, 32.0 + 0.5 * (np.minimum(parity, 4) - 1)) + 0.55 * (ses - 3)
    age = np.clip(rng.normal(age_mean, 4.5), 16.5, 49.5)
    previous_caesarean = ~nulliparous & (rng.random(n) < np.where(parity == 1, 0.108, 0.14))
    smoking = rng.random(n) < SMOKING_BY_SES[ses - 1] * np.where(age < 25, 1.7, 1.0)
    multiple_risk = 0.0148 * np.where(age >= 35, 1.35, np.where(age < 30, 0.8, 1.0))
    plurality = np.where(rng.random(n) < multiple_risk, np.where(rng.random(n) < 0.015, 3, 2), 1)
    multiple = plurality > 1
    booked_with_obstetrician = rng.random(n) < np.where(previous_caesarean, 0.45, 0.095) * np.where(age >= 40, 1.8, 1)

    # --- gestational age at birth (per woman; her children share it) ---
    band_shares = np.where((plurality == 1)[:, None], BAND_SHARES_SINGLETON,
                           np.where((plurality == 2)[:, None], BAND_SHARES_TWIN, BAND_SHARES_TRIPLET))
    preterm_risk = np.where(smoking, 1.5, 1.0) * np.where(age >= 40, 1.3, 1.0) * (1 + 0.08 * (3 - ses))
    band_shares[:, :4] *= preterm_risk[:, None]
    band_shares[:, 4] = 1.0 - band_shares.sum(axis=1)
    band = categorical(rng, band_shares)
    u = rng.random(n)
    term_week = categorical(rng, np.where(multiple[:, None], TERM_WEEK_SHARES_MULTIPLE, TERM_WEEK_SHARES_SINGLETON))
    ga_days = np.select(
        [band == 0, band == 1, band == 2, band == 3, band == 4],
        [154 + (u * 14).astype(int), 168 + (u * 14).astype(int), 182 + (42 * np.sqrt(u)).astype(int),
         224 + (35 * u ** 0.4).astype(int), 259 + 7 * term_week + (u * 7).astype(int)],
        294 + (7 * u ** 2).astype(int))
    term = ga_days >= 259

    # --- the children ---
    m = int(plurality.sum())
    mother = np.repeat(np.arange(n), plurality)
    first_child = np.cumsum(plurality) - plurality
    birth_order = np.arange(m) - first_child[mother] + 1
    male = rng.random(m) < 0.513
    child_band = band[mother]
    child_multiple = multiple[mother]
    breech_risk = np.where(child_multiple, np.where(birth_order == 1, 0.2, 0.35),
                           np.select([ga_days[mother] >= 259, ga_days[mother] >= 224], [0.045, 0.12], 0.25))
    transverse_risk = np.where(child_multiple, np.where(birth_order == 1, 0.04, 0.1),
                               np.where(term[mother], 0.003, 0.02))
    presentation = np.array(["cephalic", "breech", "transverse", "unknown"])[categorical(rng, np.column_stack(
        [1 - breech_risk - transverse_risk - 0.004, breech_risk, transverse_risk, np.full(m, 0.004)]))]
    z = rng.normal(BIRTH_WEIGHT_SHIFT, 1.0, m) - 0.45 * smoking[mother] - 0.12 * nulliparous[mother] \
        - 0.08 * (3 - ses[mother]) - 0.85 * child_multiple
    small = z < Z_P10
    death_risk = PERINATAL_DEATH_BY_BAND[child_band] * np.where(child_multiple, 1.2, 1.0) * np.where(
        small, SGA_DEATH_RISK_RATIO, 1.0) / (1 + 0.1 * (SGA_DEATH_RISK_RATIO - 1))
    perinatal_death = rng.random(m) < np.minimum(death_risk, 0.99)
    stillborn = perinatal_death & (rng.random(m) < STILLBIRTH_SHARE_BY_BAND[child_band])
    intrapartum_death = stillborn & (rng.random(m) < 0.15)
    antepartum_death = stillborn & ~intrapartum_death
    early_neonatal_death = perinatal_death & ~stillborn
    late_neonatal_death = ~perinatal_death & (rng.random(m) < LATE_NEONATAL_DEATH_BY_BAND[child_band])
    sex = np.where(male, "M", "F")
    sex = np.where(stillborn & (child_band == 0) & (rng.random(m) < 0.1), "U", sex)
    # A child that died before labour is lighter than its gestational age suggests.
    grams = weights.weight(male, ga_days[mother], z - 0.5 * antepartum_death)
    birth_weight = np.clip(np.round(grams), 250, 6500).astype(np.int64)

    first_presentation = presentation[first_child]
    singleton_antepartum_death = antepartum_death[first_child] & ~multiple

    # --- onset of labour: spontaneous / induced / caesarean before labour ---
    onset_p = np.where(nulliparous[:, None], [0.745, 0.235, 0.02], [0.78, 0.205, 0.015]) * np.ones((n, 1))
    rules = [  # later rules win: the most decisive reason comes last
        (ga_days >= 287, [0.58, 0.40, 0.02]),
        (ga_days >= 294, [0.2, 0.78, 0.02]),
        (band == 3, [0.62, 0.16, 0.22]),
        ((band == 1) | (band == 2), [0.55, 0.1, 0.35]),
        (band == 0, [0.85, 0.15, 0.0]),
        (previous_caesarean & term, [0.49, 0.22, 0.29]),
        (multiple, [0.47, 0.31, 0.22]),
        (~multiple & (first_presentation == "breech"), [0.32, 0.08, 0.6]),
        (~multiple & (first_presentation == "transverse"), [0.08, 0.0, 0.92]),
        (singleton_antepartum_death, [0.25, 0.75, 0.0]),
    ]
    for condition, shares in rules:
        onset_p[condition] = shares
    onset_p[:, 1] *= np.where(age >= 40, 1.4, 1.0) * np.exp(effects.hospital_induction[hospital])
    onset_p[:, 2] *= np.exp(effects.hospital_caesarean[hospital])
    onset_code = categorical(rng, onset_p)
    onset = np.array(["spontaneous", "induced", "prelabour_caesarean"])[onset_code]
    in_labour = onset_code != 2

    # --- who is responsible: midwife-led start, referral during labour ---
    antenatal_referral = rng.random(n) < np.where(nulliparous, 0.08, 0.06) + 0.1 * (age >= 40) + 0.03 * smoking
    obstetrician_at_onset = (booked_with_obstetrician | (onset_code != 0) | ~term | (ga_days >= 294) | multiple
                             | previous_caesarean | (first_presentation != "cephalic") | antenatal_referral
                             | antepartum_death[first_child])
    midwife_at_onset = ~obstetrician_at_onset
    referral_risk = logistic(logit(np.where(nulliparous, 0.60, 0.25)) + effects.practice_referral[practice]
                             + 0.25 * (ga_days >= 287))
    referred = midwife_at_onset & (rng.random(n) < referral_risk)
    obstetrician_responsible = obstetrician_at_onset | referred
    stayed_midwife_led = midwife_at_onset & ~referred

    # --- mode of birth ---
    breech_or_transverse = first_presentation != "cephalic"
    cs_in_labour = np.select(
        [intrapartum_death[first_child], singleton_antepartum_death, first_presentation == "transverse",
         breech_or_transverse, multiple, band <= 2, ~term, previous_caesarean, nulliparous],
        [0.1, 0.02, 0.8, 0.3, 0.2, 0.2, 0.12, 0.25, np.where(onset_code == 1, 0.17, 0.135)],
        np.where(onset_code == 1, 0.06, 0.045))
    cs_in_labour = logistic(logit(cs_in_labour) + effects.hospital_caesarean[hospital])
    caesarean = (onset_code == 2) | (in_labour & obstetrician_responsible & (rng.random(n) < cs_in_labour))
    instrumental_risk = np.select([band <= 2, multiple, previous_caesarean, nulliparous], [0.03, 0.1, 0.2, 0.21], 0.05)
    instrumental_risk = logistic(logit(instrumental_risk) + effects.hospital_instrumental[hospital])
    instrumental = ~caesarean & obstetrician_responsible & (rng.random(n) < instrumental_risk)
    forceps = instrumental & (rng.random(n) < 0.06)
    mode = np.select([caesarean, forceps, instrumental], ["caesarean", "forceps", "vacuum"], "spontaneous")
    vaginal = ~caesarean

    # --- place of birth ---
    home_risk = logistic(logit(np.where(nulliparous, 0.40, 0.60)) + effects.practice_home_birth[practice]
                         + 0.15 * (ses - 3))
    r = rng.random(n)
    midwife_place = np.select([r < home_risk, rng.random(n) < 0.18], ["home", "birth_centre"], "hospital_midwife")
    place = np.where(stayed_midwife_led, midwife_place, "hospital_obstetrician")
    place_unknown = rng.random(n) < np.where(stayed_midwife_led, 0.08, 0.015)
    place = np.where(place_unknown, "unknown", place)

    # --- interventions ---
    epidural_risk = logistic(logit(np.where(nulliparous, 0.42, 0.15)) + effects.hospital_epidural[hospital])
    epidural = in_labour & obstetrician_responsible & (rng.random(n) < epidural_risk)
    episiotomy_risk = np.where(
        stayed_midwife_led,
        logistic(logit(np.where(nulliparous, 0.25, 0.06)) + effects.practice_episiotomy[practice]),
        np.where(instrumental, 0.85,
                 logistic(logit(np.where(nulliparous, 0.66, 0.22)) + effects.hospital_episiotomy[hospital])))
    episiotomy = vaginal & (rng.random(n) < episiotomy_risk)
    first_weight = birth_weight[first_child]
    oasis_risk = 0.025 * np.where(nulliparous, 1.5, 0.7) * np.where(instrumental, 2.0, 1.0) \
        * np.where(forceps, 1.5, 1.0) * np.where(first_weight > 4000, 1.6, 1.0) * np.where(episiotomy, 0.8, 1.0)
    oasis = vaginal & (rng.random(n) < oasis_risk)
    minor_tear = categorical(rng, np.where((nulliparous & episiotomy)[:, None], [0.6, 0.2, 0.2],
                                           np.where(nulliparous[:, None], [0.2, 0.3, 0.5], [0.45, 0.35, 0.2])))
    tear = np.where(oasis, np.where(rng.random(n) < 0.1, "4", "3"), np.array(["none", "1", "2"])[minor_tear])
    tear = np.where(caesarean, "none", tear)
    blood_median = np.where(caesarean, 520.0, 285.0) * np.where(nulliparous, 1.1, 1.0) \
        * np.where(multiple, 1.3, 1.0) * np.where(instrumental, 1.25, 1.0) * np.where(oasis, 1.15, 1.0)
    blood = blood_median * np.exp(rng.normal(0.0, 0.62, n))
    blood_loss = np.where(rng.random(n) < 0.8, np.round(blood / 50) * 50, np.round(blood / 10) * 10)
    blood_loss = np.clip(blood_loss, 50, 9000).astype(np.int64)

    # --- the child after birth ---
    live = ~stillborn
    low_apgar_risk = LOW_APGAR_BY_BAND[child_band] * np.where((caesarean & in_labour)[mother], 1.8, 1.0) \
        * np.where(instrumental[mother], 1.6, 1.0) * np.where(small, 2.0, 1.0) \
        * np.where(early_neonatal_death, 4.0, 1.0)
    low_apgar = live & (rng.random(m) < np.minimum(low_apgar_risk, 0.95))
    apgar = np.where(low_apgar, categorical(rng, np.tile([1, 2, 3, 4, 6, 10, 14], (m, 1))),
                     7 + categorical(rng, np.tile([3, 8, 35, 54], (m, 1))))
    child_ga = ga_days[mother]
    nicu_risk = np.select([child_band == 0, child_ga < 210, child_ga < 224, child_ga < 238, child_ga < 259],
                          [0.3, 0.97, 0.9, 0.35, 0.05], 0.005)
    nicu_risk = np.where(low_apgar, np.maximum(nicu_risk, 0.4), nicu_risk)
    nicu_risk = np.where(early_neonatal_death & (child_band > 0), np.maximum(nicu_risk, 0.6), nicu_risk)
    nicu = live & (rng.random(m) < nicu_risk)
    admission_risk = np.select([child_ga < 245, child_ga < 259], [1.0, 0.85], 0.018 + 0.05 * small)
    admitted = live & (nicu | early_neonatal_death | late_neonatal_death | (low_apgar & (rng.random(m) < 0.9))
                       | (rng.random(m) < admission_risk))
    death_day = np.where(early_neonatal_death,
                         categorical(rng, np.tile([0.45, 0.2, 0.1, 0.08, 0.07, 0.05, 0.05], (m, 1))),
                         7 + (rng.random(m) * 21).astype(int))
    dies = early_neonatal_death | late_neonatal_death
    breast_risk = logistic(logit(0.81) + 0.3 * (ses[mother] - 3) - 0.5 * smoking[mother])
    first_feed = np.where(rng.random(m) < breast_risk, "breast", "formula")
    first_feed = np.where(stillborn | (early_neonatal_death & (death_day == 0) & (rng.random(m) < 0.5)), "none",
                          first_feed)

    # --- booking with the midwife ---
    early_booking = rng.random(n) < logistic(logit(0.83) + 0.25 * (ses - 3) - 0.4 * smoking)
    booking = np.where(early_booking, 42 + (rng.random(n) * 28).astype(int),
                       70 + np.minimum(rng.exponential(25.0, n), 150).astype(int))
    booking = np.minimum(booking, ga_days - 7)

    # --- when ---
    year_start = np.datetime64(f"{year}-01-01")
    days_in_year = int((np.datetime64(f"{year + 1}-01-01") - year_start).astype(int))
    day_month = (np.arange(days_in_year).astype("timedelta64[D]") + year_start).astype("datetime64[M]").astype(int) % 12
    day_weight = MONTH_WEIGHTS[day_month]
    day_of_year = rng.choice(days_in_year, n, p=day_weight / day_weight.sum())
    # Planned caesareans happen on weekdays: move a weekend one to the Friday before (or the Monday after).
    weekday = (year_start + day_of_year.astype("timedelta64[D]")).astype("datetime64[D]").view("int64")
    weekday = (weekday - 4) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    shift = np.where(weekday == 5, -1, np.where(weekday == 6, -2, 0))
    shift = np.where(day_of_year + shift < 0, shift + 3, shift)
    day_of_year = np.where(onset_code == 2, day_of_year + shift, day_of_year)
    birth_date = year_start + day_of_year.astype("timedelta64[D]")
    spontaneous_time = np.where(rng.random(n) < 0.6, rng.random(n) * 1440, rng.normal(240, 240, n) % 1440)
    minute = np.select([onset_code == 2, onset_code == 1],
                       [480 + rng.random(n) * 480, rng.normal(960, 300, n) % 1440], spontaneous_time).astype(int)
    gaps = np.where(birth_order > 1, 3 + (rng.random(m) * 22).astype(int), 0)
    offset = np.cumsum(gaps) - np.cumsum(gaps)[first_child][mother]
    last_offset = np.maximum.reduceat(offset, first_child)
    minute = np.minimum(minute, 1439 - last_offset)
    child_minute = minute[mother] + offset
    age_days = (age * 365.25).astype(int)
    mother_birth_date = birth_date - age_days.astype("timedelta64[D]")
    death_date = np.where(dies, birth_date[mother] + death_day.astype("timedelta64[D]"), np.datetime64("NaT"))

    vital = np.select([antepartum_death, intrapartum_death], ["antepartum_death", "intrapartum_death"], "live")
    child_id_base = (year - 2000) * 1_000_000
    has_midwife_record = ~booked_with_obstetrician
    children = pl.DataFrame({
        "child_id": child_id_base + np.arange(m, dtype=np.int64),
        "birth_event_id": child_id_base + mother.astype(np.int64),
        "birth_order": birth_order.astype(np.int64),
        "plurality": plurality[mother].astype(np.int64),
        "practice_code": register.practice_codes[practice][mother],
        "hospital_code": register.hospital_codes[hospital][mother],
        "vsv_code": register.vsv_codes[register.practice_vsv[practice]][mother],
        "mother_postcode4": postcode[mother].astype(np.int64),
        "ses_quintile": ses[mother].astype(np.int64),
        "mother_birth_date": mother_birth_date[mother],
        "parity": parity[mother].astype(np.int64),
        "previous_caesarean": previous_caesarean[mother],
        "smoking": smoking[mother],
        "booked_with": np.where(has_midwife_record, "midwife", "obstetrician")[mother],
        "booking_gestational_age_days": booking[mother].astype(np.int64),
        "gestational_age_days": ga_days[mother].astype(np.int64),
        "presentation": presentation,
        "onset_of_labour": onset[mother],
        "care_level_onset": np.where(midwife_at_onset, "midwife", "obstetrician")[mother],
        "referral_during_labour": referred[mother],
        "obstetrician_responsible": obstetrician_responsible[mother],
        "mode_of_birth": mode[mother],
        "place_of_birth": place[mother],
        "epidural": epidural[mother],
        "episiotomy": episiotomy[mother],
        "perineal_tear": tear[mother],
        "blood_loss_ml": blood_loss[mother],
        "child_sex": sex,
        "birth_weight_g": birth_weight,
        "vital_status_birth": vital,
        "apgar_5min": apgar.astype(np.int64),
        "nicu_admission": nicu,
        "admitted_paediatrics": admitted,
        "death_date": death_date,
        "first_feed": first_feed,
        "child_birth_date": birth_date[mother],
        "child_birth_minute": child_minute.astype(np.int64),
    })
    return children.with_columns(
        pl.when(pl.col("booked_with") == "midwife").then(pl.col("practice_code")).alias("practice_code"),
        pl.when(pl.col("care_level_onset") == "midwife").then(pl.col("referral_during_labour"))
        .alias("referral_during_labour"),
        pl.when(pl.col("vital_status_birth") == "live").then(pl.col("apgar_5min")).alias("apgar_5min"),
        pl.col("mother_birth_date").cast(pl.Date), pl.col("child_birth_date").cast(pl.Date),
        pl.col("death_date").cast(pl.Date),
    )
