"""The database schema: the processed national tables and the loader's bookkeeping tables.

Every column carries `comment` (English meaning) and `info["nl"]` (the Dutch registry term);
`docs/data-dictionary.md` lists them and `tests/test_data_dictionary.py` keeps the two in step.

Versioning: `births` and `linkage_summary` hold rows of several data versions; readers use only the
version that `data_version_current` points at. A refresh inserts the new version's rows and moves the
pointer in one transaction, so readers see either the old or the new version, never a mix.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

from contracts.delivery_format import FIELDS

metadata = MetaData()


def column_width(column: Column[Any]) -> int:
    """The number of characters a text column holds (its `String(n)`): what the loader cuts or refuses beyond."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{column} has no width")
    return length


def col(name: str, type_: TypeEngine[Any] | type[TypeEngine[Any]], nl: str, comment: str, *constraints: SchemaItem,
        **kwargs: Any) -> Column[Any]:
    """A column with its English comment and Dutch registry term (for the data dictionary)."""
    return Column(name, type_, *constraints, comment=comment, info={"nl": nl}, **kwargs)


organisations = Table(
    "organisations",
    metadata,
    col("org_code", String(16), "Organisatiecode", "Stable code of the organisation", primary_key=True),
    col("name", String(200), "Naam", "Display name", nullable=False),
    col("org_type", String(16), "Type organisatie", "practice, hospital or vsv", nullable=False),
    col("vsv_code", String(16), "VSV", "Code of the VSV the organisation belongs to (own code for a VSV)",
        nullable=True),
    col("region", String(40), "Regio", "Region (province) for case-mix realism and maps", nullable=True),
    col("hospital_codes", String(100), "Samenwerkende ziekenhuizen",
        "For a practice: the hospital(s) it works with, separated by ';'", nullable=True),
)

data_versions = Table(
    "data_versions",
    metadata,
    col("data_version", Integer, "Dataversie", "Number of the published data version", primary_key=True),
    col("refresh_id", Integer, "Verversing", "The refresh that produced it", nullable=False),
    col("published_at", DateTime(timezone=True), "Publicatiedatum", "When it was published (UTC)",
        nullable=False),
    col("label", String(40), "Label", "Human label, e.g. 2026-11 (1)", nullable=False),
    col("births", Integer, "Aantal kinderen", "Rows in births for this version", nullable=False),
    col("period_from", String(7), "Periode van", "First birth month in the data (YYYY-MM)", nullable=True),
    col("period_to", String(7), "Periode tot", "Last birth month in the data (YYYY-MM)", nullable=True),
    col("reason", JSON, "Reden", "Why it was published: new delivery files, and changes of the organisation "
        "register (organisation, field, before, after)", nullable=True),
)

# Exactly one row (id = 1): the data version readers see.
data_version_current = Table(
    "data_version_current",
    metadata,
    col("id", SmallInteger, "Sleutel", "Always 1", primary_key=True),
    col("data_version", Integer, "Dataversie", "The published version readers see",
        ForeignKey("data_versions.data_version"), nullable=False),
)

refreshes = Table(
    "refreshes",
    metadata,
    col("refresh_id", Integer, "Verversing", "Refresh number", primary_key=True),
    col("started_at", DateTime(timezone=True), "Start", "When the refresh started (UTC)", nullable=False),
    col("finished_at", DateTime(timezone=True), "Einde", "When it committed (UTC)", nullable=True),
    col("status", String(20), "Status", "published, unchanged (nothing new) or failed", nullable=False),
    col("source_dir", Text, "Bronmap", "The delivery folder read", nullable=False),
    col("data_version", Integer, "Dataversie", "The version it published (or kept)", nullable=True),
    col("summary", JSON, "Samenvatting", "Counts: files, records read/accepted/rejected/objected, linkage",
        nullable=True),
    col("pid", Integer, "Proces", "Process id of the refresh (shown to a second refresh while it runs)",
        nullable=True),
    col("host", String(255), "Server", "Host name of the machine the refresh ran on", nullable=True),
)

