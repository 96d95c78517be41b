"""Crafted Dash callback requests: a logged-in provider posts to `/_dash-update-component` what the browser would
post, but with another organisation's code. The answer must hold none of that organisation's identified numbers
(compared with what the engine gives an admin for it) and not its name or code — the server shows the provider's
own view instead. Without a session every callback is a 401.

The app is the real one (app.create_app) on a real SQLite database with the browser tests' demo data
(tests/browser/demo_data.py): hospitals H0001 "Ziekenhuis Rivierenland" (the provider's own) and H0002
"Ziekenhuis Kustzorg" (the other), practices P0001 and P0002, all in VSV V01; and five hospitals of another VSV
with births in January to April, so that the provider has six peers, and in May and June only one.

The pages show every figure as the engine discloses it (queries/disclosure.py): the provider's own exactly, the
other hospitals only as peers — a pseudonym, a size band and a rounded rate, never a count, in the hover data and
the chart tables too — and the VSV, which holds one other hospital, withheld ("complementary"). Beside fewer than
five peers (May and June) no peer, comparator or funnel limit is shown (`few_peers`), and the pages say why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import flask
import pytest
from browser.demo_data import PLANTED, fill_demo_database

from auth.users import add_user
from queries.catalogue import INDICATORS
from queries.engine import get_engine
from queries.scope import Viewer
from tables.database import make_engine

PASSWORD = "a long enough password"
OWN, OTHER = PLANTED.hospital, "H0002"
OWN_NAME, OTHER_NAME = PLANTED.hospital_name, "Ziekenhuis Kustzorg"
# Hospitals of another VSV: the provider has six peers, so they are shown by size band (not `few_peers`).
OTHER_HOSPITALS = 5
CRAFTED = f"?org={OTHER}"
INDICATOR = "caesarean"
PAIR = re.compile(r"(\d[\d.]*) / (\d[\d.]*)")  # "numerator / denominator" as the pages write counts


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('dashboard-scope') / 'demo.db'}"
    engine = make_engine(url)
    fill_demo_database(engine, other_hospitals=OTHER_HOSPITALS)
    add_user(engine, "zorgverlener", "provider", org_code=OWN, password=PASSWORD)
    add_user(engine, "onderzoeker", "researcher", password=PASSWORD)
    engine.dispose()
    yield url


@pytest.fixture(scope="module")
def app(database_url: str):
    from app import create_app

    return create_app(database_url)


def logged_in(app, username: str) -> flask.testing.FlaskClient:
    client = app.server.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert answer.status_code == 303
    client.get("/")  # the first page request also lets Dash Pages register its router callback
    return client


@pytest.fixture(scope="module")
def provider(app) -> flask.testing.FlaskClient:
    return logged_in(app, "zorgverlener")


@pytest.fixture(scope="module")
def researcher(app) -> flask.testing.FlaskClient:
    return logged_in(app, "onderzoeker")


def _value(component: dict, search: str, path: str, indicator: str = INDICATOR) -> object:
    """What the browser would send for this input or state, with `search` as the view's query string."""
    values = {
        "view-search.data": search, "overview-request.data": search, "compare-request.data": search,
        "detail-request.data": {"search": search, "indicator": indicator}, "detail-indicator.data": indicator,
        "detail-grain.value": "month", "detail-overdispersion.value": "none", "detail-dimension.value": "parity",
        "compare-download-button.n_clicks": 1, "compare-grid.virtualRowData": None, "compare-measure.value": "full",
        "_pages_location.pathname": path, "_pages_location.search": search,
    }
    return values.get(f"{component['id']}.{component['property']}")


def callback_request(app, output: str, search: str, path: str = "/", indicator: str = INDICATOR) -> dict:
    """The JSON body of the callback whose outputs include `output` ("id.property"), as the renderer builds it."""
    key = next(key for key in app.callback_map if output in key)
    entry = app.callback_map[key]
    names = key.split("@")[0].strip(".").split("...")
    outputs = [dict(zip(("id", "property"), name.rsplit(".", 1), strict=True)) for name in names]
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": [{**item, "value": _value(item, search, path, indicator)} for item in entry["inputs"]],
        "state": [{**item, "value": _value(item, search, path, indicator)} for item in entry["state"]],
        "changedPropIds": [f"{item['id']}.{item['property']}" for item in entry["inputs"]],
    }


