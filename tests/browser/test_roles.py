"""What each role sees in the browser after logging in through the login form (tests/browser/conftest.py ACCOUNTS):
a provider only its own organisation (peers anonymised, `?org=` of another organisation ignored), a provider with a
grant chooses only among permitted organisations, a VSV its members by name, a researcher national figures only;
delivery feedback only for a permitted organisation; logged out → the login page. A script in an organisation
name is shown as text, and the pages run under the Content-Security-Policy without a violation.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from queries.engine import get_engine
from queries.scope import Viewer

from .conftest import ACCOUNTS, OTHER_HOSPITALS, log_in_through_the_form
from .helpers import (
    RENDER_TIMEOUT,
    axe_violations,
    console_errors,
    full_page_screenshot,
    open_page,
    text_of,
    until_redrawn,
    wait_until_rendered,
)
from .test_indicator_pages import PAGES as INDICATOR_PAGES
from .test_indicator_pages import cell_lines, chart_table_rows, dutch_rate, table_rows, wait_for_parts

PSEUDONYM = re.compile(r"[HPV]-[0-9A-F]{8}")
COUNTS = re.compile(r"\d[\d.]* / \d")  # "numerator / denominator" as the pages write counts
NAMES = {"V01": "VSV Rivierenland", "H0001": "Ziekenhuis Rivierenland", "H0002": "Ziekenhuis Kustzorg",
         "P0001": "De Ooievaar", "P0002": "Zonnebloem"}


def page_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def select_values(driver) -> list[str]:
    """The organisations offered (without the select's hidden, empty placeholder)."""
    return [option.get_attribute("value") for option in
            Select(driver.find_element(By.ID, "org-select")).options if option.get_attribute("value")]


def funnel_labels(driver) -> list[str]:
    """The organisations' labels in the funnel chart's data (the hover texts), own first."""
    return driver.execute_script("""
        const graph = document.querySelector('#detail-funnel-chart .js-plotly-plot');
        return graph.data.filter(t => t.customdata).flatMap(t => t.customdata.map(row => row[0])).reverse();
    """)


@pytest.mark.login("provider")
def test_a_provider_sees_its_own_organisation_and_cannot_choose_another(browser, app_url, planted_database):
    _, planted = planted_database
    open_page(browser, f"{app_url}/mijn-organisatie", expected_language="nl")
    assert text_of(browser, "viewer") == "Zeno Zorg (zorgverlener)"
    assert browser.find_element(By.ID, "logout-link").get_attribute("href") == f"{app_url}/logout"
    assert browser.find_elements(By.ID, "admin-link") == [] and browser.find_elements(By.ID, "registry-link") == []
    assert browser.find_elements(By.ID, "org-select") == []  # nothing to choose: the organisation as text
    assert planted.hospital_name in text_of(browser, "org-fixed")

    # Another organisation in the URL: the provider's own organisation is shown, with its own numbers.
    open_page(browser, f"{app_url}/mijn-organisatie?org=H0002", expected_language="nl")
    wait_for_parts(browser, INDICATOR_PAGES["overview"][1])
    assert text_of(browser, "overview-organisation") == f"{planted.hospital_name} ({planted.hospital})"
    own = get_engine(planted_database[0]).overview(Viewer("provider", org_code=planted.hospital), {})
    caesarean = {row["indicator"]["id"]: row for row in own["rows"]}["caesarean"]["organisation"]
    assert cell_lines(browser, "overview-caesarean-organisation")[0] == dutch_rate(caesarean["rate"])
    assert NAMES["H0002"] not in page_text(browser)
    # Its VSV has one other hospital and every birth is in a hospital: VSV minus own would be H0002's numbers.
    vsv = {row["indicator"]["id"]: row for row in own["rows"]}["caesarean"]["vsv"]
    assert vsv["suppression_reason"] == "complementary"
    assert cell_lines(browser, "overview-caesarean-vsv")[0] == "verborgen (anders één andere organisatie)"
    assert console_errors(browser) == []


@pytest.mark.login("practice")
def test_a_provider_with_a_grant_chooses_only_among_its_permitted_organisations(browser, app_url, planted_database):
    _, planted = planted_database
    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.hospital}", expected_language="nl")
    assert select_values(browser) == ["P0001", "P0002"]  # own practice, then the granted one
    assert Select(browser.find_element(By.ID, "org-select")).first_selected_option.get_attribute("value") == "P0001"
    assert planted.practice_name in text_of(browser, "overview-organisation")
    assert planted.hospital_name not in page_text(browser)

    Select(browser.find_element(By.ID, "org-select")).select_by_value("P0002")
    until_redrawn(browser).until(
        lambda d: NAMES["P0002"] in text_of(d, "overview-organisation"))
    assert parse_qs(urlparse(browser.current_url).query)["org"] == ["P0002"]


