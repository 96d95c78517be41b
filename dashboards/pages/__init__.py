"""One module per page. Dash Pages finds them (`Dash(use_pages=True, pages_folder="dashboards/pages")` in app.py) and
runs each module for every app it creates, once that app exists; nothing else imports a page, and no page imports
another (what pages share lives in the other modules of `dashboards/`).

Each module registers itself — `dash.register_page(__name__, path=... or path_template=..., name=..., order=...,
layout=layout)` — and declares its callbacks at module level on `dash.get_app()`, the app it is run
for: every app created in one process gets every page and each page's callbacks. The navigation is the registered
pages in `order` (`layout.navigation_pages`; a page with `in_navigation=False` is reached through links); other
pages link to a page by its `name` (`layout.page_path`). The document title is the app's until the page's
translated title (the text `code.page.<name>`) replaces it.

Dash runs a page module before putting it in `sys.modules`, where a dataclass with postponed (string) annotations
cannot be made: a page module that defines a dataclass does without `from __future__ import annotations`.
"""
