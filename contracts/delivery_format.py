"""The delivery format: the one definition of what a care organisation sends.

Both the synthetic generator (which writes deliveries) and the validator (which reads them) use
this module, so the format cannot drift between them. `docs/delivery-format.md` documents it for
people; `tests/test_delivery_format_doc.py` checks that every field here is in that document.

A delivery is a CSV file (UTF-8, comma separated, header row, `.csv`) holding the dossiers of one
organisation, one discipline and one month of births. The same columns are used by every
discipline; a field that a discipline does not record is left empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Discipline(StrEnum):
    """The sub-registry that sent a record (Perined: LVR-1, LVR-2, LNR)."""

    MIDWIFE = "lvr1"  # verloskundigen (midwives), Landelijke Verloskunde Registratie 1
    OBSTETRICIAN = "lvr2"  # gynaecologen (obstetricians), Landelijke Verloskunde Registratie 2
    PAEDIATRICIAN = "lnr"  # kinderartsen/neonatologen, Landelijke Neonatologie Registratie


#: Which organisation type may send which discipline.
DISCIPLINE_ORGANISATION_TYPE: dict[Discipline, str] = {
    Discipline.MIDWIFE: "practice",
    Discipline.OBSTETRICIAN: "hospital",
    Discipline.PAEDIATRICIAN: "hospital",
}

#: How a delivery file's name may end: CSV, or FHIR (`contracts.fhir_mapping`: one Bundle in JSON, NDJSON of Bundles,
#: one Bundle in XML).
FHIR_EXTENSIONS = ("json", "ndjson", "xml")
FILE_EXTENSIONS = ("csv", *FHIR_EXTENSIONS)
#: `lvr1_P0001_2023-04.csv`, a resend `lvr1_P0001_2023-04_resend1.csv`; the extension in any case (`.CSV`). A FHIR
#: delivery is named alike, ending in `.json`, `.ndjson` or `.xml`.
#: A name that matches may still be refused: a month outside 01–12, a resend number outside `RESENDS`, an
#: organisation code longer than `MAX_ORG_CODE_LENGTH`.
FILE_NAME_PATTERN = re.compile(
    r"^(?P<discipline>lvr1|lvr2|lnr)_(?P<org_code>[A-Z0-9]+)_(?P<month>\d{4}-\d{2})(?:_resend(?P<resend>\d+))?"
    r"\.(?i:" + "|".join(FILE_EXTENSIONS) + ")$"
)
#: The resend numbers a file name may carry: `_resend1` … `_resend99` (a first delivery has none).
RESENDS = range(1, 100)
#: An organisation code (file name, `org_code` column, register) has at most this many characters.
MAX_ORG_CODE_LENGTH = 16


@dataclass(frozen=True)
class Field:
    """One column of a delivery file.

    kind: "str", "int", "date" (YYYY-MM-DD), "time" (HH:MM), "bool" (0/1), "code" (one of `codes`).
    required_for: disciplines for which an empty value is a technical error (rejection).
    important_for: disciplines for which an empty value gives an improvement hint (no rejection).
    low/high: the technically possible range (outside = rejection) for int fields.
    plausible_low/plausible_high: outside this but inside low/high = improvement hint.
    """

    name: str
    kind: str
    concept: str  # the Kernset / PWD concept (Dutch) this field stands for
    description: str
    codes: tuple[str, ...] = ()
    required_for: frozenset[Discipline] = frozenset()
    important_for: frozenset[Discipline] = frozenset()
    low: int | None = None
    high: int | None = None
    plausible_low: int | None = None
    plausible_high: int | None = None
    code_meanings: dict[str, str] = field(default_factory=dict)


ALL = frozenset(Discipline)
MW = frozenset({Discipline.MIDWIFE})
OB = frozenset({Discipline.OBSTETRICIAN})
MW_OB = frozenset({Discipline.MIDWIFE, Discipline.OBSTETRICIAN})

FIELDS: tuple[Field, ...] = (
    # --- identification of the dossier (never shared across disciplines) ---
    Field("dossier_id", "str", "Dossiernummer (lokaal)",
          "The sender's own dossier number; unique within organisation and discipline. A resend of the "
          "same dossier_id with a higher dossier_version replaces the earlier version.",
          required_for=ALL),
    Field("dossier_version", "int", "Versie dossier", "1 for the first delivery, higher for a correction.",
          required_for=ALL, low=1, high=99),
    Field("org_code", "str", "Zorgverlenercode (AGB/Perined-code)",
          "The sending organisation's code; must equal the code in the file name and exist in the register.",
          required_for=ALL),
    Field("objection", "bool", "Bezwaar tegen registratie",
          "1 when the woman objected to registration. Only the objection itself is kept; every other "
          "field of such a record is discarded unread.", required_for=ALL),
    # --- linkage fields: what the registry links disciplines on ---
    Field("mother_birth_date", "date", "Geboortedatum moeder", "Mother's date of birth.",
          required_for=ALL),
    Field("mother_postcode4", "str", "Postcode (4 cijfers) moeder", "The four digits of the mother's postcode.",
          required_for=ALL),
    Field("child_birth_date", "date", "Geboortedatum kind", "Date of birth of the child (or of the stillbirth).",
          required_for=ALL),
    Field("child_birth_time", "time", "Geboortetijd kind", "Time of birth, HH:MM, 24-hour clock.",
          important_for=ALL),
    Field("child_sex", "code", "Geslacht kind", "Sex of the child.", codes=("M", "F", "U"),
          code_meanings={"M": "male (man)", "F": "female (vrouw)", "U": "undetermined (onbepaald)"},
          required_for=ALL),
    Field("plurality", "int", "Aantal foetussen", "Number of fetuses of this pregnancy (1 = singleton).",
          required_for=ALL, low=1, high=6, plausible_high=3),
    Field("birth_order", "int", "Rangnummer kind", "Order of this child within a multiple birth (1 for singletons).",
          required_for=ALL, low=1, high=6),
    Field("birth_weight_g", "int", "Geboortegewicht", "Birth weight in grams.",
          important_for=ALL, low=200, high=7000, plausible_low=400, plausible_high=5500),
    Field("gestational_age_days", "int", "Amenorroeduur bij geboorte",
          "Gestational age at birth in completed days (280 = 40+0 weeks).",
          required_for=ALL, low=154, high=320, plausible_high=301),
    # --- mother and pregnancy ---
    Field("parity", "int", "Pariteit", "Number of previous births from 22+0 weeks (0 = nulliparous).",
          required_for=MW_OB, low=0, high=20, plausible_high=12),
    Field("previous_caesarean", "bool", "Eerdere sectio", "1 when any previous birth was by caesarean section.",
          important_for=MW_OB),
    Field("smoking", "bool", "Roken tijdens zwangerschap", "1 when the woman smoked during pregnancy.",
          important_for=MW),
    Field("booking_gestational_age_days", "int", "Amenorroeduur eerste controle",
          "Gestational age at the first antenatal visit in days.", important_for=MW, low=14, high=320,
          plausible_high=250),
    # --- labour and birth ---
    Field("care_level_onset", "code", "Verantwoordelijke zorgverlener bij start baring",
          "Who was responsible for care at the onset of labour (or at a pre-labour caesarean).",
          codes=("midwife", "obstetrician"),
          code_meanings={"midwife": "midwife-led, primary care (eerstelijn)",
                         "obstetrician": "obstetrician-led, secondary care (tweedelijn)"},
          required_for=MW_OB),
    Field("referral_during_labour", "bool", "Verwijzing durante partu",
          "1 when a woman who started labour in midwife-led care was referred to obstetrician-led care during "
          "labour; empty when she did not start labour in midwife-led care.", important_for=MW),
    Field("onset_of_labour", "code", "Begin baring", "How labour started.",
          codes=("spontaneous", "induced", "prelabour_caesarean"),
          code_meanings={"spontaneous": "spontaneous onset (spontaan)", "induced": "induction (inleiding)",
                         "prelabour_caesarean": "caesarean before labour (primaire sectio)"},
          required_for=MW_OB),
    Field("presentation", "code", "Ligging kind", "Fetal presentation at birth.",
          codes=("cephalic", "breech", "transverse", "unknown"),
          code_meanings={"cephalic": "cephalic/vertex (hoofdligging)", "breech": "breech (stuitligging)",
                         "transverse": "transverse or oblique lie (dwarsligging)",
                         "unknown": "unknown (onbekend)"},
          important_for=MW_OB),
    Field("mode_of_birth", "code", "Wijze van geboorte", "How the child was born.",
          codes=("spontaneous", "vacuum", "forceps", "caesarean"),
          code_meanings={"spontaneous": "spontaneous vaginal (spontaan)", "vacuum": "vacuum extraction",
                         "forceps": "forceps", "caesarean": "caesarean section (sectio caesarea)"},
          required_for=MW_OB),
    Field("place_of_birth", "code", "Plaats geboorte", "Where the child was born.",
          codes=("home", "birth_centre", "hospital_midwife", "hospital_obstetrician", "unknown"),
          code_meanings={"home": "at home (thuis)", "birth_centre": "birth centre (geboortecentrum)",
                         "hospital_midwife": "hospital, midwife-led (poliklinisch)",
                         "hospital_obstetrician": "hospital, obstetrician-led (klinisch)",
                         "unknown": "unknown (onbekend)"},
          required_for=MW_OB),
    Field("epidural", "bool", "Epidurale analgesie", "1 when epidural analgesia was given during labour.",
          important_for=OB),
    Field("episiotomy", "bool", "Episiotomie", "1 when an episiotomy was made.", important_for=MW_OB),
    Field("perineal_tear", "code", "Ruptuur perineum", "Degree of perineal tear.",
          codes=("none", "1", "2", "3", "4"),
          code_meanings={"none": "intact or no tear", "1": "first degree", "2": "second degree",
                         "3": "third degree (OASIS)", "4": "fourth degree (OASIS)"},
          important_for=MW_OB),
    Field("blood_loss_ml", "int", "Bloedverlies", "Blood loss within 24 hours after birth, in millilitres.",
          important_for=MW_OB, low=0, high=20000, plausible_high=6000),
    # --- the child ---
    Field("vital_status_birth", "code", "Vitaliteit bij geboorte", "Whether the child was born alive.",
          codes=("live", "antepartum_death", "intrapartum_death"),
          code_meanings={"live": "live born (levend geboren)",
                         "antepartum_death": "stillbirth, died before labour (antepartum sterfte)",
                         "intrapartum_death": "stillbirth, died during labour (durante partu sterfte)"},
          required_for=ALL),
    Field("apgar_5min", "int", "Apgarscore na 5 minuten", "Apgar score at 5 minutes (live births).",
          important_for=MW_OB, low=0, high=10),
    Field("first_feed", "code", "Eerste voeding", "Type of the child's first feed.",
          codes=("breast", "formula", "none"),
          code_meanings={"breast": "breastfeeding (borstvoeding)", "formula": "formula (kunstvoeding)",
                         "none": "no feed (e.g. died)"},
          important_for=MW_OB),
    Field("nicu_admission", "bool", "Opname NICU", "1 when the child was admitted to a neonatal intensive care unit.",
          required_for=frozenset({Discipline.PAEDIATRICIAN})),
    Field("death_date", "date", "Datum overlijden kind",
          "Date of death of a live-born child (empty when alive at discharge).",
          ),
)

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS)