@pytest.mark.login("provider")
def test_a_providers_funnel_shows_peers_only_under_a_pseudonym(browser, app_url, planted_database):
    _, planted = planted_database
    open_page(browser, f"{app_url}/indicator/caesarean", expected_language="nl")
    wait_for_parts(browser, INDICATOR_PAGES["indicator"][1])
    labels = funnel_labels(browser)
    assert labels[0] == planted.hospital_name and len(labels) == 2 + OTHER_HOSPITALS  # own, H0002 and the others
    assert all(PSEUDONYM.fullmatch(label) for label in labels[1:])
    assert NAMES["H0002"] not in page_text(browser)


def funnel_points(driver) -> list[dict]:
    """Every organisation the funnel chart draws, from its data in the browser: label, hover fields and x."""
    return driver.execute_script("""
        const graph = document.querySelector('#detail-funnel-chart .js-plotly-plot');
        return graph.data.filter(t => t.customdata).flatMap(
            t => t.customdata.map((row, i) => ({label: row[0], hover: row, x: t.x[i], trace: t.name})));
    """)


def dutch_number(value: float) -> str:
    return f"{value:,}".replace(",", ".")


@pytest.mark.login("provider")
def test_a_providers_funnel_shows_peers_by_size_band_and_rounded_rate_never_their_counts(browser, app_url,
                                                                                     planted_database, artifacts):
    """The issue's finding "the funnel's hover data on the detail page carries every peer's exact counts": the
    hover data, the hover text as shown, the chart's table and the notes, as a provider's browser has them."""
    _, planted = planted_database
    funnel = get_engine(planted_database[0]).funnel("caesarean", "hospital",
                                                    Viewer("provider", org_code=planted.hospital), {})
    own = next(row for row in funnel["rows"] if row["own"])
    peers = [row for row in funnel["rows"] if row["disclosure"] == "peer"]
    assert peers and all(row["numerator"] is None and row["size_band"] for row in peers)
    bands = {row["label"]: f"{dutch_number(row['size_band']['low'])}–{dutch_number(row['size_band']['high'])} "
                           "geboorten" for row in peers}

    open_page(browser, f"{app_url}/indicator/caesarean", expected_language="nl")
    wait_for_parts(browser, INDICATOR_PAGES["indicator"][1])
    # The hover data: the own hospital exactly, each peer at the middle of its band with the band and the rounded
    # rate — no counts.
    points = {point["label"]: point for point in funnel_points(browser)}
    assert points[planted.hospital_name]["hover"][2] == f"{own['numerator']} / {own['denominator']}"
    for peer in peers:
        point = points[peer["label"]]
        assert point["hover"] == [peer["label"], dutch_rate(peer["rate"]), bands[peer["label"]]]
        assert point["x"] == pytest.approx(peer["size_band"]["middle"])
        assert not COUNTS.search(" ".join(point["hover"]))

    # The hover text as a user sees it over the peer's dot: first drawn by plotly itself with the chart at the top of
    # the window, to look at; then with the mouse (which scrolls the dot to the window's bottom edge).
    browser.execute_script("""
        const chart = document.getElementById('detail-funnel-chart');
        chart.scrollIntoView({block: 'start', behavior: 'instant'});
        const graph = chart.querySelector('.js-plotly-plot');
        const label = arguments[0];
        const curve = graph.data.findIndex(t => t.customdata && t.customdata.some(row => row[0] === label));
        Plotly.Fx.hover(graph, [{curveNumber: curve, pointNumber: 0}]);
    """, peers[0]["label"])
    hover_layer = "#detail-funnel-chart .hoverlayer"
    shown = until_redrawn(browser).until(
        lambda d: d.find_element(By.CSS_SELECTOR, hover_layer).get_attribute("textContent") or None)
    assert shown == f"{peers[0]['label']}: {dutch_rate(peers[0]['rate'])} ({bands[peers[0]['label']]})"
    browser.save_screenshot(str(artifacts / "funnel-provider-peer-hover-nl.png"))
    chart = browser.find_element(By.ID, "detail-funnel-chart")
    peer_trace = next(trace for trace in chart.find_elements(By.CSS_SELECTOR, ".scatterlayer .trace")
                      if trace.find_elements(By.CSS_SELECTOR, ".point")
                      and "fill: rgb(95, 107, 118)" in trace.find_element(By.CSS_SELECTOR, ".point")
                      .get_attribute("style"))
    ActionChains(browser).move_to_element(peer_trace.find_element(By.CSS_SELECTOR, ".point")).perform()
    hover = until_redrawn(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, hover_layer).text or None)
    # Peers of one band stand at one x: the mouse lands on whichever is nearest — some peer, with its band.
    hovered = [peer for peer in peers if peer["label"] in hover]
    assert len(hovered) == 1 and bands[hovered[0]["label"]] in hover and not COUNTS.search(hover)

    # The chart's table: the band and the rounded rate, the treatment in words; counts only of the own hospital.
    rows = until_redrawn(browser).until(lambda d: chart_table_rows(d, "funnel"))
    by_label = {row[0]: row for row in rows}
    assert by_label[planted.hospital_name][3] == f"{own['numerator']} / {own['denominator']}"
    assert by_label[planted.hospital_name][5] == "exact"
    for peer in peers:
        assert by_label[peer["label"]][1] == dutch_rate(peer["rate"])
        assert by_label[peer["label"]][3] == bands[peer["label"]]
        assert by_label[peer["label"]][5] == "pseudoniem, afgerond"
    assert not any(COUNTS.search(" ".join(row)) for row in rows if row[0] != planted.hospital_name)
    # Why, in plain words, under the chart and its table.
    note = text_of(browser, "detail-funnel-note-peers")
    assert "grootte als bereik" in note and "afgerond en licht verstoord om herleiding te voorkomen" in note
    assert "privacybeleid" in note
    summary = browser.find_element(By.ID, "detail-funnel-chart-summary").get_attribute("textContent")
    assert "zonder naam" in summary and not COUNTS.search(summary)
    section = browser.find_element(By.ID, "detail-funnel-body")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start', behavior: 'instant'});", section)
    section.screenshot(str(artifacts / "funnel-provider-table-nl.png"))
    full_page_screenshot(browser, artifacts / "indicator-provider-nl.png")
    assert NAMES["H0002"] not in page_text(browser)
    assert console_errors(browser) == []