deliveries = Table(
    "deliveries",
    metadata,
    col("delivery_id", Integer, "Aanlevering", "Delivery number", primary_key=True),
    col("refresh_id", Integer, "Verversing", "The refresh that read it", nullable=False),
    col("file_name", String(200), "Bestandsnaam", "Name of the delivery file", nullable=False),
    col("sha256", String(64), "Controlegetal",
        "SHA-256 of the bytes read: the same file is processed once (empty when the file could not be read)",
        nullable=True),
    col("org_code", String(16), "Organisatiecode", "Sender (from the file name)", nullable=True),
    col("discipline", String(8), "Discipline", "lvr1 (midwife), lvr2 (obstetrician), lnr (paediatrician)",
        nullable=True),
    col("month", String(7), "Maand", "Birth month the delivery covers (YYYY-MM)", nullable=True),
    col("resend", SmallInteger, "Herzending", "0 for a first delivery, n for the n-th resend", nullable=False),
    col("status", String(20), "Status",
        "accepted, partially_accepted or rejected (as a whole, or every record rejected)", nullable=False),
    col("error_code", String(40), "Afkeurcode",
        "Why the whole file was rejected (e.g. unreadable, bad_file_name); empty otherwise", nullable=True),
    col("message_nl", Text, "Melding", "Why the file was rejected, or a note about it, in Dutch", nullable=True),
    col("message_en", Text, "Message", "Why the file was rejected, or a note about it, in English",
        nullable=True),
    col("records_read", Integer, "Records gelezen", "Data rows in the file", nullable=False),
    col("records_accepted", Integer, "Records geaccepteerd", "Rows accepted", nullable=False),
    col("records_rejected", Integer, "Records afgekeurd", "Rows rejected with a technical error",
        nullable=False),
    col("records_objected", Integer, "Records met bezwaar", "Rows of women who objected (not stored)",
        nullable=False),
    col("received_at", DateTime(timezone=True), "Ontvangen", "When it was read (UTC)", nullable=False),
    # Not unique: the rows are history (a file read again once its organisation is registered, an unreadable one).
    Index("ix_deliveries_sha256", "sha256"),
)

_RECORD_COLUMN_TYPES: dict[str, TypeEngine[Any] | type[TypeEngine[Any]]] = {
    "str": String(64), "int": Integer, "date": Date, "time": String(5), "bool": Boolean, "code": String(24)}


def _record_field_columns() -> list[Column]:
    """One typed column per delivery field (contracts/delivery_format.py), except the key fields."""
    return [
        col(f.name, _RECORD_COLUMN_TYPES[f.kind], f.concept, f.description.split(";")[0].split(". ")[0],
            nullable=True)
        for f in FIELDS
        if f.name not in {"dossier_id", "org_code", "dossier_version", "objection"}
    ]


# Accepted dossiers, latest version per (org_code, discipline, dossier_id): the linkage input.
records = Table(
    "records",
    metadata,
    col("org_code", String(16), "Organisatiecode", "Sender", primary_key=True),
    col("discipline", String(8), "Discipline", "lvr1, lvr2 or lnr", primary_key=True),
    col("dossier_id", String(64), "Dossiernummer", "Sender's dossier number", primary_key=True),
    col("dossier_version", Integer, "Versie dossier", "Version kept (the highest received)", nullable=False),
    col("delivery_id", Integer, "Aanlevering", "Delivery the kept version came from", nullable=False),
    *_record_field_columns(),
)

objections = Table(
    "objections",
    metadata,
    col("org_code", String(16), "Organisatiecode", "Organisation that reported the objection",
        primary_key=True),
    col("discipline", String(8), "Discipline", "lvr1, lvr2 or lnr", primary_key=True),
    col("dossier_id", String(64), "Dossiernummer", "Dossier the objection is about", primary_key=True),
    col("delivery_id", Integer, "Aanlevering", "Delivery that reported it", nullable=False),
)