def post(client, app, output: str, search: str = CRAFTED, path: str = "/", indicator: str = INDICATOR) -> str:
    answer = client.post("/_dash-update-component", json=callback_request(app, output, search, path, indicator))
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    # Dash's JSON escapes "/" and "<" as \u002f and \u003c: read it back as plain text.
    return json.dumps(answer.get_json(), ensure_ascii=False)


def pairs(text: str) -> set[str]:
    return {f"{numerator} / {denominator}" for numerator, denominator in PAIR.findall(text)}


def cell_pairs(*cells: dict | None) -> set[str]:
    return {f"{cell['numerator']} / {cell['denominator']}" for cell in cells if cell}


@pytest.fixture(scope="module")
def numbers(database_url: str) -> dict[str, set[str]]:
    """The other hospital's identified counts (as an admin sees them), and every count the provider may see."""
    engine = get_engine(database_url)
    admin, own = Viewer("admin"), Viewer("provider", org_code=OWN)
    other_rows = engine.overview(admin, {}, org_code=OTHER)["rows"]
    own_rows = engine.overview(own, {}, org_code=OWN)["rows"]
    other_trend = engine.trend(INDICATOR, admin, {}, grain="month", org_code=OTHER)["series"]
    own_trend = engine.trend(INDICATOR, own, {}, grain="month", org_code=OWN)["series"]
    allowed = cell_pairs(*(row[part] for row in own_rows for part in ("organisation", "vsv", "national")))
    allowed |= cell_pairs(*(point for series in own_trend for point in series["points"]))
    other = cell_pairs(*(row["organisation"] for row in other_rows))
    other |= cell_pairs(*(point for series in other_trend if series["kind"] == "organisation"
                          for point in series["points"]))
    identified = other - allowed
    assert identified, "the other hospital's counts should differ from the provider's (else the test cannot fail)"
    return {"identified": identified, "allowed": allowed}


def assert_own_view_only(body: str) -> None:
    assert OTHER_NAME not in body and f'"{OTHER}' not in body and f"={OTHER}" not in body


def test_overview_callback_answers_with_the_providers_own_numbers(app, provider, numbers):
    body = post(provider, app, "overview-indicators-body.children")
    assert_own_view_only(body)
    assert pairs(body) and pairs(body) <= numbers["allowed"]
    assert not pairs(body) & numbers["identified"]


def output_text(body: str, component_id: str) -> str:
    """One output of a callback answer (a callback may fill several parts of a page at once)."""
    return json.dumps(json.loads(body)["response"][component_id], ensure_ascii=False)


@pytest.mark.parametrize("part", ["summary", "trend", "breakdown", "adjusted", "funnel"])
def test_detail_callbacks_answer_with_the_providers_own_view(app, provider, numbers, part):
    answer = post(provider, app, f"detail-{part}-body.children")
    assert_own_view_only(answer)
    body = output_text(answer, f"detail-{part}-body")
    if part == "funnel":
        # Peers are in the funnel, but only under a pseudonym: every label but the provider's own is one.
        labels = {label for trace in _figures(body) for label in _labels(trace)}
        assert OWN_NAME in labels and labels - {OWN_NAME}
        assert all(re.fullmatch(r"H-[0-9A-F]{8}", label) for label in labels - {OWN_NAME})
    else:
        assert not pairs(body) & numbers["identified"]
    if part in ("summary", "trend"):
        assert OWN_NAME in body


def test_the_detail_page_of_an_indicator_not_on_the_types_overview_says_so(provider, app):
    """A hospital on early booking (a practice's indicator, not on a hospital's overview): the summary says why
    there is no verdict, and every other part still answers (before, the whole page failed)."""
    answer = post(provider, app, "detail-summary-body.children", search=f"?org={OWN}", indicator="early_booking")
    assert "staat niet in het overzicht van ziekenhuizen" in output_text(answer, "detail-summary-body")
    assert "detail-funnel-chart" in output_text(answer, "detail-funnel-body")


def _figures(body: str) -> list[dict]:
    """Every plotly trace in a callback answer."""
    return [trace for node in _nodes(body) if isinstance(node.get("figure"), dict)
            for trace in node["figure"].get("data", [])]


