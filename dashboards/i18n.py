"""Every text the dashboard shows, in Dutch and English, and Dutch/English notation of numbers and dates.

Dutch is the default. Pages ask `text(key, language)`; nothing user-visible is written as a literal in a
page. Texts that come from the data (organisation names, messages of the loader) are not here: the loader
stores both languages and pages pick `message_nl` / `message_en`.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from queries.catalogue import UNIT_SCALE

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
    "my_account": {"nl": "Mijn account", "en": "My account"},
    "administration": {"nl": "Beheer", "en": "Administration"},
    "log_out": {"nl": "Uitloggen", "en": "Log out"},
    "national_view": {"nl": "Landelijk beeld", "en": "National view"},
    "organisation": {"nl": "Organisatie", "en": "Organisation"},
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
    "dq_not_permitted": {"nl": "Terugkoppeling op aanleveringen is alleen zichtbaar voor de organisatie zelf, haar "
                                "VSV en de beheerders van de registratie.",
                          "en": "Delivery feedback is shown only to the organisation itself, its VSV and the "
                                "registry's administrators."},
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
    # What an organisation is judged against: all births of the organisations of its type.
    "reference_practice": {"nl": "Alle praktijken", "en": "All practices"},
    "reference_hospital": {"nl": "Alle ziekenhuizen", "en": "All hospitals"},
    "reference_vsv": {"nl": "Alle VSV's", "en": "All VSVs"},
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
    # indicator pages (overview, detail, compare)
    "page_indicator": {"nl": "Indicator", "en": "Indicator"},
    "page_compare": {"nl": "Vergelijken", "en": "Compare"},
    # What the logged-in user sees by name (the viewer's role, queries/scope.py).
    "viewing_as_provider": {"nl": "U ziet {name} en haar VSV met naam; andere organisaties zijn anoniem.",
                            "en": "You see {name} and its VSV by name; other organisations are anonymised."},
    "viewing_as_vsv": {"nl": "U ziet de VSV en haar leden met naam; organisaties van andere VSV's zijn anoniem.",
                       "en": "You see the VSV and its members by name; organisations of other VSVs are anonymised."},
    "viewing_as_researcher": {"nl": "U ziet landelijke cijfers; alle organisaties zijn anoniem.",
                              "en": "You see national figures; every organisation is anonymised."},
    "viewing_as_admin": {"nl": "Als beheerder ziet u alle organisaties met naam.",
                         "en": "As an administrator you see every organisation by name."},
    "overview_intro": {"nl": "Alle indicatoren van uw organisatie voor de gekozen doelgroep en periode, naast uw VSV "
                             "en het landelijk gemiddelde. Het oordeel volgt uit de trechtergrenzen (95%) rond het "
                             "percentage van alle organisaties van hetzelfde type. Kies een indicator voor details.",
                       "en": "Every indicator of your organisation for the chosen target group and period, next to "
                             "your VSV and the national average. The verdict follows from the funnel limits (95%) "
                             "around the rate of all organisations of the same type. Choose an indicator for details."},
    "overview_intro_national": {"nl": "Alle indicatoren landelijk, voor de gekozen doelgroep en periode. Kies een "
                                      "indicator voor de trend, de trechter van alle organisaties (anoniem) en de "
                                      "uitsplitsing.",
                                "en": "Every indicator nationally, for the chosen target group and period. Choose an "
                                      "indicator for its trend, the funnel of all organisations (anonymised) and the "
                                      "breakdown."},
    "breakdown_lifted": {"nl": "Uitgesplitst naar {dimension}: alle waarden worden getoond, ook die buiten uw keuze "
                               "voor {dimension} in het filter; de rest van de doelgroep geldt wel.",
                         "en": "Broken down by {dimension}: every value is shown, also those outside your choice for "
                               "{dimension} in the filter; the rest of the target group does apply."},
    "indicator": {"nl": "Indicator", "en": "Indicator"},
    "name": {"nl": "Naam", "en": "Name"},
    "adjusted_not_estimable": {"nl": "Geen O/E: bij de landelijke percentages in deze selectie worden bij uw "
                                     "populatie geen gebeurtenissen verwacht.",
                               "en": "No O/E: at the national rates in this selection no events are expected in "
                                     "your population."},
    "vsv": {"nl": "VSV", "en": "VSV"},
    "verdict": {"nl": "Oordeel", "en": "Verdict"},
    "trend": {"nl": "Trend", "en": "Trend"},
    "rate": {"nl": "Percentage", "en": "Rate"},
    "interval": {"nl": "95%-BI", "en": "95% CI"},
    "counts": {"nl": "Teller / noemer", "en": "Numerator / denominator"},
    "births_shown": {"nl": "{numerator} van {denominator}", "en": "{numerator} of {denominator}"},
    "below_minimum": {"nl": "noemer < {minimum}", "en": "denominator < {minimum}"},
    "below_minimum_long": {"nl": "Niet getoond: minder dan {minimum} in de noemer.",
                           "en": "Not shown: fewer than {minimum} in the denominator."},
    "count_masked": {"nl": "gemaskeerd (1–4)", "en": "masked (1–4)"},
    "count_masked_secondary": {"nl": "gemaskeerd (anders terug te rekenen)",
                               "en": "masked (would reveal a masked count)"},
    "complementary": {"nl": "verborgen (anders één andere organisatie)",
                      "en": "hidden (would reveal one other organisation)"},
    "empty_selection": {"nl": "Minder dan {minimum} geboorten in deze selectie: te weinig om een percentage te tonen. "
                              "Kies een ruimere doelgroep of periode.",
                        "en": "Fewer than {minimum} births in this selection: too few to show a rate. Choose a wider "
                              "target group or period."},
    "no_published_data": {"nl": "Er is nog geen dataversie gepubliceerd.", "en": "No data version has been published."},
    "loading": {"nl": "Bezig met laden…", "en": "Loading…"},
    "open_detail": {"nl": "Details van {name}", "en": "Details of {name}"},
    "sparkline_alt": {"nl": "Trend {name} per {grain}, {first} tot {last}: {own_first} naar {own_last}.",
                      "en": "Trend of {name} per {grain}, {first} to {last}: {own_first} to {own_last}."},
    "sparkline_empty": {"nl": "geen trend (noemer < {minimum})", "en": "no trend (denominator < {minimum})"},
    "unknown_indicator": {"nl": "Deze indicator bestaat niet. Kies een indicator op de pagina Mijn organisatie.",
                          "en": "This indicator does not exist. Choose one on the My organisation page."},
    "back_to_overview": {"nl": "Terug naar Mijn organisatie", "en": "Back to My organisation"},
    "definition": {"nl": "Definitie", "en": "Definition"},
    "all_definitions": {"nl": "Alle definities", "en": "All definitions"},
    "numerator": {"nl": "Teller", "en": "Numerator"},
    "denominator": {"nl": "Noemer", "en": "Denominator"},
    "exclusions": {"nl": "Uitgesloten", "en": "Excluded"},
    "unit": {"nl": "Eenheid", "en": "Unit"},
    "direction": {"nl": "Richting", "en": "Direction"},
    "source": {"nl": "Bron", "en": "Source"},
    "counted_per": {"nl": "Geteld per", "en": "Counted per"},
    "per_woman": {"nl": "vrouw (één keer per bevalling)", "en": "woman (once per birth)"},
    "per_child": {"nl": "kind", "en": "child"},
    "summary": {"nl": "Samenvatting", "en": "Summary"},
    "grain": {"nl": "Per", "en": "Per"},
    "trend_title": {"nl": "{name} per {grain}", "en": "{name} per {grain}"},
    "trend_summary": {"nl": "{subject}: van {own_first} ({first}) naar {own_last} ({last}). Landelijk: van "
                            "{national_first} naar {national_last}.",
                      "en": "{subject}: from {own_first} ({first}) to {own_last} ({last}). National: from "
                            "{national_first} to {national_last}."},
    "period_axis": {"nl": "Periode", "en": "Period"},
    "show_table": {"nl": "Toon de cijfers als tabel", "en": "Show the figures as a table"},
    "band": {"nl": "95%-betrouwbaarheidsinterval", "en": "95% confidence interval"},
    "funnel": {"nl": "Trechterdiagram", "en": "Funnel plot"},
    "funnel_title": {"nl": "{name}: alle {organisations} ({count})", "en": "{name}: all {organisations} ({count})"},
    "funnel_intro": {"nl": "Elke stip is een organisatie van hetzelfde type; uw organisatie is gemarkeerd. Buiten de "
                           "grenzen ligt een organisatie meer van het percentage van alle organisaties van dit type af "
                           "dan toeval verklaart (95%: gestreept, 99,8%: gestippeld).",
                     "en": "Each dot is an organisation of the same type; yours is highlighted. Outside the limits an "
                           "organisation differs from the rate of all organisations of this type more than chance "
                           "explains (95%: dashed, 99.8%: dotted)."},
    "funnel_intro_national": {"nl": "Elke stip is een ziekenhuis, anoniem. Buiten de grenzen ligt een organisatie meer "
                                    "van het percentage van alle organisaties van dit type af dan toeval verklaart "
                                    "(95%: gestreept, 99,8%: gestippeld).",
                              "en": "Each dot is a hospital, anonymised. Outside the limits an organisation differs "
                                    "from the rate of all organisations of this type more than chance explains (95%: "
                                    "dashed, 99.8%: dotted)."},
    "adjusted_national_view": {"nl": "De gecorrigeerde O/E-verhouding is er per organisatie; in het landelijk beeld "
                                     "is er geen eigen organisatie om te corrigeren.",
                               "en": "The adjusted O/E ratio is per organisation; the national view has no own "
                                     "organisation to adjust."},
    "compare_intro_national": {"nl": "Alle indicatoren landelijk in één tabel. Klik op een kolomkop om te sorteren. De "
                                     "download bevat precies deze tabel, met aantallen van 1 tot en met 4 gemaskeerd.",
                               "en": "Every indicator nationally in one table. Click a column header to sort. The "
                                     "download holds exactly this table, with counts of 1 to 4 masked."},
    "funnel_x": {"nl": "Noemer (aantal in de populatie)", "en": "Denominator (number in the population)"},
    "funnel_summary": {"nl": "{count} organisaties. {subject}: {rate} bij een noemer van {denominator}; {position}. "
                             "Landelijk: {target}.",
                       "en": "{count} organisations. {subject}: {rate} at a denominator of {denominator}; "
                             "{position}. National: {target}."},
    "funnel_subject_missing": {"nl": "{subject} heeft in deze selectie geen noemer van minstens {minimum}.",
                               "en": "{subject} has no denominator of at least {minimum} in this selection."},
    "overdispersion": {"nl": "Overdispersie", "en": "Overdispersion"},
    "overdispersion_help": {"nl": "Bij veel organisaties ligt de spreiding vaak hoger dan toeval alleen; verbrede "
                                  "grenzen houden daar rekening mee.",
                            "en": "With many organisations the spread is often larger than chance alone; widened "
                                  "limits allow for that."},
    "overdispersion_estimate": {"nl": "Geschatte overdispersie: φ = {phi}, τ² = {tau2} ({units} organisaties).",
                                "en": "Estimated overdispersion: φ = {phi}, τ² = {tau2} ({units} organisations)."},
    "limits_95": {"nl": "95%-grenzen", "en": "95% limits"},
    "limits_998": {"nl": "99,8%-grenzen", "en": "99.8% limits"},
    "other_organisations": {"nl": "Andere organisaties", "en": "Other organisations"},
    "breakdown": {"nl": "Uitsplitsing", "en": "Breakdown"},
    "breakdown_by": {"nl": "Uitsplitsen naar", "en": "Break down by"},
    "breakdown_title": {"nl": "{name} — {dimension}", "en": "{name} — {dimension}"},
    "breakdown_summary": {"nl": "{dimension}: {parts}.", "en": "{dimension}: {parts}."},
    "unknown_value": {"nl": "Onbekend", "en": "Unknown"},
    "adjusted": {"nl": "Gecorrigeerd voor case-mix", "en": "Adjusted for case mix"},
    "adjusted_intro": {"nl": "Waargenomen gedeeld door verwacht (O/E), met indirecte standaardisatie op pariteit, "
                             "leeftijd moeder, zwangerschapsduur en eenling/meerling. O/E boven 1: vaker dan verwacht "
                             "bij uw populatie.",
                       "en": "Observed divided by expected (O/E), by indirect standardisation on parity, maternal "
                             "age, gestational age and plurality. O/E above 1: more often than expected for your "
                             "population."},
    "observed": {"nl": "Waargenomen (O)", "en": "Observed (O)"},
    "expected": {"nl": "Verwacht (E)", "en": "Expected (E)"},
    "ratio": {"nl": "O/E (95%-BI)", "en": "O/E (95% CI)"},
    "adjusted_rate": {"nl": "Gecorrigeerd percentage", "en": "Adjusted rate"},
    "compare_intro": {"nl": "Alle indicatoren naast elkaar: uw organisatie, uw VSV en landelijk; voor een VSV ook elke "
                            "aangesloten organisatie. Klik op een kolomkop om te sorteren. De download bevat precies "
                            "deze tabel, met aantallen van 1 tot en met 4 gemaskeerd.",
                      "en": "Every indicator side by side: your organisation, your VSV and national; for a VSV also "
                            "each member organisation. Click a column header to sort. The download holds exactly this "
                            "table, with counts of 1 to 4 masked."},
    "download_csv": {"nl": "Download als CSV", "en": "Download as CSV"},
    "compare_table": {"nl": "Indicatoren vergeleken", "en": "Indicators compared"},
    "direction_higher_is_better": {"nl": "Hoger is beter", "en": "Higher is better"},
    "direction_higher_is_worse": {"nl": "Hoger is slechter", "en": "Higher is worse"},
    "direction_neutral": {"nl": "Geen richting: hoger of lager is geen oordeel",
                          "en": "No direction: higher or lower is no judgement"},
    "indicator_definitions_intro": {"nl": "Elke indicator is een definitie: een teller en een noemer op de kolommen "
                                          "van de landelijke tabel. Een ontbrekende waarde telt nooit als 'ja'.",
                                    "en": "Every indicator is a definition: a numerator and a denominator on the "
                                          "columns of the national table. A missing value never counts as 'yes'."},
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
    "role": {
        "provider": {"nl": "zorgverlener", "en": "care provider"},
        "vsv": {"nl": "VSV", "en": "VSV"},
        "researcher": {"nl": "onderzoeker", "en": "researcher"},
        "admin": {"nl": "beheerder", "en": "administrator"},
    },
    "org_type": {
        "vsv": {"nl": "VSV", "en": "VSV"},
        "hospital": {"nl": "Ziekenhuis", "en": "Hospital"},
        "practice": {"nl": "Verloskundigenpraktijk", "en": "Midwifery practice"},
    },
    "org_type_plural": {
        "vsv": {"nl": "VSV's", "en": "VSVs"},
        "hospital": {"nl": "ziekenhuizen", "en": "hospitals"},
        "practice": {"nl": "verloskundigenpraktijken", "en": "midwifery practices"},
    },
    "verdict": {
        "better": {"nl": "Beter", "en": "Better"},
        "worse": {"nl": "Slechter", "en": "Worse"},
        "within": {"nl": "Binnen verwachting", "en": "Within expected range"},
        "higher": {"nl": "Hoger", "en": "Higher"},
        "lower": {"nl": "Lager", "en": "Lower"},
        "none": {"nl": "Geen oordeel", "en": "No verdict"},
    },
    "position": {
        "above_998": {"nl": "boven de 99,8%-grens", "en": "above the 99.8% limit"},
        "above_95": {"nl": "boven de 95%-grens", "en": "above the 95% limit"},
        "within": {"nl": "binnen de 95%-grenzen", "en": "within the 95% limits"},
        "below_95": {"nl": "onder de 95%-grens", "en": "below the 95% limit"},
        "below_998": {"nl": "onder de 99,8%-grens", "en": "below the 99.8% limit"},
    },
    "grain": {
        "month": {"nl": "maand", "en": "month"},
        "quarter": {"nl": "kwartaal", "en": "quarter"},
        "year": {"nl": "jaar", "en": "year"},
    },
    "overdispersion": {
        "none": {"nl": "Geen (exacte binomiale grenzen)", "en": "None (exact binomial limits)"},
        "multiplicative": {"nl": "Multiplicatief (φ)", "en": "Multiplicative (φ)"},
        "additive": {"nl": "Additief (τ², random effects)", "en": "Additive (τ², random effects)"},
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


def format_rate(rate: float | None, unit: str, language: str, decimals: int = 1) -> str:
    """A proportion in the indicator's unit: 0.158 as "15,8%", 0.0045 with unit ‰ as "4,5‰"."""
    if rate is None:
        return "—"
    return f"{format_number(rate * UNIT_SCALE[unit], language, decimals)}{unit}"


def format_interval(low: float | None, high: float | None, unit: str, language: str, decimals: int = 1) -> str:
    """A 95% interval in the indicator's unit: "14,2–17,5%"."""
    if low is None or high is None:
        return "—"
    scale = UNIT_SCALE[unit]
    return f"{format_number(low * scale, language, decimals)}–{format_number(high * scale, language, decimals)}{unit}"


def format_period(period: str | None, language: str) -> str:
    """A trend period as shown on an axis: "2024-03", "2024 K1" / "2024 Q1", "2024"."""
    if not period:
        return "—"
    if "-Q" in period:
        year, quarter = period.split("-Q")
        return f"{year} {'K' if language_of(language) == 'nl' else 'Q'}{quarter}"
    return period


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