rejected_records = Table(
    "rejected_records",
    metadata,
    col("rejection_id", Integer, "Afkeuring", "Row number", primary_key=True),
    col("delivery_id", Integer, "Aanlevering", "Delivery the record came from", nullable=False),
    col("line_number", Integer, "Regelnummer", "Line in the file (header = line 1)", nullable=False),
    col("dossier_id", String(64), "Dossiernummer", "The dossier, when readable", nullable=True),
    col("error_codes", Text, "Foutcodes", "Error codes separated by ';'", nullable=False),
    col("message_nl", Text, "Melding", "Readable explanation in Dutch", nullable=False),
    col("message_en", Text, "Message", "Readable explanation in English", nullable=False),
    col("raw", Text, "Origineel",
        "The record as received (the line's fields as JSON, each value cut to 100 characters)", nullable=False),
)

hints = Table(
    "hints",
    metadata,
    col("hint_id", Integer, "Verbeterpunt", "Row number", primary_key=True),
    col("delivery_id", Integer, "Aanlevering", "Delivery the record came from", nullable=False),
    col("dossier_id", String(64), "Dossiernummer", "The dossier", nullable=False),
    col("field", String(40), "Veld", "The field the hint is about", nullable=False),
    col("hint_code", String(40), "Code", "missing_important or implausible", nullable=False),
    col("message_nl", Text, "Melding", "Readable hint in Dutch", nullable=False),
    col("message_en", Text, "Message", "Readable hint in English", nullable=False),
)

linkage_summary = Table(
    "linkage_summary",
    metadata,
    col("data_version", Integer, "Dataversie", "Version", primary_key=True),
    col("org_code", String(16), "Organisatiecode", "Sending organisation ('*' = national)", primary_key=True),
    col("discipline", String(8), "Discipline", "lvr1, lvr2 or lnr", primary_key=True),
    col("records", Integer, "Records", "Accepted records of this sender and discipline", nullable=False),
    col("linked", Integer, "Gekoppeld", "Records linked to a record of another discipline", nullable=False),
    col("expected_links", Integer, "Te koppelen",
        "Records that should have a partner (e.g. a referred birth's midwife record)", nullable=False),
    col("linked_expected", Integer, "Daarvan gekoppeld",
        "Of the expected_links records, those that were linked (at most expected_links)", nullable=False),
    col("linkage_rate", Float, "Koppelpercentage",
        "linked_expected / expected_links (at most 1)", nullable=True),
)

