"""The routes of the JSON API. Every answer carries the data version; bad parameters get a 400 naming the
parameter and its allowed values. Counts are masked as in exports (the API is an export channel).

Who asks is the logged-in user (a browser session or an `Authorization: Bearer` API token, see auth/): every
question is put to the engine as `auth.current_viewer()`, so the API answers exactly what the dashboard would
show that user. Every answer is written to the audit log as an export.

`GET /api/v1/export` answers the engine's export question as a file (CSV, Excel or Parquet, exports/), streamed
chunk by chunk; the questions with rows (`overview`, `results`, `funnel`, `adjusted`, `trend`, `breakdown`) answer
the same file for `format=csv|xlsx|parquet` or an `Accept` header asking for one of those types.

`GET /api/v1/report` answers the meeting report of one organisation (reports/): an A4 PDF, or the same report as an
HTML page (`format=html`), made from the engine's answers for the logged-in user and kept per data version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import flask
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

import auth
import exports
import reports
from queries.catalogue import CATALOGUE
from queries.engine import LEVELS, IndicatorEngine, NoDataError, get_engine
from queries.filters import (
    DIMENSIONS,
    FILTER_PARAMETERS,
    GRAINS,
    PERIOD_PARAMETER,
    Filters,
    InvalidParameterError,
    parse_filters,
    period_within_data,
)
from queries.judgement import DEFAULT_OVERDISPERSION, OVERDISPERSION_CHOICES
from queries.meeting_report import meeting_report
from queries.scope import NotPermittedError, Viewer
from queries.store import VersionNotKeptError
from settings import DATA_FOLDER
from texts import DEFAULT_LANGUAGE, LANGUAGES

API_PREFIX = "/api/v1"
ENGINE_CONFIG_KEY = "PERISPIEGEL_INDICATOR_ENGINE"
DATABASE_URL_CONFIG_KEY = "PERISPIEGEL_DATABASE_URL"
#: Where the made meeting reports are kept (reports.ReportCache): the installation's data folder unless the server
#: names another (tests do).
REPORT_FOLDER_CONFIG_KEY = "PERISPIEGEL_REPORT_FOLDER"
REPORT_CACHE_HEADER = "X-Perispiegel-Report-Cache"

REQUIRED_CHOICES = {"indicator": list(CATALOGUE), "level": list(LEVELS), "dimension": list(DIMENSIONS)}
FORMAT_PARAMETER = "format"
# The parameters of every export besides the target group (`GET /export`, and a file from the other routes).
EXPORT_OPTIONS = (FORMAT_PARAMETER, "lang", "data_version")

#: The routes that receive a file (api/deliveries.py) rather than answer a question.
DELIVERY_ENDPOINTS = ("api_v1.receive_delivery", "api_v1.validate_delivery")

blueprint = Blueprint("api_v1", __name__, url_prefix=API_PREFIX)


def _engine() -> IndicatorEngine:
    engine = current_app.config.get(ENGINE_CONFIG_KEY)
    if engine is None:
        engine = get_engine(current_app.config.get(DATABASE_URL_CONFIG_KEY))
        current_app.config[ENGINE_CONFIG_KEY] = engine
    return engine


def _error(status: int, message: str, **details: object) -> flask.Response:
    response = jsonify({"error": message, "status": status, **details})
    response.status_code = status
    return response


@blueprint.before_request
def _login_required() -> flask.Response | None:
    # auth.install's guard refuses anonymous requests before they get here; this also holds (fail closed) on a
    # server that mounted the API without installing login.
    if not auth.login_installed() or auth.current_user() is None:
        return _error(401, "login required")
    return None


@blueprint.after_request
def _audit_export(response: flask.Response) -> flask.Response:
    # A file is logged when its last row has been sent, with the number of rows (`_file`). A delivery is logged as
    # one (api/deliveries.py), not as an export.
    if response.status_code == 200 and not response.is_streamed and request.endpoint not in DELIVERY_ENDPOINTS:
        auth.audit_event("export", target=request.full_path.rstrip("?"))
    return response


@blueprint.errorhandler(InvalidParameterError)
def _invalid(error: InvalidParameterError) -> flask.Response:
    return _error(400, str(error), parameter=error.parameter, allowed=error.allowed)


@blueprint.errorhandler(NotPermittedError)
def _not_permitted(error: NotPermittedError) -> flask.Response:
    return _error(403, str(error))


@blueprint.errorhandler(VersionNotKeptError)
def _not_kept(error: VersionNotKeptError) -> flask.Response:
    return _error(410, str(error), parameter="data_version", kept=error.kept)


@blueprint.errorhandler(NoDataError)
def _no_data(error: NoDataError) -> flask.Response:
    return _error(503, str(error))


def _arguments(required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str]:
    """The question's own parameters, checked: unknown names and missing required ones are 400s."""
    allowed = (*required, *optional, *FILTER_PARAMETERS)
    for name in request.args:
        if name not in allowed:
            raise InvalidParameterError(name, request.args[name], allowed,
                                        f"unknown parameter '{name}'; allowed parameters: {', '.join(allowed)}")
    for name in required:
        if not request.args.get(name):
            choices = REQUIRED_CHOICES[name]
            raise InvalidParameterError(name, None, choices,
                                        f"missing parameter '{name}'; allowed values: {', '.join(choices)}")
    return {name: request.args[name] for name in (*required, *optional) if request.args.get(name)}


