"""The routes of the JSON API. Every answer carries the data version; bad parameters get a 400 naming the
parameter and its allowed values. Counts are masked as in exports (the API is an export channel).

Who asks is the logged-in user (a browser session or an `Authorization: Bearer` API token, see auth/): every
question is put to the engine as `auth.current_viewer()`, so the API answers exactly what the dashboard would
show that user. Every answer is written to the audit log as an export.
"""

from __future__ import annotations

from collections.abc import Callable

import flask
from flask import Blueprint, current_app, jsonify, request

import auth
from queries.catalogue import CATALOGUE
from queries.engine import GRAINS, LEVELS, IndicatorEngine, NoDataError, get_engine
from queries.filters import DIMENSIONS, FILTER_PARAMETERS, InvalidParameterError
from queries.judgement import DEFAULT_OVERDISPERSION, OVERDISPERSION_CHOICES
from queries.scope import NotPermittedError, Viewer

API_PREFIX = "/api/v1"
ENGINE_CONFIG_KEY = "PERISPIEGEL_INDICATOR_ENGINE"
DATABASE_URL_CONFIG_KEY = "PERISPIEGEL_DATABASE_URL"

REQUIRED_CHOICES = {"indicator": list(CATALOGUE), "level": list(LEVELS), "dimension": list(DIMENSIONS)}

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
    if response.status_code == 200:
        auth.audit_event("export", target=request.full_path.rstrip("?"))
    return response


@blueprint.errorhandler(InvalidParameterError)
def _invalid(error: InvalidParameterError) -> flask.Response:
    return _error(400, str(error), parameter=error.parameter, allowed=error.allowed)


@blueprint.errorhandler(NotPermittedError)
def _not_permitted(error: NotPermittedError) -> flask.Response:
    return _error(403, str(error))


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


def _filters() -> dict[str, str]:
    return {name: request.args[name] for name in FILTER_PARAMETERS if name in request.args}


def _answer(question: Callable[..., dict], *args: object, **kwargs: str | None) -> flask.Response:
    return jsonify(question(*args, _viewer(kwargs.get("org_code")), _filters(), export=True, **kwargs))


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
    args = _arguments((), ("org", "overdispersion"))
    return _answer(_engine().overview, org_code=args.get("org"),
                   overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))


@blueprint.get("/results")
def results() -> flask.Response:
    args = _arguments(("indicator", "level"), ("overdispersion",))
    return _answer(_engine().results, args["indicator"], args["level"],
                   overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))


@blueprint.get("/funnel")
def funnel() -> flask.Response:
    args = _arguments(("indicator", "level"), ("overdispersion",))
    return _answer(_engine().funnel, args["indicator"], args["level"],
                   overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))


@blueprint.get("/trend")
def trend() -> flask.Response:
    args = _arguments(("indicator",), ("grain", "org"))
    return _answer(_engine().trend, args["indicator"], grain=args.get("grain", "month"), org_code=args.get("org"))


@blueprint.get("/control-chart")
def control_chart() -> flask.Response:
    args = _arguments(("indicator",), ("org",))
    return _answer(_engine().control_chart, args["indicator"], org_code=args.get("org"))


@blueprint.get("/breakdown")
def breakdown() -> flask.Response:
    args = _arguments(("indicator", "dimension"), ("org",))
    return _answer(_engine().breakdown, args["indicator"], args["dimension"], org_code=args.get("org"))


@blueprint.get("/adjusted")
def adjusted() -> flask.Response:
    args = _arguments(("indicator", "level"), ("overdispersion",))
    return _answer(_engine().adjusted, args["indicator"], args["level"],
                   overdispersion=args.get("overdispersion", DEFAULT_OVERDISPERSION))


def register_api(server: flask.Flask, engine: IndicatorEngine | None = None) -> None:
    """Mount the API on `server`. The engine defaults to `get_engine(server.config["PERISPIEGEL_DATABASE_URL"])`
    (or the default database); tests and embedders may pass their own."""
    if engine is not None:
        server.config[ENGINE_CONFIG_KEY] = engine
    server.register_blueprint(blueprint)
