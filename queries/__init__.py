"""queries — the one place where indicator numbers are made. Pages, the API and exports only ask it.

Public interface (stable; the shapes are documented in docs/indicators.md):

    from queries.engine import IndicatorEngine, get_engine, NoDataError, LEVELS, GRAINS
    from queries.judgement import OVERDISPERSION_CHOICES, DEFAULT_OVERDISPERSION   # "auto" by default
    from queries.scope import Viewer, NotPermittedError
    from queries.filters import DIMENSIONS, Filters, parse_filters, InvalidParameterError
    from queries.catalogue import INDICATORS, CATALOGUE

    engine = get_engine()                  # per process and database URL; picks up a new data version itself
    viewer = Viewer("provider", org_code="H001")   # or Viewer("vsv", vsv_code=...), Viewer("researcher"),
                                                   #    Viewer("admin")
    filters = parse_filters({"period": "2023-01..2023-12", "parity": "nulliparous"})  # URL params → Filters

    engine.data_version()                                  -> dict | None
    engine.catalogue()                                     -> list[dict]   (indicator definitions)
    engine.organisations(viewer, level)                    -> list[dict]   (orgs the viewer may name)
    engine.overview(viewer, filters, org_code=None, overdispersion="auto")  -> dict  the type's indicators:
                                                                               organisation / VSV / national
    engine.results(indicator, level, viewer, filters, overdispersion="auto")   -> dict  rows per organisation
    engine.funnel(indicator, level, viewer, filters, overdispersion="auto")    -> dict  results + limit curves
    engine.trend(indicator, viewer, filters, grain="month", org_code=None)     -> dict  national + org series
    engine.control_chart(indicator, viewer, filters, org_code=None)            -> dict  monthly p′ chart + signals
    engine.breakdown(indicator, dimension, viewer, filters, org_code=None)     -> dict  per dimension value
    engine.adjusted(indicator, level, viewer, filters, overdispersion="auto")  -> dict  O/E per organisation

    level: "practice" | "hospital" | "vsv"; grain: "month" | "quarter" | "year";
    overdispersion: "auto" | "none" | "additive" | "multiplicative" (queries/judgement.py); every method also
    takes export=True, which masks the viewer's own counts 1–4 too (others' are masked always). `filters` may be
    a Filters or a mapping of URL parameters.

Every answer is a JSON-ready dict with `data_version`, `viewer`, `filters`; every figure cell has
numerator, denominator, rate (a proportion 0..1: multiply by the indicator's `unit_scale`), ci_low, ci_high
(95% Wilson), suppressed + suppression_reason, disclosure (exact | perturbed | peer: docs/privacy.md; a peer
has no counts, a rounded rate and a size_band), and — for organisations — position (above_998, above_95,
within, below_95, below_998), verdict (better / worse / within; higher / lower for neutral indicators), flag
(alert / alarm) and standardised position, with the `judgement` that says against what and how,
plus identity: org_code (None when anonymised), label (name, or a pseudonym of that answer), named, own; and
`provisional`, the provisional months of its period (queries.provisional; [] when final, None for a peer).
Errors: InvalidParameterError (bad parameter: names it and the allowed values), NotPermittedError (viewer may
not see that organisation by name), NoDataError (nothing published yet).

Modules: catalogue (definitions), statistics (pure functions), judgement (the verdict policy), spc (control
charts), filters (target groups), scope (roles), disclosure (how each figure is shown: docs/privacy.md),
store (in-memory copy of the published version), cache (answer cache), config (thresholds), engine
(the questions), delivery_calendar and provisional (which months were provisional when a version was published).
status.py and delivery_feedback.py (the loader's bookkeeping) belong to the dashboards; registry_console.py
(a month's deliveries against the calendar) to the admin's console.
"""