births = Table(
    "births",
    metadata,
    col("data_version", Integer, "Dataversie", "The data version this row belongs to", primary_key=True),
    col("birth_id", Integer, "Kindnummer", "Row number of the child within the version", primary_key=True),
    # where and when
    col("birth_date", Date, "Geboortedatum", "Date of birth", nullable=False),
    col("birth_month", String(7), "Geboortemaand", "YYYY-MM", nullable=False),
    col("birth_year", SmallInteger, "Geboortejaar", "Year of birth", nullable=False),
    col("practice_code", String(16), "Verloskundigenpraktijk",
        "Midwifery practice that sent a midwife record (empty when none)", nullable=True),
    col("hospital_code", String(16), "Ziekenhuis",
        "Hospital that sent an obstetrician record, else the paediatric hospital (empty when none)",
        nullable=True),
    col("vsv_code", String(16), "VSV", "VSV of the hospital, else of the practice", nullable=False),
    col("has_midwife_record", Boolean, "LVR-1 aanwezig", "A midwife record was linked", nullable=False),
    col("has_obstetrician_record", Boolean, "LVR-2 aanwezig", "An obstetrician record was linked",
        nullable=False),
    col("has_paediatrician_record", Boolean, "LNR aanwezig", "A paediatrician record was linked",
        nullable=False),
    col("link_method", String(16), "Koppelmethode",
        "single (one record), deterministic or probabilistic", nullable=False),
    # mother
    col("maternal_age", SmallInteger, "Leeftijd moeder", "Mother's age in whole years at birth", nullable=True),
    col("maternal_age_band", String(8), "Leeftijdsklasse moeder", "<25, 25-29, 30-34, 35-39, >=40",
        nullable=True),
    col("parity", SmallInteger, "Pariteit", "Previous births from 22 weeks", nullable=True),
    col("parity_group", String(12), "Pariteitsgroep", "nulliparous (0) or multiparous (>=1)", nullable=True),
    col("previous_caesarean", Boolean, "Eerdere sectio", "Any previous caesarean", nullable=True),
    col("smoking", Boolean, "Roken", "Smoked during pregnancy", nullable=True),
    col("ses_quintile", SmallInteger, "SES-kwintiel wijk",
        "Socio-economic status quintile of the postcode area (1 = lowest)", nullable=True),
    col("booking_ga_days", SmallInteger, "Amenorroeduur eerste controle", "GA at first visit, days",
        nullable=True),
    col("started_care_with_midwife", Boolean, "Start zorg eerstelijn",
        "The woman started antenatal care with a midwife (a midwife record exists)", nullable=False),
    col("early_booking", Boolean, "Vroege eerste controle", "First visit before 10+0 weeks", nullable=True),
    col("is_first_child_of_birth", Boolean, "Eerste kind van de bevalling",
        "birth_order = 1: counts the woman once for woman-level indicators", nullable=False),
    # pregnancy and labour
    col("plurality", SmallInteger, "Aantal foetussen", "1 singleton, 2 twins, ...", nullable=False),
    col("plurality_group", String(10), "Eenling/meerling", "singleton or multiple", nullable=False),
    col("birth_order", SmallInteger, "Rangnummer", "Order within a multiple birth", nullable=False),
    col("ga_days", SmallInteger, "Amenorroeduur", "Gestational age at birth in days", nullable=True),
    col("ga_weeks", SmallInteger, "Zwangerschapsduur (weken)", "Completed weeks", nullable=True),
    col("ga_band", String(6), "Zwangerschapsduurklasse", "<32, 32-36, 37-41, >=42", nullable=True),
    col("presentation", String(12), "Ligging", "cephalic, breech, transverse or unknown", nullable=True),
    col("onset_of_labour", String(20), "Begin baring", "spontaneous, induced or prelabour_caesarean",
        nullable=True),
    col("labour_started", Boolean, "Baring begonnen", "Onset spontaneous or induced", nullable=True),
    col("care_level_onset", String(14), "Zorgniveau start baring", "midwife or obstetrician", nullable=True),
    col("midwife_led_at_onset", Boolean, "Eerstelijn bij start baring",
        "Started labour in midwife-led care (denominator of referral during labour)", nullable=True),
    col("referral_during_labour", Boolean, "Verwijzing durante partu",
        "Referred to obstetrician-led care during labour", nullable=True),
    col("robson_group", String(14), "Robson-groep",
        "1, 2a, 2b, 3, 4a, 4b, 5, 6, 7, 8, 9, 10 or unclassifiable", nullable=False),
    col("ntsv", Boolean, "NTSV", "Nulliparous, term, singleton, vertex (Robson 1 and 2)", nullable=True),
    col("mode_of_birth", String(12), "Wijze van geboorte", "spontaneous, vacuum, forceps or caesarean",
        nullable=True),
    col("caesarean", Boolean, "Sectio caesarea", "Born by caesarean section", nullable=True),
    col("vaginal_birth", Boolean, "Vaginale geboorte", "Born vaginally", nullable=True),
    col("spontaneous_vaginal", Boolean, "Spontane vaginale geboorte", "Spontaneous vaginal birth",
        nullable=True),
    col("instrumental", Boolean, "Vaginale kunstverlossing", "Vacuum or forceps", nullable=True),
    col("place_of_birth", String(24), "Plaats geboorte",
        "home, birth_centre, hospital_midwife, hospital_obstetrician or unknown", nullable=True),
    col("home_birth", Boolean, "Thuisbevalling", "Born at home", nullable=True),
    col("epidural", Boolean, "Epidurale analgesie", "Epidural during labour", nullable=True),
    col("episiotomy", Boolean, "Episiotomie", "Episiotomy", nullable=True),
    col("oasis", Boolean, "Totaalruptuur (OASIS)", "Third- or fourth-degree perineal tear", nullable=True),
    col("blood_loss_ml", Integer, "Bloedverlies", "Blood loss within 24 h, ml", nullable=True),
    col("pph", Boolean, "Fluxus postpartum", "Blood loss >= 1000 ml within 24 h", nullable=True),
    # child
    col("child_sex", String(1), "Geslacht", "M, F or U", nullable=True),
    col("birth_weight_g", SmallInteger, "Geboortegewicht", "Grams", nullable=True),
    col("sga", Boolean, "SGA (<p10 Hoftiezer)",
        "Birth weight below the Hoftiezer p10 for sex and GA in days (23+0..42+0); empty outside the table",
        nullable=True),
    col("preterm", Boolean, "Vroeggeboorte", "Born before 37+0 weeks", nullable=True),
    col("very_preterm", Boolean, "Zeer vroeggeboorte", "Born before 32+0 weeks", nullable=True),
    col("live_birth", Boolean, "Levend geboren", "Born alive", nullable=False),
    col("stillbirth", Boolean, "Doodgeboorte", "Born dead (antepartum or intrapartum)", nullable=False),
    col("early_neonatal_death", Boolean, "Vroeg neonatale sterfte", "Live born, died within 7 days",
        nullable=False),
    col("neonatal_death", Boolean, "Neonatale sterfte", "Live born, died within 28 days (days 0-27)",
        nullable=False),
    col("perinatal_death", Boolean, "Perinatale sterfte",
        "From 24+0 weeks: stillbirth or death within 7 days", nullable=True),
    col("perinatal_death_22w_7d", Boolean, "Perinatale sterfte vanaf 22 weken (tot 7 dagen)",
        "From 22+0 weeks: stillbirth or death within 7 days", nullable=True),
    col("perinatal_death_24w_28d", Boolean, "Perinatale sterfte tot 28 dagen (vanaf 24 weken)",
        "From 24+0 weeks: stillbirth or death within 28 days", nullable=True),
    col("apgar_5min", SmallInteger, "Apgar 5 minuten", "Apgar score at 5 minutes", nullable=True),
    col("low_apgar", Boolean, "Lage Apgar", "Apgar at 5 minutes below 7", nullable=True),
    col("nicu_admission", Boolean, "NICU-opname", "Admitted to neonatal intensive care", nullable=False),
    col("breastfeeding", Boolean, "Borstvoeding eerste voeding", "First feed was breastfeeding",
        nullable=True),
    Index("ix_births_version_month", "data_version", "birth_month"),
)