@pytest.mark.login("provider")
def test_beside_fewer_than_five_peers_the_pages_say_why_they_compare_with_no_one(browser, app_url, planted_database,
                                                                                artifacts, axe_source):
    """In May and June the provider's hospital has one peer (the other VSV's hospitals have no births then): the
    engine shows no peer, no comparator and no funnel limits (`few_peers`). The funnel says so in words instead of
    a chart (before: "fewer than 10 births", which was not the reason), the verdict says its comparator's rate is
    not shown, and the overview's spine says why it has no positions."""
    _, planted = planted_database
    viewer = Viewer("provider", org_code=planted.hospital)
    period = {"period": "2024-05..2024-06"}
    funnel = get_engine(planted_database[0]).funnel("caesarean", "hospital", viewer, period)
    assert funnel["limits"] == [] and funnel["reference"]["suppression_reason"] == "few_peers"

    open_page(browser, f"{app_url}/indicator/caesarean?period=2024-05..2024-06", expected_language="nl")
    wait_for_parts(browser, ["#detail-summary-table", "#detail-funnel-few-peers", "#detail-verdict-method"])
    assert text_of(browser, "detail-funnel-few-peers") == (
        "Te weinig andere organisaties (minder dan vijf) in deze selectie om mee te vergelijken zonder dat ze "
        "herkenbaar worden. Daarom toont de trechter geen grenzen, geen percentage van alle ziekenhuizen en van de "
        "andere organisaties alleen die u met naam ziet.")
    funnel_text = browser.find_element(By.ID, "detail-funnel-body").text
    assert "geboorten" not in funnel_text and not browser.find_elements(By.ID, "detail-funnel-chart")
    method = text_of(browser, "detail-verdict-method")
    assert "minder dan vijf andere organisaties" in method and "—" not in method
    summary = {row[0]: row for row in table_rows(browser, "detail-summary-table")}
    assert summary["Alle ziekenhuizen"][1] == "niet getoond (minder dan vijf andere organisaties)"
    section = browser.find_element(By.ID, "detail-funnel")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start', behavior: 'instant'});", section)
    section.screenshot(str(artifacts / "funnel-provider-few-peers-nl.png"))
    assert console_errors(browser) == []
    assert axe_violations(browser, axe_source) == []

    open_page(browser, f"{app_url}/mijn-organisatie?period=2024-05..2024-06", expected_language="nl")
    wait_for_parts(browser, ["#overview-table", "#overview-spine-few-peers"])
    assert text_of(browser, "overview-spine-few-peers").startswith(
        "Geen posities op de as: er zijn in deze selectie minder dan vijf andere ziekenhuizen")
    verdict = text_of(browser, "overview-caesarean-verdict")
    assert "t.o.v. alle ziekenhuizen: niet getoond, minder dan vijf andere organisaties" in verdict


