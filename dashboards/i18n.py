"""Every text the dashboard shows, in Dutch and English, and Dutch/English notation of numbers and dates.

Dutch is the default. Pages ask `text(key, language)`; nothing user-visible is written as a literal in a
page. Texts that come from the data (organisation names, messages of the loader) are not here: the loader
stores both languages and pages pick `message_nl` / `message_en`.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
DISPLAY_TIMEZONE = ZoneInfo("Europe/Amsterdam")

TEXTS: dict[str, dict[str, str]] = {
    # frame
    "product": {"nl": "perispiegel", "en": "perispiegel"},
    "tagline": {"nl": "Spiegelinformatie geboortezorg", "en": "Mirror information for birth care"},
    "skip_to_content": {"nl": "Naar de inhoud", "en": "Skip to content"},
    "main_navigation": {"nl": "Hoofdmenu", "en": "Main menu"},
    "viewer": {"nl": "Gebruiker", "en": "User"},
    "demo_admin": {"nl": "Demo-beheerder (kan elke organisatie kiezen)",
                   "en": "Demo administrator (may choose any organisation)"},
    "organisation": {"nl": "Organisatie", "en": "Organisation"},
    "choose_organisation": {"nl": "Kies een organisatie", "en": "Choose an organisation"},
    "data_version": {"nl": "Dataversie", "en": "Data version"},
    "refreshed": {"nl": "ververst op", "en": "refreshed on"},
    "no_data": {"nl": "Nog geen gegevens geladen — draai `perispiegel load`",
                "en": "No data loaded yet — run `perispiegel load`"},
    "language_switch": {"nl": "English", "en": "Nederlands"},
    "language_switch_label": {"nl": "Switch to English", "en": "Schakel naar Nederlands"},
    "footer": {"nl": "Alleen synthetische demogegevens. Open source (EUPL-1.2).",
               "en": "Synthetic demo data only. Open source (EUPL-1.2)."},
    # page names
    "page_home": {"nl": "Start", "en": "Home"},
    "page_overview": {"nl": "Mijn organisatie", "en": "My organisation"},
    "page_data_quality": {"nl": "Datakwaliteit en aanleveringen", "en": "Data quality and deliveries"},
    "page_definitions": {"nl": "Definities", "en": "Definitions"},
    # home
    "home_intro": {"nl": "Landelijke cijfers van de gepubliceerde dataversie: aantallen kinderen per geboortejaar en "
                         "de records die in de aanleveringen zijn ontvangen.",
                   "en": "National figures of the published data version: children per year of birth and the "
                         "records received in deliveries."},
    "counts_per_year": {"nl": "Landelijke aantallen per geboortejaar", "en": "National counts per year of birth"},
    "period": {"nl": "Periode", "en": "Period"},
    "births_in_version": {"nl": "Kinderen in deze versie", "en": "Children in this version"},
    "year": {"nl": "Jaar", "en": "Year"},
    "births": {"nl": "Kinderen", "en": "Children"},
    "records_read": {"nl": "Records ontvangen", "en": "Records received"},
    "records_accepted": {"nl": "Geaccepteerd", "en": "Accepted"},
    "records_rejected": {"nl": "Afgekeurd", "en": "Rejected"},
    "records_objected": {"nl": "Bezwaar", "en": "Objection"},
    "total": {"nl": "Totaal", "en": "Total"},
    # data quality
    "dq_intro": {"nl": "De terugkoppeling op uw aanleveringen: wat is geaccepteerd, wat is afgekeurd en waarom, "
                       "en waar de registratie beter kan. Corrigeer afgekeurde dossiers in uw eigen systeem en "
                       "lever ze opnieuw aan.",
                 "en": "Feedback on your deliveries: what was accepted, what was rejected and why, and where the "
                       "registration can improve. Correct rejected dossiers in your own system and send them "
                       "again."},
    "dq_members_note": {"nl": "Voor een VSV: de aanleveringen van alle aangesloten organisaties.",
                        "en": "For a VSV: the deliveries of all its member organisations."},
    "deliveries": {"nl": "Aanleveringen", "en": "Deliveries"},
    "no_deliveries": {"nl": "Geen aanleveringen ontvangen van deze organisatie.",
                      "en": "No deliveries received from this organisation."},
    "file": {"nl": "Bestand", "en": "File"},
    "discipline": {"nl": "Discipline", "en": "Discipline"},
    "month": {"nl": "Maand", "en": "Month"},
    "status": {"nl": "Status", "en": "Status"},
    "received": {"nl": "Ontvangen", "en": "Received"},
    "rejected_records": {"nl": "Afgekeurde records", "en": "Rejected records"},
    "no_rejections": {"nl": "Geen afgekeurde records.", "en": "No rejected records."},
    "shown_of": {"nl": "De eerste {shown} van {total} worden getoond.", "en": "Showing the first {shown} of {total}."},
    "line": {"nl": "Regel", "en": "Line"},
    "dossier": {"nl": "Dossiernummer", "en": "Dossier number"},
    "reason": {"nl": "Reden", "en": "Reason"},
    "error_codes": {"nl": "Foutcodes", "en": "Error codes"},
    "hints": {"nl": "Verbeterpunten", "en": "Improvement hints"},
    "no_hints": {"nl": "Geen verbeterpunten.", "en": "No improvement hints."},
    "field": {"nl": "Veld", "en": "Field"},
    "kind": {"nl": "Soort", "en": "Kind"},
    "count": {"nl": "Aantal", "en": "Count"},
    "dossiers": {"nl": "Dossiers", "en": "Dossiers"},
    "example": {"nl": "Voorbeeld", "en": "Example"},
    "completeness": {"nl": "Volledigheid van belangrijke velden", "en": "Completeness of important fields"},
    "own": {"nl": "Eigen organisatie", "en": "Own organisation"},
    "national": {"nl": "Landelijk", "en": "National"},
    "linkage": {"nl": "Koppeling", "en": "Linkage"},
    "linkage_intro": {"nl": "Het deel van de records dat gekoppeld is aan een record van een andere discipline "
                            "over dezelfde geboorte, van de records die een partner zouden moeten hebben.",
                      "en": "The share of records linked to a record of another discipline about the same birth, "
                            "out of the records that should have a partner."},
    "records": {"nl": "Records", "en": "Records"},
    "linked": {"nl": "Gekoppeld", "en": "Linked"},
    "expected_links": {"nl": "Te koppelen", "en": "Expected links"},
    "linkage_rate": {"nl": "Koppelpercentage", "en": "Linkage rate"},
    "national_linkage_rate": {"nl": "Landelijk koppelpercentage", "en": "National linkage rate"},
    "no_linkage": {"nl": "Geen koppelgegevens in deze dataversie.", "en": "No linkage figures in this data version."},
    # definitions
    "definitions_intro": {"nl": "Wat de begrippen betekenen, en welke gegevens wanneer zijn ververst.",
                          "en": "What the terms mean, and which data were refreshed when."},
    "indicators": {"nl": "Indicatoren", "en": "Indicators"},
    "indicators_pending": {"nl": "De indicatordefinities verschijnen hier zodra de indicatormodule beschikbaar is.",
                           "en": "Indicator definitions appear here once the indicator module is available."},
    "data_dictionary": {"nl": "Gegevenswoordenboek: de landelijke tabel (één rij per kind)",
                        "en": "Data dictionary: the national table (one row per child)"},
    "term": {"nl": "Begrip", "en": "Term"},
    "column": {"nl": "Kolom", "en": "Column"},
    "meaning": {"nl": "Betekenis", "en": "Meaning"},
    "meaning_language_note": {"nl": "De betekenissen zijn (nog) in het Engels beschreven.",
                              "en": "Registry terms are given in Dutch, as in the Perinatal Dataset."},
    "refresh_history": {"nl": "Verversingen", "en": "Refresh history"},
    "no_refreshes": {"nl": "Nog geen verversingen.", "en": "No refreshes yet."},
    "refresh": {"nl": "Verversing", "en": "Refresh"},
    "started": {"nl": "Gestart", "en": "Started"},
    "finished": {"nl": "Klaar", "en": "Finished"},
    # filters
    "filters": {"nl": "Doelgroep en periode", "en": "Target group and period"},
    "apply_filters": {"nl": "Toepassen", "en": "Apply"},
    "reset_filters": {"nl": "Wissen", "en": "Clear"},
    "period_from": {"nl": "Van maand", "en": "From month"},
    "period_to": {"nl": "Tot en met maand", "en": "To month (inclusive)"},
    "all": {"nl": "Alle", "en": "All"},
    "active_filters": {"nl": "Gekozen doelgroep", "en": "Selected target group"},
    "no_filters": {"nl": "Alle kinderen in de gekozen periode.", "en": "All children in the chosen period."},
    "overview_pending": {"nl": "De indicatoren verschijnen hier zodra de indicatormodule beschikbaar is. "
                               "De filters werken al: de link in de adresbalk legt de keuze vast.",
                         "en": "Indicators appear here once the indicator module is available. The filters already "
                               "work: the link in the address bar records the choice."},
}

#: Readable names of codes stored in the tables, per code list.
CODE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "discipline": {
        "lvr1": {"nl": "Verloskundige (LVR-1)", "en": "Midwife (LVR-1)"},
        "lvr2": {"nl": "Gynaecoloog (LVR-2)", "en": "Obstetrician (LVR-2)"},
        "lnr": {"nl": "Kinderarts (LNR)", "en": "Paediatrician (LNR)"},
    },
    "delivery_status": {
        "accepted": {"nl": "Geaccepteerd", "en": "Accepted"},
        "partially_accepted": {"nl": "Deels geaccepteerd", "en": "Partially accepted"},
        "rejected": {"nl": "Afgekeurd (hele bestand)", "en": "Rejected (whole file)"},
    },
    "refresh_status": {
        "published": {"nl": "Gepubliceerd", "en": "Published"},
        "unchanged": {"nl": "Niets nieuws", "en": "Nothing new"},
        "failed": {"nl": "Mislukt", "en": "Failed"},
        "running": {"nl": "Bezig", "en": "Running"},
    },
    "hint_code": {
        "missing_important": {"nl": "Ontbreekt", "en": "Missing"},
        "implausible": {"nl": "Onwaarschijnlijke waarde", "en": "Implausible value"},
    },
    "org_type": {
        "vsv": {"nl": "VSV", "en": "VSV"},
        "hospital": {"nl": "Ziekenhuis", "en": "Hospital"},
        "practice": {"nl": "Verloskundigenpraktijk", "en": "Midwifery practice"},
    },
}

MONTH_NAMES = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


def language_of(value: str | None) -> str:
    """The language asked for, or Dutch when none or an unknown one is given."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def text(key: str, language: str, **values: object) -> str:
    """The text for `key` in `language`, with `{placeholders}` filled from `values`."""
    template = TEXTS[key][language_of(language)]
    return template.format(**values) if values else template