# --- Users, their organisations, API tokens and the audit log (auth/: login, roles and scope) ---

users = Table(
    "users",
    metadata,
    col("user_id", Integer, "Gebruiker", "User number", primary_key=True, autoincrement=True),
    col("username", String(80), "Gebruikersnaam", "Login name (lower case, unique)", nullable=False, unique=True),
    col("display_name", String(200), "Naam", "Name shown in the header and the admin page", nullable=False),
    col("role", String(16), "Rol", "provider, vsv, researcher or admin", nullable=False),
    col("org_code", String(16), "Organisatiecode",
        "A provider's organisation or a VSV user's VSV (empty for researcher and admin)", nullable=True),
    col("password_hash", String(255), "Wachtwoord-hash",
        "argon2id hash of the password (the password itself is never stored)", nullable=False),
    col("active", Boolean, "Actief", "False once an admin disabled the account", nullable=False),
    col("created_at", DateTime(timezone=True), "Aangemaakt", "When the account was created (UTC)", nullable=False),
    col("created_by", String(80), "Aangemaakt door", "Who created it (username, or 'cli' / 'demo')",
        nullable=False),
    col("password_changed_at", DateTime(timezone=True), "Wachtwoord gewijzigd", "Last password set (UTC)",
        nullable=False),
    col("last_login_at", DateTime(timezone=True), "Laatste login", "Last successful login (UTC)", nullable=True),
    col("session_generation", Integer, "Sessiegeneratie",
        "Raised by logout, a password change or reset, disabling and a role change: every session and remember-me "
        "cookie made before it stops working (auth.session.session_stamp)", nullable=False, server_default="0"),
    col("must_change_password", Boolean, "Wachtwoord moet gewijzigd",
        "True while the password is one an admin set (or the command line made): the user must choose a new one "
        "before anything else", nullable=False, server_default=false()),
)

