"""The admin pages (`/admin`): users, their grants, the audit log and the registry console. Server-rendered
forms with CSRF tokens; only admins get in (everyone else a 403, which is logged), for every page and file under
`/admin`. The same user operations as `perispiegel users`.

The audit log (`/admin/audit`) is filtered by user, action, organisation and date range, a page of AUDIT_ROWS at a
time, and downloaded as CSV (`/admin/audit.csv`, the same filters; the download is itself logged). The registry
console (`/admin/registry`) shows one month's deliveries against the delivery calendar (queries/registry_console.py).
A filter value the page does not take is said in words, with status 400.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import flask
from flask import Blueprint, request

from auth import audit
from auth.pages import page_language, render
from auth.session import auth_settings, client_address, csrf_valid, logged_in_user, required_user
from auth.users import (
    ACCOUNT_ROLES,
    SENDER_ROLE,
    User,
    UserError,
    add_user,
    grant,
    list_users,
    reset_password,
    sender_token,
    set_active,
    set_role,
)
from contracts.delivery_format import Discipline
from queries.registry_console import (
    DESCENDING_FIRST,
    ROW_STATES,
    SENDING_TYPES,
    SORT_KEYS,
    ConsoleFilters,
    ConsoleQueryError,
    ConsoleSort,
    registry_console,
)
from queries.status import organisation_register
from texts import code_label, text
from texts.formatting import DISPLAY_TIMEZONE, spreadsheet_text

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_ROWS = 50  # entries per page of the audit log
AUDIT_FILTERS = ("user", "action", "org", "from", "to")
CONSOLE_PARAMETERS = ("month", "type", "discipline", "state", "q", "sort", "order")
_ORG_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


@blueprint.before_request
def _admins_only() -> flask.Response | None:
    user = logged_in_user()
    if user is None or user.role != "admin":
        audit.record(auth_settings().engine, "access_denied", actor=user.username if user else None,
                     target=request.path[:200], address=client_address())
        language = page_language()
        return render("message.html", 403, title=text("forbidden", language), message=text("forbidden", language))
    if request.method == "POST" and not csrf_valid():
        return _users_page(400, error=text("form_expired", page_language()))
    return None


def _users_page(status: int = 200, /, **notices: object) -> flask.Response:
    return render("admin.html", status, users=list_users(auth_settings().engine), roles=ACCOUNT_ROLES, **notices)


@blueprint.get("")
def users_page() -> flask.Response:
    return _users_page()


def _administer(operation: Callable[..., Any], *,
                done: Callable[[Any], dict[str, object]] | dict[str, object] | None = None) -> flask.Response:
    """Run one user operation as the logged-in admin; a UserError is shown on the page with status 400."""
    try:
        result = operation(actor=required_user().username, address=client_address())
    except UserError as error:
        return _users_page(400, problem=str(error))
    return _users_page(**(done(result) if callable(done) else done or {"message": text("done", page_language())}))


@blueprint.post("/users")
def add() -> flask.Response:
    form = request.form

    def add_account(actor: str, address: str | None) -> tuple[User, str]:
        user, password = add_user(auth_settings().engine, form.get("username", ""), form.get("role", ""),
                                  org_code=form.get("org_code"), display_name=form.get("display_name") or None,
                                  one_time=True, actor=actor, address=address)
        if user.role == SENDER_ROLE:  # a sender never logs in: what it needs is its API token
            return user, sender_token(auth_settings().engine, user.username, actor=actor, address=address)
        return user, password

    def shown_once(result: tuple[User, str]) -> dict[str, object]:
        user, secret = result
        said = (text("sender_added", page_language(), username=user.username) if user.role == SENDER_ROLE
                else text("user_added", page_language(), username=user.username))
        return {"shown_once": (said, secret)}

    return _administer(add_account, done=shown_once)


@blueprint.post("/users/<username>/disable")
def disable(username: str) -> flask.Response:
    return _administer(lambda **who: set_active(auth_settings().engine, username, False, **who))


@blueprint.post("/users/<username>/enable")
def enable(username: str) -> flask.Response:
    return _administer(lambda **who: set_active(auth_settings().engine, username, True, **who))


@blueprint.post("/users/<username>/reset-password")
def new_password(username: str) -> flask.Response:
    return _administer(lambda **who: reset_password(auth_settings().engine, username, one_time=True, **who),
                       done=lambda password: {"shown_once": (text("new_password_for", page_language(),
                                                                  username=username), password)})


@blueprint.post("/users/<username>/role")
def change_role(username: str) -> flask.Response:
    form = request.form
    return _administer(lambda **who: set_role(auth_settings().engine, username, form.get("role", ""),
                                              org_code=form.get("org_code"), **who),
                       done={"message": text("account.role_changed", page_language(), username=username)})


@blueprint.post("/users/<username>/grant")
def grant_organisation(username: str) -> flask.Response:
    revoke = request.form.get("revoke") == "1"
    return _administer(lambda **who: grant(auth_settings().engine, username, request.form.get("org_code", ""),
                                           revoke=revoke, **who))


def _chosen(names: tuple[str, ...]) -> dict[str, str]:
    """The request's values of `names`, stripped; empty ones left out."""
    return {name: request.args.get(name, "").strip() for name in names if request.args.get(name, "").strip()}