def _viewer(org_code: str | None = None) -> Viewer:
    """The logged-in user's viewer, looking at `org_code` when the user may (auth/permissions.py)."""
    return auth.current_viewer(org_code)


def _own_code() -> str | None:
    """The organisation a per-organisation question is about by default: the user's own (or VSV)."""
    viewer = _viewer()
    return viewer.org_code or viewer.vsv_code


def _filters() -> dict[str, str]:
    return {name: request.args[name] for name in FILTER_PARAMETERS if name in request.args}


def _answer(question: Callable[..., dict], *args: object, **kwargs: str | None) -> flask.Response:
    for name in ("data_version", "lang"):
        if name in request.args:
            raise InvalidParameterError(name, request.args[name], f"only with {FORMAT_PARAMETER}=csv|xlsx|parquet",
                                        f"'{name}' applies to a file: add {FORMAT_PARAMETER}=csv, xlsx or parquet")
    return jsonify(question(*args, _viewer(kwargs.get("org_code")), _filters(), export=True, **kwargs))


def _requested_format() -> exports.Format | None:
    """The file format asked for: `format=` (csv, xlsx, parquet; json for the JSON answer), else the best match of
    the `Accept` header (JSON first, so `*/*` and browsers get JSON); None for JSON."""
    written = request.args.get(FORMAT_PARAMETER)
    if written:
        if written == "json":
            return None
        for name in exports.FORMATS:
            if written == name:
                return name
        raise InvalidParameterError(FORMAT_PARAMETER, written, ("json", *exports.FORMATS))
    media_types = {exports.MEDIA_TYPES[name].split(";")[0]: name for name in exports.FORMATS}
    best = request.accept_mimetypes.best_match(["application/json", *media_types])
    return media_types.get(best) if best else None


