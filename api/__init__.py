"""The JSON API (`/api/v1/...`) for researchers and integrations: a Flask blueprint over queries.engine.

`register_api(server)` adds it to the Dash app's Flask server. Until login exists the API answers only
requests from the loopback interface (403 otherwise) and acts as a demo viewer: `admin` by default, or
`researcher` with `?as=researcher` (see docs/api.md).
"""

from api.routes import register_api

__all__ = ["register_api"]
