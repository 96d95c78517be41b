"""What the user is looking at — language, organisation and target group — kept in the URL query string.

The URL is the only place this state lives: a copied link reproduces the view, the back button works, and the
server renders each page from the query string alone. The target-group parameters are exactly those of the
indicator engine and the API (`queries.filters`: `period=2023-01..2023-12`, `parity=nulliparous`, ...), so a
dashboard link and an API call describe a selection the same way. Invalid values are dropped, never passed on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, urlencode

from queries.filters import FILTER_PARAMETERS, Filters, InvalidParameterError, parse_filters
from texts import DEFAULT_LANGUAGE, language_of

_ORG_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


@dataclass(frozen=True)
class ViewState:
    """The state of a view, as read from (and written to) the URL query string."""

    language: str = DEFAULT_LANGUAGE
    org_code: str | None = None
    filters: Filters = field(default_factory=Filters)

    def with_changes(self, **changes: object) -> ViewState:
        return replace(self, **changes)

    def query_string(self) -> str:
        """"?lang=en&org=H001&period=2023-01..2023-12&parity=nulliparous"; defaults are left out."""
        pairs: list[tuple[str, str]] = []
        if self.language != DEFAULT_LANGUAGE:
            pairs.append(("lang", self.language))
        if self.org_code:
            pairs.append(("org", self.org_code))
        pairs += list(self.filters.as_params().items())
        return f"?{urlencode(pairs, safe='.,')}" if pairs else ""


def _single(value: object) -> str | None:
    """Dash Pages hands a repeated query key over as a list; the first value wins."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None


def valid_filters(parameters: dict[str, object]) -> Filters:
    """The target group of the parameters, leaving out every parameter the engine would refuse."""
    candidate = {key: value for key, value in parameters.items() if key in FILTER_PARAMETERS and value}
    while True:
        try:
            return parse_filters(candidate)
        except InvalidParameterError as error:
            candidate.pop(error.parameter, None)


def view_from_query(parameters: dict[str, object]) -> ViewState:
    """The view described by query parameters (as Dash Pages passes them to a layout function)."""
    org_code = _single(parameters.get("org"))
    return ViewState(
        language=language_of(_single(parameters.get("lang"))),
        org_code=org_code if org_code and _ORG_CODE.match(org_code) else None,
        filters=valid_filters(parameters),
    )


def view_from_search(search: str | None) -> ViewState:
    """The view described by a URL's search part ("?lang=en&...")."""
    parsed = parse_qs((search or "").removeprefix("?"), keep_blank_values=False)
    return view_from_query({key: values[0] if len(values) == 1 else values for key, values in parsed.items()})