def code_label(code_list: str, code: str | None, language: str) -> str:
    """The readable name of a stored code; the code itself when the list does not name it."""
    if code is None:
        return "—"
    return CODE_LABELS.get(code_list, {}).get(str(code), {}).get(language_of(language), str(code))


def format_number(value: float | int | None, language: str, decimals: int = 0) -> str:
    """1234.5 as "1.234,5" in Dutch and "1,234.5" in English; an em dash for no value."""
    if value is None:
        return "—"
    formatted = f"{value:,.{decimals}f}"
    if language_of(language) == "nl":
        formatted = formatted.translate(str.maketrans({",": ".", ".": ","}))
    return formatted


def format_percent(fraction: float | None, language: str, decimals: int = 1) -> str:
    """0.753 as "75,3%" in Dutch and "75.3%" in English."""
    if fraction is None:
        return "—"
    return f"{format_number(fraction * 100, language, decimals)}%"


def format_date(day: date | datetime | None, language: str) -> str:
    """22-11-2026 in Dutch, 2026-11-22 (ISO) in English; datetimes are shown in Dutch local time."""
    if day is None:
        return "—"
    if isinstance(day, datetime):
        day = day.astimezone(DISPLAY_TIMEZONE).date() if day.tzinfo else day.date()
    return day.strftime("%d-%m-%Y") if language_of(language) == "nl" else day.isoformat()


def format_datetime(moment: datetime | None, language: str) -> str:
    """22-11-2026 14:05 in Dutch, 2026-11-22 14:05 in English, in Dutch local time (Europe/Amsterdam)."""
    if moment is None:
        return "—"
    local = moment.astimezone(DISPLAY_TIMEZONE) if moment.tzinfo else moment
    return f"{format_date(local.replace(tzinfo=None), language)} {local:%H:%M}"


def format_month(month: str | None, language: str) -> str:
    """"2024-03" as "maart 2024" / "March 2024"."""
    if not month:
        return "—"
    year, number = month.split("-")
    return f"{MONTH_NAMES[language_of(language)][int(number) - 1]} {year}"