def _labels(trace: dict) -> list[str]:
    return [row[0] for row in trace.get("customdata") or [] if isinstance(row, list) and row]


def _nodes(body: str) -> list[dict]:
    """Every dict in a callback answer (components, their props, stores' data)."""
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(body))
    return found


def chart_table(body: str, table_id: str) -> dict:
    """The data of a chart's table (`layout.table_data`) as sent to the browser, which draws it when opened."""
    return next(node for node in _nodes(body) if node.get("id") == table_id and "rows" in node)


def table_cells(body: str, table_id: str) -> list[list[object]]:
    """The body rows of a `layout.data_table` in a callback answer, as the children of their cells."""
    table = next(node for node in _nodes(body) if node.get("props", {}).get("id") == table_id)
    return [[cell["props"]["children"] for cell in row["props"]["children"]]
            for row in _nodes(json.dumps(table)) if row.get("type") == "Tr"
            and all(cell.get("type") == "Td" for cell in row["props"]["children"])]


def dutch_number(value: float) -> str:
    return f"{value:,}".replace(",", ".")


@pytest.fixture(scope="module")
def provider_funnel(database_url: str) -> dict:
    """The caesarean funnel of hospitals as the engine answers the provider."""
    return get_engine(database_url).funnel(INDICATOR, "hospital", Viewer("provider", org_code=OWN), {})


def test_the_funnels_hover_data_and_table_hold_no_peer_counts_only_its_size_band(app, provider, provider_funnel,
                                                                                 database_url):
    """The issue's "masked counts are masked in one channel only": the funnel's hover data carried every peer's
    exact counts. Now a peer is drawn at the middle of its band, its hover text and table row give the band and the
    rounded rate, and nothing of the page holds the other hospital's counts."""
    body = output_text(post(provider, app, "detail-funnel-body.children"), "detail-funnel-body")
    admin = get_engine(database_url).funnel(INDICATOR, "hospital", Viewer("admin"), {})
    other = next(row for row in admin["rows"] if row["org_code"] == OTHER)
    own = next(row for row in provider_funnel["rows"] if row["own"])
    peers = [row for row in provider_funnel["rows"] if row["disclosure"] == "peer"]
    assert len(peers) == 1 + OTHER_HOSPITALS  # the other hospital of the VSV and those of the other VSV
    assert all(peer["numerator"] is None and peer["denominator"] is None and peer["size_band"] for peer in peers)

    hover = {row[0]: row for trace in _figures(body) for row in trace.get("customdata") or []
             if isinstance(row, list)}
    assert hover[OWN_NAME] == [OWN_NAME, f"{own['rate'] * 100:.1f}%".replace(".", ","),
                               f"{own['numerator']} / {own['denominator']}"]  # the own hospital: exact
    table = chart_table(body, "detail-funnel-table")
    rows = {row[0]: row for row in table["rows"]}
    for peer in peers:
        band = f"{dutch_number(peer['size_band']['low'])}–{dutch_number(peer['size_band']['high'])} geboorten"
        rate = f"{peer['rate'] * 100:.1f}%".replace(".", ",")
        assert hover[peer["label"]] == [peer["label"], rate, band]
        [drawn] = [trace for trace in _figures(body) if peer["label"] in _labels(trace)]
        assert drawn["x"][_labels(drawn).index(peer["label"])] == peer["size_band"]["middle"]
        assert rows[peer["label"]][1] == rate and rows[peer["label"]][3] == band
        assert rows[peer["label"]][5] == "pseudoniem, afgerond"
    assert rows[OWN_NAME][3] == f"{own['numerator']} / {own['denominator']}" and rows[OWN_NAME][5] == "exact"
    assert not pairs(json.dumps(table["rows"][1:], ensure_ascii=False))  # no counts but the own organisation's
    # Why, in words: under the chart, in its table and in the spoken summary.
    note = next(node for node in _nodes(body) if node.get("props", {}).get("id") == "detail-funnel-note-peers")
    assert "afgerond en licht verstoord om herleiding te voorkomen" in note["props"]["children"]
    summary = next(node for node in _nodes(body) if node.get("props", {}).get("id") == "detail-funnel-chart-summary")
    assert "zonder naam" in summary["props"]["children"]
    for counts in (f"{other['numerator']} / {other['denominator']}", f"{other['numerator']} / "
                   f"{dutch_number(other['denominator'])}"):
        assert counts not in body