def _file(file_format: exports.Format, **question: object) -> flask.Response:
    """The export question's answer as a file, streamed as it is written; logged with its rows when complete."""
    language = request.args.get("lang") or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        raise InvalidParameterError("lang", language, LANGUAGES)
    version = request.args.get("data_version")
    if version is not None and not re.fullmatch(r"[0-9]{1,9}", version):
        raise InvalidParameterError("data_version", version, "the number of a kept data version")
    org_code = question.get("org_code")
    viewer = _viewer(org_code if isinstance(org_code, str) else None)
    table = _engine().export(viewer, _filters(), language=language,
                             data_version=int(version) if version else None, **question)  # type: ignore[arg-type]
    user = auth.current_user()
    # The request that makes this very file again (while its version is kept): with the data version pinned.
    pinned = {"data_version": str(table.about["data_version"]["number"]), FORMAT_PARAMETER: file_format}
    kept = [(name, value) for name, value in request.args.items(multi=True) if name not in pinned]
    reproducing = f"{request.path}?{urlencode([*kept, *pinned.items()], safe='.,')}"
    context = exports.ExportContext(exported_at=datetime.now(UTC), exported_by=user.username if user else "",
                                    request=reproducing, language=language)
    streamed = exports.stream(table, file_format, context)
    log = auth.audit_later("export", target=request.full_path.rstrip("?"))

    def body() -> Iterator[bytes]:
        # Written while the response is sent, after the request's context has gone: everything it needs is here.
        try:
            yield from streamed
        finally:
            log(f"{file_format}, {streamed.rows} rows" if streamed.rows is not None
                else f"{file_format}, not completed")

    name = exports.file_name(table.about, file_format)
    return flask.Response(body(), content_type=exports.MEDIA_TYPES[file_format],
                          headers={"Content-Disposition": f'attachment; filename="{name}"',
                                   "X-Perispiegel-Data-Version": str(table.about["data_version"]["number"])})


def _listed(name: str) -> list[str]:
    """A comma-separated parameter as a list (absent: empty)."""
    return [value.strip() for value in request.args.get(name, "").split(",") if value.strip()]


@blueprint.get("/indicators")
def indicators() -> flask.Response:
    """The catalogue with definitions, and the allowed values of every parameter."""
    _arguments(())
    engine = _engine()
    return jsonify({
        "data_version": engine.data_version(),
        "indicators": engine.catalogue(),
        "levels": list(LEVELS), "grains": list(GRAINS), "overdispersion": list(OVERDISPERSION_CHOICES),
        "dimensions": {name: {"name_nl": d.label("nl"), "name_en": d.label("en"), "values": list(d.values)}
                       for name, d in DIMENSIONS.items()},
    })


@blueprint.get("/overview")
def overview() -> flask.Response:
    """Every indicator of the organisation's type for one organisation (default: the user's own), its VSV and
    national, judged as the dashboard's overview judges them."""
    args = _arguments((), ("org", "overdispersion", *EXPORT_OPTIONS))
    if file_format := _requested_format():
        return _file(file_format, org_code=args.get("org") or _own_code(),
                     overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))
    return _answer(_engine().overview, org_code=args.get("org"),
                   overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))


@blueprint.get("/results")
def results() -> flask.Response:
    args = _arguments(("indicator", "level"), ("overdispersion", *EXPORT_OPTIONS))
    if file_format := _requested_format():
        return _file(file_format, indicators=[args["indicator"]], level=args["level"],
                     overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))
    return _answer(_engine().results, args["indicator"], args["level"],
                   overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))


@blueprint.get("/funnel")
def funnel() -> flask.Response:
    args = _arguments(("indicator", "level"), ("overdispersion", *EXPORT_OPTIONS))
    if file_format := _requested_format():
        return _file(file_format, indicators=[args["indicator"]], level=args["level"],
                     overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))
    return _answer(_engine().funnel, args["indicator"], args["level"],
                   overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))


@blueprint.get("/trend")
def trend() -> flask.Response:
    args = _arguments(("indicator",), ("grain", "org", *EXPORT_OPTIONS))
    if file_format := _requested_format():
        return _file(file_format, indicators=[args["indicator"]], org_code=args.get("org") or _own_code(),
                     grain=args.get("grain", "month"))
    return _answer(_engine().trend, args["indicator"], grain=args.get("grain", "month"), org_code=args.get("org"))


@blueprint.get("/control-chart")
def control_chart() -> flask.Response:
    args = _arguments(("indicator",), ("org",))
    return _answer(_engine().control_chart, args["indicator"], org_code=args.get("org"))