@pytest.mark.login("vsv")
def test_a_vsv_sees_its_members_by_name(browser, app_url, planted_database):
    _, planted = planted_database
    open_page(browser, f"{app_url}/vergelijken", expected_language="nl")
    wait_for_parts(browser, INDICATOR_PAGES["compare"][1])
    assert text_of(browser, "compare-organisation") == "VSV Rivierenland (V01)"
    for member in (planted.hospital_name, NAMES["H0002"], planted.practice_name):
        assert member in text_of(browser, "compare-matrix")
    assert select_values(browser) == ["V01", "H0001", "H0002", "P0001", "P0002"]  # not the other VSV

    open_page(browser, f"{app_url}/indicator/caesarean?org={planted.hospital}", expected_language="nl")
    wait_for_parts(browser, INDICATOR_PAGES["indicator"][1])
    labels = funnel_labels(browser)  # its members by name, the other VSV's hospitals as peers
    assert sorted(label for label in labels if not PSEUDONYM.fullmatch(label)) == sorted([planted.hospital_name,
                                                                                          NAMES["H0002"]])
    assert len(labels) == 2 + OTHER_HOSPITALS


@pytest.mark.login("researcher")
def test_a_researcher_sees_national_figures_only(browser, app_url, planted_database):
    _, planted = planted_database
    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.hospital}", expected_language="nl")
    wait_for_parts(browser, INDICATOR_PAGES["overview"][1])
    assert text_of(browser, "org-fixed") == "Landelijk beeld"
    assert text_of(browser, "overview-organisation") == "Landelijk beeld"
    national = get_engine(planted_database[0]).overview(Viewer("researcher"), {})
    caesarean = {row["indicator"]["id"]: row for row in national["rows"]}["caesarean"]["national"]
    assert cell_lines(browser, "overview-caesarean-national")[0] == dutch_rate(caesarean["rate"])
    assert browser.find_elements(By.ID, "overview-caesarean-organisation") == []  # no "own" column
    for name in NAMES.values():
        assert name not in page_text(browser)

    open_page(browser, f"{app_url}/indicator/caesarean?org={planted.hospital}", expected_language="nl")
    wait_for_parts(browser, ["#detail-summary-table", "#detail-funnel-chart .main-svg", "#detail-adjusted-empty"])
    labels = funnel_labels(browser)
    assert len(labels) == 2 + OTHER_HOSPITALS and all(PSEUDONYM.fullmatch(label) for label in labels)

    open_page(browser, f"{app_url}/datakwaliteit?org={planted.practice}", expected_language="nl")
    assert text_of(browser, "dq-not-permitted").startswith("Terugkoppeling op aanleveringen is alleen zichtbaar")
    assert browser.find_elements(By.ID, "rejected-table") == []
    assert planted.rejected_file not in page_text(browser)


