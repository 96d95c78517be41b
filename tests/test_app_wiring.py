"""How the dashboards are wired into each app `create_app` builds: every app of a process (the tests build several)
gets every page and every callback, the clientside callbacks name functions that assets/perispiegel.js has, and
their constants come from the frame's store, not from the scripts.

Dash Pages runs the page modules for each app and each page declares its callbacks on that app; the frame's and the
filter panel's callbacks are Dash hooks, which Dash adds to every app it creates. Callbacks declared with
`dash.callback` would reach only the first app to serve a request (Dash moves its global list into that app).
"""

from __future__ import annotations

import re
from pathlib import Path

import dash
from dash._callback import GLOBAL_CALLBACK_LIST

from dashboards.clientside import FRAME_CONSTANTS, NAMESPACE
from dashboards.filters import CONTROL_KEYS, NO_RESTRICTION
from queries.filters import FILTER_PARAMETERS

# One output of each kind of callback: a page's (overview, compare, detail page), the filter panel's and the frame's.
EXPECTED_OUTPUTS = ("overview-indicators-body.children", "compare-download.data", "detail-back.href",
                    "export-preview.children",
                    "active-filters.children", "filter-fields.hidden", "document-language.children",
                    "language-switch.href", "address-correction.children",
                    '{"chart":["MATCH"],"type":"chart-table-body"}.children', "_pages_location.search")
SCRIPT = Path(__file__).resolve().parent.parent / "assets" / "perispiegel.js"
PAGES = {"home": "/", "overview": "/mijn-organisatie", "indicator": "/indicator/<indicator_id>",
         "compare": "/vergelijken", "data_quality": "/datakwaliteit", "definitions": "/definities",
         "export": "/exporteren", "not_found": "/404"}


def outputs(app) -> set[str]:
    return {output.split("@")[0] for key in app.callback_map for output in key.strip(".").split("...")}


def test_every_app_of_a_process_gets_every_page_and_callback(sqlite_engine):
    from app import create_app

    url = sqlite_engine.url.render_as_string(hide_password=False)
    first = create_app(url)
    first.server.test_client().get("/login")  # a first request: where Dash hands its global callbacks to an app
    later = [create_app(url), create_app(url)]  # the second without a request in between

    for app in (first, *later):
        assert set(EXPECTED_OUTPUTS) <= outputs(app)
    assert outputs(later[0]) == outputs(later[1])
    assert not GLOBAL_CALLBACK_LIST  # nothing waits for "the first app to serve a request"
    assert {page["name"]: page["path_template"] or page["path"] for page in dash.page_registry.values()} == PAGES
    navigation = [page["name"] for page in dash.page_registry.values() if page.get("in_navigation", True)]
    assert navigation == ["home", "overview", "compare", "data_quality", "definitions", "export"]


def test_clientside_callbacks_name_functions_of_the_script_and_read_its_constants(sqlite_engine):
    from app import create_app

    app = create_app(sqlite_engine.url.render_as_string(hide_password=False))
    script = SCRIPT.read_text(encoding="utf-8")
    defined = set(re.findall(r"^ {8}(\w+): function", script, re.MULTILINE))
    clientside = [entry["clientside_function"] for entry in app._callback_list if entry.get("clientside_function")]
    assert clientside and {function["namespace"] for function in clientside} == {NAMESPACE}
    assert {function["function_name"] for function in clientside} <= defined
    assert f"window.dash_clientside.{NAMESPACE} = " in script

    store = next(component for component in app.layout.children if getattr(component, "id", None) == FRAME_CONSTANTS)
    constants = store.data
    assert constants["control_keys"] == list(CONTROL_KEYS) and constants["no_restriction"] == NO_RESTRICTION
    assert constants["filter_parameters"] == list(FILTER_PARAMETERS)
    assert [link["path"] for link in constants["navigation"]] == ["/", "/mijn-organisatie", "/vergelijken",
                                                                   "/datakwaliteit", "/definities", "/exporteren"]
    assert "%(" not in script  # nothing is written into the script before it is served
