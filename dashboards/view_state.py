"""What the user is looking at — language, organisation and target group — kept in the URL query string.

The URL is the only place this state lives: a copied link reproduces the view, the back button works, and the
server renders each page from the query string alone. The target-group parameters are exactly those of the
indicator engine and the API (`queries.filters`: `period=2023-01..2023-12`, `parity=nulliparous`, ...), so a
dashboard link and an API call describe a selection the same way. Invalid values are dropped, never passed on —
but not silently: the view keeps what it left out of the address (`ViewState.ignored`, one `IgnoredParameter` each),
and a period outside the published data is put right by `within_data` (`PeriodOutsideData`), so that the page can
say so in words and write the corrected address (dashboards/layout.py, `render_page`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, urlencode

from queries.filters import (
    FILTER_PARAMETERS,
    Filters,
    InvalidParameterError,
    PeriodOutsideData,
    parse_filters,
    period_within_data,
)
from texts import DEFAULT_LANGUAGE, language_of

_ORG_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


@dataclass(frozen=True)
class IgnoredParameter:
    """A parameter of the address the view left out: `parameter` ("org", "period", a dimension's name) with the
    `value` written there, which is not one the parameter takes (`parity=bogus`, `period=2023-13`, a malformed
    organisation code)."""

    parameter: str
    value: str


@dataclass(frozen=True)
class ViewState:
    """The state of a view, as read from (and written to) the URL query string; `ignored` is what the address said
    that the view left out (never part of the query string it writes)."""

    language: str = DEFAULT_LANGUAGE
    org_code: str | None = None
    filters: Filters = field(default_factory=Filters)
    ignored: tuple[IgnoredParameter, ...] = ()

    def with_changes(self, **changes: object) -> ViewState:
        return replace(self, **changes)

    def query_string(self) -> str:
        """"?lang=en&org=H001&period=2023-01..2023-12&parity=nulliparous"; defaults are left out."""
        pairs: list[tuple[str, str]] = []  # `ignored` is left out: the address written is the corrected one
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


def _written(value: object) -> str:
    """A parameter's value as the address has it (a repeated key's values joined by commas)."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def valid_filters(parameters: dict[str, object]) -> tuple[Filters, tuple[IgnoredParameter, ...]]:
    """The target group of the parameters, leaving out every parameter the engine would refuse; and those left
    out, in the order of FILTER_PARAMETERS."""
    candidate = {key: value for key, value in parameters.items() if key in FILTER_PARAMETERS and value}
    ignored: dict[str, IgnoredParameter] = {}
    while True:
        try:
            filters = parse_filters(candidate)  # type: ignore[arg-type]
        except InvalidParameterError as error:
            ignored[error.parameter] = IgnoredParameter(error.parameter, _written(candidate.pop(error.parameter, "")))
            continue
        return filters, tuple(ignored[name] for name in FILTER_PARAMETERS if name in ignored)


def view_from_query(parameters: dict[str, object]) -> ViewState:
    """The view described by query parameters (as Dash Pages passes them to a layout function)."""
    org_code = _single(parameters.get("org"))
    malformed_org = bool(org_code) and not _ORG_CODE.match(org_code or "")
    filters, ignored = valid_filters(parameters)
    return ViewState(
        language=language_of(_single(parameters.get("lang"))),
        org_code=None if malformed_org else org_code,
        filters=filters,
        ignored=((IgnoredParameter("org", org_code or ""),) if malformed_org else ()) + ignored,
    )


def within_data(view: ViewState, data_from: str | None,
                data_to: str | None) -> tuple[ViewState, PeriodOutsideData | None]:
    """The view with its period inside the published data (`queries.filters.period_within_data`): a period with no
    month in the data is left out (the whole data are shown), one reaching beyond them is cut to the months with
    data; and what was put right, None when nothing was."""
    filters, outside = period_within_data(view.filters, data_from, data_to)
    return view.with_changes(filters=filters), outside


def view_from_search(search: str | None) -> ViewState:
    """The view described by a URL's search part ("?lang=en&...")."""
    parsed = parse_qs((search or "").removeprefix("?"), keep_blank_values=False)
    return view_from_query({key: values[0] if len(values) == 1 else values for key, values in parsed.items()})