# Extra organisations an admin granted to a user, on top of users.org_code.
user_organisations = Table(
    "user_organisations",
    metadata,
    col("user_id", Integer, "Gebruiker", "The user", ForeignKey("users.user_id"), primary_key=True),
    col("org_code", String(16), "Organisatiecode", "An organisation the user may also see by name",
        primary_key=True),
    col("granted_by", String(80), "Toegekend door", "Admin (username, or 'cli') who granted it", nullable=False),
    col("granted_at", DateTime(timezone=True), "Toegekend", "When it was granted (UTC)", nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    col("token_id", Integer, "Token", "Token number", primary_key=True, autoincrement=True),
    col("user_id", Integer, "Gebruiker", "Owner; the token acts with the owner's scope", ForeignKey("users.user_id"),
        nullable=False),
    col("label", String(80), "Omschrijving", "The owner's name for the token", nullable=False),
    col("token_hash", String(64), "Token-hash", "SHA-256 of the token (the token itself is shown once, never stored)",
        nullable=False, unique=True),
    col("token_prefix", String(12), "Begin token", "First characters of the token, to recognise it", nullable=False),
    col("created_at", DateTime(timezone=True), "Aangemaakt", "When it was created (UTC)", nullable=False),
    col("last_used_at", DateTime(timezone=True), "Laatst gebruikt", "Last API request with it (UTC)", nullable=True),
    col("revoked_at", DateTime(timezone=True), "Ingetrokken", "When it was revoked (UTC); empty while valid",
        nullable=True),
    # The default holds only for tokens made before tokens expired (the column added by tables.database
    # .add_kept_columns): they count as expired. Every new token gets its own expiry (auth.tokens.create_token).
    col("expires_at", DateTime(timezone=True), "Verloopt",
        "When it stops working (UTC), chosen at creation; 1970-01-01 for a token made before tokens expired",
        nullable=False, server_default=text("'1970-01-01 00:00:00'")),
    col("revoked_reason", String(24), "Reden intrekking",
        "Why it was revoked: owner, password_reset, account_disabled, role_changed, password_change (texts "
        "code.token_revoked_reason)",
        nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    col("audit_id", Integer, "Regel", "Row number", primary_key=True, autoincrement=True),
    col("at", DateTime(timezone=True), "Tijdstip", "When it happened (UTC)", nullable=False),
    col("actor", String(80), "Wie", "Username of who did it (the name typed, for a failed login)", nullable=True),
    col("action", String(32), "Actie",
        "login_attempt (being checked), login_success, login_failure, login_throttled, logout, export, "
        "user_add, user_disable, ...",
        nullable=False),
    col("target", String(200), "Waarop", "What it was about: a user, an organisation, an API path", nullable=True),
    col("detail", Text, "Details", "More about it (never a password or token)", nullable=True),
    col("address", String(64), "Adres", "IP address the request came from", nullable=True),
    Index("ix_audit_log_action_at", "action", "at"),
)