@pytest.mark.login("provider")
def test_delivery_feedback_of_another_organisation_is_not_shown(browser, app_url, planted_database):
    _, planted = planted_database
    open_page(browser, f"{app_url}/datakwaliteit?org={planted.practice}", expected_language="nl")
    assert planted.hospital_name in text_of(browser, "dq-organisation")
    assert f"lvr2_{planted.hospital}_2024-03.csv" in text_of(browser, "deliveries-table")
    for other in (planted.rejected_file, planted.rejected_dossier, NAMES["P0001"]):
        assert other not in page_text(browser)


@pytest.mark.login(None)
def test_logged_out_visitors_get_the_login_page_and_return_where_they_were_going(browser, app_url, browser_login,
                                                                                planted_database):
    _, planted = planted_database
    browser.get(f"{app_url}/datakwaliteit?org={planted.hospital}")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: urlparse(d.current_url).path == "/login")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Inloggen"
    assert "Log in om deze pagina te bekijken." in page_text(browser)
    assert planted.hospital_name not in page_text(browser)

    log_in_through_the_form(browser, app_url, ACCOUNTS["provider"], open_login_page=False)
    assert urlparse(browser.current_url).path == "/datakwaliteit"
    assert planted.hospital_name in text_of(browser, "dq-organisation")

    # The header's logout link, then the logout page's button: back at the login page, and pages are closed.
    browser.find_element(By.ID, "logout-link").click()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: urlparse(d.current_url).path == "/logout")
    browser.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: urlparse(d.current_url).path == "/login")
    assert "U bent uitgelogd." in page_text(browser)
    browser.get(f"{app_url}/mijn-organisatie")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: urlparse(d.current_url).path == "/login")
    browser_login.forget()


def test_a_script_in_an_organisation_name_is_shown_as_text(browser, app_url, planted_database):
    _, planted = planted_database
    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.script_vsv}", expected_language="nl")
    assert text_of(browser, "overview-organisation") == f"{planted.script_vsv_name} ({planted.script_vsv})"
    option = browser.find_element(By.CSS_SELECTOR, f"#org-select option[value='{planted.script_vsv}']")
    assert option.text.startswith(planted.script_vsv_name)
    assert browser.execute_script("return window.perispiegelInjected === undefined")
    assert browser.execute_script("return document.querySelectorAll('#_pages_content script').length") == 0
    assert console_errors(browser) == []


CSP_PAGES = ["/", "/mijn-organisatie", "/indicator/caesarean", "/vergelijken", "/datakwaliteit", "/definities"]


@pytest.mark.parametrize("role", ["admin", "provider", "vsv", "researcher"])
def test_the_pages_run_under_the_content_security_policy(browser, app_url, sign_in, role):
    sign_in(role)
    for path in CSP_PAGES:
        open_page(browser, app_url + path, expected_language="nl")
        wait_until_rendered(browser)
        WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#main-content h1"))
        policy = browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(window.location.href).then(r => done(r.headers.get('content-security-policy')));
        """)
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert console_errors(browser) == [], path
    # The check can fail: an inline script added by hand is refused, and the console says so.
    browser.execute_script("const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
                           "document.body.appendChild(s);")
    assert browser.execute_script("return window.injected === undefined")
    assert any("Content Security Policy" in message for message in console_errors(browser))