def test_the_providers_vsv_is_withheld_as_complementary_on_every_page(app, provider, database_url):
    """The VSV holds one other hospital: its figure would be that hospital's plus the provider's own, so it is
    withheld — said in words, with no counts — in the overview, the detail summary and the compare table."""
    answer = get_engine(database_url).overview(Viewer("provider", org_code=OWN), {})
    vsv = {row["indicator"]["id"]: row for row in answer["rows"]}[INDICATOR]["vsv"]
    assert vsv["suppression_reason"] == "complementary" and vsv["numerator"] is None
    withheld = "verborgen (anders één andere organisatie)"

    overview = post(provider, app, "overview-indicators-body.children")
    cell = next(node for node in _nodes(overview) if node.get("props", {}).get("id") == f"overview-{INDICATOR}-vsv")
    assert cell["props"]["children"].split("\n")[0] == withheld

    summary = output_text(post(provider, app, "detail-summary-body.children"), "detail-summary-body")
    rows = {row[0]: row for row in table_cells(summary, "detail-summary-table")}
    assert rows["VSV: VSV Rivierenland"][1:5] == [withheld, "—", withheld, withheld]
    own = {row["indicator"]["id"]: row for row in answer["rows"]}[INDICATOR]["organisation"]
    assert rows[OWN_NAME][3:5] == [str(own["numerator"]), str(own["denominator"])]  # the own hospital: exact
    # National counts carry the perturbation, and say so: marked "≈", with the note in words under the table.
    assert rows["Landelijk"][3].startswith("≈\u00a0") and rows["Landelijk"][4].startswith("≈\u00a0")
    note = next(node for node in _nodes(summary)
                if node.get("props", {}).get("id") == "detail-summary-note-perturbed")["props"]["children"]
    assert "om herleiding te voorkomen" in note and "Eigen cijfers zijn exact" in note

    grid = json.loads(post(provider, app, "compare-grid.rowData"))["response"]["compare-grid"]["rowData"]
    caesarean = next(row for row in grid if row["id"] == INDICATOR)
    assert caesarean["vsv__rate_text"] == caesarean["vsv__numerator_text"] == withheld
    assert caesarean["vsv__numerator"] is None and caesarean["vsv__denominator"] is None
    assert caesarean["org__disclosure"] == "exact" and caesarean["national__disclosure"] == "licht verstoord (≈)"


def test_the_comparator_has_one_rate_on_the_detail_pages(app, provider, database_url):
    """The summary's row "Alle ziekenhuizen" and the verdict line "t.o.v. alle ziekenhuizen (…)" name the same
    comparator; a reader must see one rate for it. Checked on every indicator of the hospital's overview: by chance
    (the cell-key noise) one indicator's two figures may round alike, all of them not."""
    rows = get_engine(database_url).overview(Viewer("provider", org_code=OWN), {})["rows"]
    judged = [row["indicator"]["id"] for row in rows if row["organisation"]["verdict"]]
    assert len(judged) > 10
    differing = {}
    for indicator in judged:
        summary = output_text(post(provider, app, "detail-summary-body.children", indicator=indicator),
                              "detail-summary-body")
        shown = {row[0]: row for row in table_cells(summary, "detail-summary-table")}["Alle ziekenhuizen"][1]
        method = next(node for node in _nodes(summary)
                      if node.get("props", {}).get("id") == "detail-verdict-method")["props"]["children"]
        if f"t.o.v. alle ziekenhuizen ({shown})" not in method:
            differing[indicator] = (shown, method)
    assert not differing, differing


FEW_PEERS = f"?org={OWN}&period=2024-05..2024-06"  # the other VSV's hospitals have no births in these months