@blueprint.get("/breakdown")
def breakdown() -> flask.Response:
    args = _arguments(("indicator", "dimension"), ("org", *EXPORT_OPTIONS))
    if file_format := _requested_format():
        return _file(file_format, indicators=[args["indicator"]], org_code=args.get("org") or _own_code(),
                     dimensions=[args["dimension"]])
    return _answer(_engine().breakdown, args["indicator"], args["dimension"], org_code=args.get("org"))


@blueprint.get("/adjusted")
def adjusted() -> flask.Response:
    args = _arguments(("indicator", "level"), ("overdispersion", *EXPORT_OPTIONS))
    if file_format := _requested_format():
        return _file(file_format, indicators=[args["indicator"]], level=args["level"],
                     overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))
    return _answer(_engine().adjusted, args["indicator"], args["level"],
                   overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))


@blueprint.get("/export")
def export() -> flask.Response:
    """The export question (queries.engine.IndicatorEngine.export) as a CSV, Excel or Parquet file: indicators
    (comma-separated; default all), a level or one organisation, up to two breakdown dimensions, a grain, the target
    group, the language of the labels and a kept data version."""
    args = _arguments((), ("indicator", "level", "org", "dimension", "grain", "overdispersion", *EXPORT_OPTIONS))
    if request.args.get(FORMAT_PARAMETER) == "json":
        raise InvalidParameterError(FORMAT_PARAMETER, "json", exports.FORMATS, "the export is a file: format must be "
                                    "csv, xlsx or parquet (the other routes answer JSON)")
    file_format = _requested_format() or "csv"
    return _file(file_format, indicators=_listed("indicator") or None, level=args.get("level"),
                 org_code=args.get("org"), dimensions=_listed("dimension"), grain=args.get("grain"),
                 overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))


def _report_folder(engine: IndicatorEngine) -> Path:
    """The installation's folder of made reports for the engine's database (one per database: two installations on
    one machine, or a test's database, never share a data version's reports)."""
    database = engine.store.engine.url.render_as_string(hide_password=True)
    return DATA_FOLDER / "reports" / hashlib.sha256(database.encode()).hexdigest()[:12]


@blueprint.get("/report")
def report() -> flask.Response:
    """The meeting report of one organisation (default: the user's own, or its VSV) for the target group, as an A4 PDF
    (`format=pdf`, the default) or an HTML page (`format=html`), in `lang`, judged by `overdispersion`: refused (403)
    for an organisation the user may not see. Served from the report files of the current data version when the same
    user asked the same before (`X-Perispiegel-Report-Cache: hit`); logged as an export."""
    args = _arguments((), ("org", "overdispersion", "lang", FORMAT_PARAMETER))
    file_format = args.get(FORMAT_PARAMETER, "pdf")
    if file_format not in reports.FORMATS:
        raise InvalidParameterError(FORMAT_PARAMETER, file_format, reports.FORMATS)
    language = args.get("lang", DEFAULT_LANGUAGE)
    if language not in LANGUAGES:
        raise InvalidParameterError("lang", language, LANGUAGES)
    overdispersion = args.get("overdispersion", DEFAULT_OVERDISPERSION)
    if overdispersion not in OVERDISPERSION_CHOICES:
        raise InvalidParameterError("overdispersion", overdispersion, OVERDISPERSION_CHOICES)
    org_code = args.get("org") or _own_code()
    if not org_code:
        raise InvalidParameterError("org", None, "the code of an organisation you may see",
                                    "a meeting report is about one organisation: add org=")
    permitted = auth.permitted_organisations()
    if permitted is not None and org_code not in permitted:
        return _error(403, f"you may not see organisation '{org_code}': a meeting report only of your own "
                           "organisation or one you were given access to", parameter="org")
    engine, viewer, filters = _engine(), _viewer(org_code), _filters()
    parsed = parse_filters(filters)  # a bad value: the same 400 as every question's
    version = engine.data_version()
    if version is None:
        raise NoDataError("no data version has been published yet")
    parsed = _within_data(parsed, version)
    user = auth.current_user()
    generated_by = f"{user.display_name} ({user.username})" if user and user.display_name else (
        user.username if user else "")
    folder = current_app.config.get(REPORT_FOLDER_CONFIG_KEY) or _report_folder(engine)
    made = reports.meeting_report_file(
        lambda: meeting_report(engine, viewer, parsed, org_code, overdispersion),
        cache=reports.ReportCache(folder),
        # The engine's fingerprint (definitions, settings, computing code): a release or setting that changes an
        # answer makes new reports, as it makes new answers.
        question={"org_code": org_code, "filters": parsed.as_params(), "overdispersion": overdispersion,
                  "viewer": viewer.as_dict(), "answers": engine.fingerprint},
        data_version=version, file_format=file_format, language=language, generated_by=generated_by,
        generated_at=datetime.now(UTC))
    disposition = "attachment" if file_format == "pdf" else "inline"
    return flask.Response(made.content, content_type=made.media_type, headers={
        "Content-Disposition": f'{disposition}; filename="{made.name}"',
        "X-Perispiegel-Data-Version": str(made.data_version),
        REPORT_CACHE_HEADER: "hit" if made.cached else "miss"})


