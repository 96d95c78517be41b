"""The browser's half of the callbacks, as Python names it: the functions of `assets/perispiegel.js`
(`window.dash_clientside.perispiegel`) and the ids of the two stores they read — the view's query string, which
every chart and table of a page follows, and the frame's constants (`layout.frame_constants`: the names and values
the scripts share with the server, as data rather than written into the scripts)."""

from __future__ import annotations

from dash import ClientsideFunction

NAMESPACE = "perispiegel"  # window.dash_clientside.perispiegel
VIEW_SEARCH = "view-search"  # the store holding the query string the page's charts and tables show (see filters.py)
FRAME_CONSTANTS = "frame-constants"  # the store of constants in the app's frame (layout.app_frame)


def clientside(function_name: str) -> ClientsideFunction:
    """The clientside function `function_name` of assets/perispiegel.js."""
    return ClientsideFunction(namespace=NAMESPACE, function_name=function_name)