def test_beside_fewer_than_five_peers_the_funnel_and_the_summary_say_why_they_show_no_comparison(app, provider,
                                                                                                 database_url):
    """In May and June the provider's hospital has one peer: the engine shows neither that peer nor the comparator
    nor the limits (`few_peers`, a band or a comparator minus the own figures would point at it). The funnel says so
    in words — not "fewer than 10 births", which is not the reason — and the summary's verdict says that its
    comparator's rate is not shown; the overview's spine says why it has no positions."""
    viewer = Viewer("provider", org_code=OWN)
    filters = {"period": "2024-05..2024-06"}
    engine = get_engine(database_url)
    funnel = engine.funnel(INDICATOR, "hospital", viewer, filters)
    assert funnel["limits"] == [] and funnel["target"] is None
    assert funnel["reference"]["suppression_reason"] == "few_peers"
    assert [row["suppression_reason"] for row in funnel["rows"] if not row["own"]] == ["few_peers"]

    answer = post(provider, app, "detail-funnel-body.children", search=FEW_PEERS)
    body = output_text(answer, "detail-funnel-body")
    few = next(node for node in _nodes(body) if node.get("props", {}).get("id") == "detail-funnel-few-peers")
    assert few["props"]["children"].startswith(
        "Te weinig andere organisaties (minder dan vijf) in deze selectie om mee te vergelijken zonder dat ze "
        "herkenbaar worden.")
    assert "geboorten" not in body and not _figures(body)  # no funnel of the own hospital alone
    english = output_text(post(provider, app, "detail-funnel-body.children", search=FEW_PEERS + "&lang=en"),
                          "detail-funnel-body")
    assert "Too few other organisations (fewer than five) in this selection" in english

    own = {row["indicator"]["id"]: row for row in engine.overview(viewer, filters, org_code=OWN)["rows"]}[INDICATOR]
    assert own["organisation"]["verdict"] and own["organisation"]["judgement"]["centre"] is None
    summary = output_text(answer, "detail-summary-body")
    rows = {row[0]: row for row in table_cells(summary, "detail-summary-table")}
    assert rows["Alle ziekenhuizen"][1:5] == ["niet getoond (minder dan vijf andere organisaties)", "—",
                                             "niet getoond (minder dan vijf andere organisaties)",
                                             "niet getoond (minder dan vijf andere organisaties)"]
    assert rows[OWN_NAME][5].endswith("(t.o.v. alle ziekenhuizen: niet getoond, minder dan vijf andere organisaties)")
    method = next(node for node in _nodes(summary)
                  if node.get("props", {}).get("id") == "detail-verdict-method")["props"]["children"]
    assert method.startswith("Oordeel t.o.v. alle ziekenhuizen; exacte grenzen") and "—" not in method
    assert "minder dan vijf andere organisaties" in method

    spine = output_text(post(provider, app, "overview-spine-body.children", search=FEW_PEERS), "overview-spine-body")
    note = next(node for node in _nodes(spine) if node.get("props", {}).get("id") == "overview-spine-few-peers")
    assert note["props"]["children"].startswith("Geen posities op de as: er zijn in deze selectie minder dan vijf "
                                                "andere ziekenhuizen")


def test_the_overdispersion_test_reads_p_less_than_not_p_equals_less_than(app, provider, database_url):
    """"p = < 0,001" was a glitch: the estimate under the funnel reads "p < 0,001", or "p = 0,123". Checked on an
    indicator of each kind where the demo data has one (the p-values follow the installation's cell-key noise)."""
    engine, viewer = get_engine(database_url), Viewer("provider", org_code=OWN)
    p_values = {definition.id: engine.funnel(definition.id, "hospital", viewer, {})["judgement"]["p_value"]
                for definition in INDICATORS if "hospital" in definition.applies_to}
    small = next((indicator for indicator, p in p_values.items() if p is not None and p < 0.001), None)
    large = next((indicator for indicator, p in p_values.items() if p is not None and p >= 0.001), None)
    assert small or large
    checks = ([(small, "p < 0,001")] if small else []) + (
        [(large, "p = " + f"{p_values[large]:.3f}".replace(".", ","))] if large else [])
    for indicator, expected in checks:
        body = output_text(post(provider, app, "detail-funnel-body.children", indicator=indicator),
                           "detail-funnel-body")
        estimate = next(node for node in _nodes(body)
                        if node.get("props", {}).get("id") == "detail-overdispersion-estimate")["props"]["children"]
        assert f"toets op meer spreiding dan toeval: {expected}. Grenzen" in estimate, estimate