def _within_data(filters: Filters, version: dict) -> Filters:
    """The report's period within the published data, as the pages put it (`queries.filters.period_within_data`):
    cut to the months with data; a period with no month in the data is a 400 — a report of it would be all "fewer
    than ten births" — that says where the data are."""
    within, outside = period_within_data(filters, version.get("period_from"), version.get("period_to"))
    if outside is not None and outside.kept is None:
        first, last = outside.requested
        raise InvalidParameterError(PERIOD_PARAMETER, request.args.get(PERIOD_PARAMETER),
                                    f"{outside.data_from}..{outside.data_to}",
                                    f"no data in this period ({first}..{last}): the data run from {outside.data_from} "
                                    f"to {outside.data_to}")
    return within


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
UNKNOWN_ROUTE_ENDPOINTS = ("api_v1._unknown_route", "_unknown_api")


def _unknown_route_answer() -> flask.Response:
    """404 for a path under /api/ that no route has; 405 (with `Allow`) for one a route has for other methods."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = sorted({method for method in ANY_METHOD if method != request.method
                      and _endpoint(adapter, method) not in (None, *UNKNOWN_ROUTE_ENDPOINTS)})
    if allowed:
        response = _error(405, f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return _error(404, f"no such API route: {request.path}; the routes are under {API_PREFIX}/ (docs/api.md)")


def _endpoint(adapter: MapAdapter, method: str) -> str | None:
    try:
        endpoint, _ = adapter.match(request.path, method=method)
    except HTTPException:
        return None
    return str(endpoint)


# Without these, Dash's catch-all page route would answer an unknown API path with the dashboard's HTML.
@blueprint.route("/<path:unknown>", methods=ANY_METHOD)
def _unknown_route(unknown: str) -> flask.Response:
    return _unknown_route_answer()


def _unknown_api(unknown: str = "") -> flask.Response:
    return _unknown_route_answer()


def _api_errors(server: flask.Flask) -> None:
    """Every answer under /api/ is JSON, also for a path the API does not have (`/api/v2/...`, `/api/x`: 404) and a
    method a route does not take (405, with the methods it does take in `Allow`)."""
    for rule in ("/api", "/api/", "/api/<path:unknown>"):
        server.add_url_rule(rule, endpoint="_unknown_api", view_func=_unknown_api, methods=ANY_METHOD)


def register_api(server: flask.Flask, engine: IndicatorEngine | None = None) -> None:
    """Mount the API on `server`. The engine defaults to `get_engine(server.config["PERISPIEGEL_DATABASE_URL"])`
    (or the default database); tests and embedders may pass their own."""
    if engine is not None:
        server.config[ENGINE_CONFIG_KEY] = engine
    server.register_blueprint(blueprint)
    _api_errors(server)