def _day(value: str | None, label: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(text("audit_filters.bad_date", page_language(), value=value, field=label))
        return None


def _audit_query(chosen: dict[str, str]) -> tuple[audit.AuditQuery, list[str]]:
    """The audit query the filters ask for, and what is wrong with them in words (then the query is unfiltered)."""
    language = page_language()
    problems: list[str] = []
    action = chosen.get("action")
    if action is not None and action not in audit.ACTIONS:
        problems.append(text("audit_filters.unknown_action", language, value=action))
    org_code = chosen.get("org")
    if org_code is not None and not _ORG_CODE.match(org_code):
        problems.append(text("audit_filters.bad_organisation", language, value=org_code))
    date_from = _day(chosen.get("from"), text("audit_filters.date_from", language), problems)
    date_to = _day(chosen.get("to"), text("audit_filters.date_to", language), problems)
    if date_from and date_to and date_to < date_from:
        problems.append(text("audit_filters.range_reversed", language, date_from=chosen["from"],
                             date_to=chosen["to"]))
    if problems:
        return audit.AuditQuery(), problems
    return audit.AuditQuery(actor=chosen.get("user"), action=action, org_code=org_code, date_from=date_from,
                            date_to=date_to), []


def _page_number(problems: list[str]) -> int:
    raw = request.args.get("page", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        problems.append(text("audit_filters.bad_page", page_language(), value=raw))
        return 1
    return int(raw)


def _address(endpoint: str, parameters: Mapping[str, str | int]) -> str:
    query = {**parameters, **({"lang": page_language()} if page_language() != "nl" else {})}
    return flask.url_for(endpoint) + (f"?{urlencode(query)}" if query else "")


@blueprint.get("/audit")
def audit_page() -> flask.Response:
    engine = auth_settings().engine
    chosen = _chosen(AUDIT_FILTERS)
    query, problems = _audit_query(chosen)
    page_number = _page_number(problems)
    found = None if problems else audit.search(engine, query, page_number, AUDIT_ROWS)
    links = {}
    if found is not None:
        links = {"csv": _address("admin.audit_csv", chosen),
                 "previous": _address("admin.audit_page", {**chosen, "page": found.page - 1})
                 if found.page > 1 else None,
                 "next": _address("admin.audit_page", {**chosen, "page": found.page + 1})
                 if found.page < found.pages else None}
    return render("audit.html", 400 if problems else 200, found=found, problems=problems, chosen=chosen,
                  actions=audit.ACTIONS, links=links, usernames=[user.username for user in list_users(engine)],
                  organisations=organisation_register(engine).select("org_code", "name").rows(),
                  reset=_address("admin.audit_page", {}))


@blueprint.get("/audit.csv")
def audit_csv() -> flask.Response:
    engine = auth_settings().engine
    language = page_language()
    chosen = _chosen(AUDIT_FILTERS)
    query, problems = _audit_query(chosen)
    if problems:
        return render("message.html", 400, title=text("audit_title", language), message=" ".join(problems))
    headers = [text("audit_filters.csv_when", language), text("who", language), text("action", language),
               text("audit_filters.csv_action_code", language), text("target", language), text("detail", language),
               text("address", language)]
    # ';' where the decimal symbol is a comma (Dutch spreadsheets), as the compare page's download.
    delimiter = ";" if language == "nl" else ","
    # Logged once the last row is sent (or the download broke off), with how many rows: the file is an export too.
    actor, address, target = required_user().username, client_address(), request.full_path.rstrip("?")

    def log(detail: str) -> None:
        audit.record(engine, "audit_export", actor=actor, target=target, detail=detail, address=address)

    def rows() -> Iterator[str]:
        written = 0
        completed = False
        try:
            buffer = io.StringIO()
            writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
            writer.writerow(headers)
            yield "\ufeff" + buffer.getvalue()
            for entry in audit.matching(engine, query):
                buffer.seek(0)
                buffer.truncate()
                writer.writerow([spreadsheet_text(cell) for cell in (
                    entry["at"].astimezone(DISPLAY_TIMEZONE).isoformat(sep=" ", timespec="seconds"),
                    entry["actor"], code_label("audit_action", entry["action"], language), entry["action"],
                    entry["target"], entry["detail"], entry["address"])])
                written += 1
                yield buffer.getvalue()
            completed = True
        finally:
            log(f"{written} rows" if completed else f"not completed ({written} rows sent)")

    stamp = datetime.now(DISPLAY_TIMEZONE).date().isoformat()
    return flask.Response(rows(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="perispiegel-audit-{stamp}.csv"',
        "Cache-Control": "no-store"})


def _console_problem(error: ConsoleQueryError) -> str:
    """A console parameter's value it does not take, in words, naming the control it belongs to."""
    language = page_language()
    labels = {"month": text("month", language), "type": text("registry.org_type", language),
              "discipline": text("discipline", language), "state": text("registry.state", language),
              "sort": text("registry.sort", language), "order": text("registry.order", language)}
    return text("registry.bad_value", language, value=error.value, parameter=labels.get(error.parameter,
                                                                                        error.parameter))


def _console_choices() -> tuple[str | None, ConsoleFilters, ConsoleSort, list[str]]:
    """The console's month, filters and sort from the request, and what is wrong with them in words."""
    chosen = _chosen(CONSOLE_PARAMETERS)
    order = chosen.get("order")
    problems = []
    if order not in (None, "asc", "desc"):
        problems.append(_console_problem(ConsoleQueryError("order", order or "")))
    try:
        filters = ConsoleFilters(org_type=chosen.get("type"), discipline=chosen.get("discipline"),
                                 state=chosen.get("state"), search=chosen.get("q", ""))  # type: ignore[arg-type]
        key = chosen.get("sort", "urgency")
        descending = order == "desc" if order in ("asc", "desc") else key in DESCENDING_FIRST
        sort = ConsoleSort(key, descending)  # type: ignore[arg-type]
    except ConsoleQueryError as error:
        problems.append(_console_problem(error))
        filters, sort = ConsoleFilters(), ConsoleSort()
    return chosen.get("month"), filters, sort, problems


@blueprint.get("/registry")
def registry_page() -> flask.Response:
    engine = auth_settings().engine
    month, filters, sort, problems = _console_choices()
    console = None
    if not problems:
        try:
            console = registry_console(engine, month, filters=filters, sort=sort)
        except ConsoleQueryError as error:
            problems.append(_console_problem(error))
    if console is None:
        console = registry_console(engine)
    chosen = _chosen(CONSOLE_PARAMETERS)

    def sort_link(key: str) -> str:
        """The address that sorts by `key`: its first direction, or the other one when it is already sorted so."""
        descending = not console.sort.descending if console.sort.key == key else key in DESCENDING_FIRST
        return _address("admin.registry_page", {**chosen, "month": console.month or "", "sort": key,
                                                "order": "desc" if descending else "asc"})

    language = page_language()
    return render("registry.html", 400 if problems else 200, console=console, problems=problems,
                  chosen=chosen, sort_link=sort_link, sort_keys=SORT_KEYS, states=ROW_STATES,
                  org_types=SENDING_TYPES, disciplines=[discipline.value for discipline in Discipline],
                  feedback_link=lambda org_code: "/datakwaliteit?" + urlencode(
                      {"org": org_code, **({"lang": language} if language != "nl" else {})}),
                  reset=_address("admin.registry_page", {}))
