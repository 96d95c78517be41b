"""Where a page finds the database: the engine `app.create_app` attached to the Flask server."""

from __future__ import annotations

import flask
from sqlalchemy import Engine

ENGINE_EXTENSION = "perispiegel_engine"


def attach_engine(server: flask.Flask, engine: Engine) -> None:
    server.extensions[ENGINE_EXTENSION] = engine


def database_engine() -> Engine:
    """The engine of the app serving the current request (page layouts run inside a request)."""
    return flask.current_app.extensions[ENGINE_EXTENSION]
