"""The perispiegel web app: Dash Pages on a Flask server.

    python app.py                 serves on http://127.0.0.1:8050
    gunicorn app:server           the same app under gunicorn
    perispiegel serve             (cli.py) calls create_app().run(host=..., port=...)

The database comes from PERISPIEGEL_DATABASE_URL (default: the embedded SQLite file, see tables/database.py).
Every page, callback, asset and API route is behind login (auth.install; docs/security.md).

Each app created here gets every page and callback, however many apps one process creates (the tests create
several): Dash Pages runs every module of dashboards/pages/ for each app, and each page declares its callbacks
on that app; the frame's and the filter panel's callbacks are Dash hooks (dashboards/layout.py, filters.py),
which Dash adds to every app it creates. `import app` builds nothing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import flask
from dash import Dash
from werkzeug.serving import WSGIRequestHandler

import auth
from api import register_api
from dashboards.context import attach_engine
from dashboards.indicator_access import indicator_engine
from dashboards.layout import app_frame, page_found
from tables.database import make_engine

ASSETS_FOLDER = Path(__file__).resolve().parent / "assets"
# The routes Dash answers with its page for the browser to render (dash.backends: the index and the catch-all).
DASH_PAGE_ENDPOINTS = frozenset({"/", "/<path:path>"})
PAGES_FOLDER = "dashboards/pages"  # relative to this file; Dash Pages runs every page module in it for each app

# Dash's default page has a bare <html> (no language) and an empty <footer> landmark; this one has neither.
INDEX_STRING = """<!DOCTYPE html>
<html lang="nl">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <div class="dash-config">
            {%config%}
            {%scripts%}
            {%renderer%}
        </div>
    </body>
</html>"""


def create_app(database_url: str | None = None, warm_start: bool = False) -> Dash:
    """The Dash app reading the database at `database_url` (default: PERISPIEGEL_DATABASE_URL or SQLite).

    `warm_start`: load the published data version now, in the background, and each newly published one when it
    appears (queries.store.BirthStore.warm), rather than on the first question — for a server that is going to serve
    (`perispiegel serve`, `gunicorn app:server`, `python app.py`); tests that build apps by the dozen leave it off."""
    server = flask.Flask(__name__)
    database = make_engine(database_url)
    attach_engine(server, database)
    app = Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=PAGES_FOLDER,
        assets_folder=str(ASSETS_FOLDER),
        title="perispiegel",
        update_title=None,
        index_string=INDEX_STRING,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        # Dash Pages would otherwise render every page once, for whichever user's request comes first, as a
        # "validation layout" and send it to every browser in the page's config: one user's organisation list
        # and delivery feedback in everyone's page. Without it, callbacks are simply not checked against ids.
        suppress_callback_exceptions=True,
    )
    # Login in front of everything the server answers: pages, callbacks, assets and the API.
    auth.install(server, database)
    app.layout = app_frame()
    server.after_request(_not_found_status)

    # The API shares the dashboards' indicator engine: one in-memory copy of the published data per process.
    engine = indicator_engine(database)
    register_api(app.server, engine)
    if warm_start:
        engine.warm()
    return app


def _not_found_status(response: flask.Response) -> flask.Response:
    """Dash serves the same page for every path (the browser then asks for the page's layout); a path that is no
    page gets status 404 with it, so the "page not found" page (dashboards/pages/not_found_404.py) is a 404 to a
    link checker or a script as well as in words."""
    if (flask.request.endpoint in DASH_PAGE_ENDPOINTS and response.status_code == 200
            and not page_found(flask.request.path)):
        response.status_code = 404
    return response


@cache
def default_app() -> Dash:
    """The app a server serves (gunicorn, `python app.py`): the default database, warm started. Under gunicorn each
    worker process builds its own (without `--preload`), so each loads the data in its own background thread."""
    return create_app(warm_start=True)


def __getattr__(name: str) -> object:
    # `gunicorn app:server` looks up `server`; building the app lazily keeps `import app` free of side effects.
    if name == "server":
        return default_app().server
    raise AttributeError(name)


class BannerlessRequestHandler(WSGIRequestHandler):
    """werkzeug's development server (`perispiegel serve`, `python app.py`) without its banner: the `Server` header
    says "perispiegel", not which Werkzeug and Python versions answer (gunicorn says only "gunicorn")."""

    def version_string(self) -> str:
        return "perispiegel"


def run(dash_app: Dash, host: str = "127.0.0.1", port: int = 8050, debug: bool = False) -> None:
    """Serve `dash_app` with werkzeug's development server (`debug`: the reloader and the in-browser debugger, which
    `perispiegel serve` refuses in production before it builds the app)."""
    dash_app.run(host=host, port=port, debug=debug, request_handler=BannerlessRequestHandler)


if __name__ == "__main__":
    run(default_app())
