"""The JSON API (`/api/v1/...`) for researchers and integrations: a Flask blueprint over queries.engine.

`register_api(server)` adds it to the Dash app's Flask server, which `auth.install` puts behind login: the API
answers a logged-in session or a personal API token (`Authorization: Bearer ...`) with what that user may see
(see docs/api.md and docs/security.md). A sender account's token delivers files (`POST /api/v1/deliveries`,
api/deliveries.py) and does nothing else.
"""

from api import deliveries  # noqa: F401  (adds the delivery routes to the blueprint)
from api.routes import register_api

__all__ = ["register_api"]
