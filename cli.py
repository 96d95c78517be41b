"""The `perispiegel` console command: generate demo deliveries, refresh the tables, show status, serve.

Each sub-command is a thin shell around the package that does the work, so that what the command does
is also what the tests exercise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine

from settings import ENVIRONMENT_VARIABLE, deliveries_folder, is_production
from tables.database import DEFAULT_DATABASE_PATH, OutdatedDatabaseError, database_url, make_engine

DEMO_YEARS = "2022-2024"
DEMO_SEED = 7
DEMO_DELIVERIES_DIR = deliveries_folder()
#: The demo's organisations that send FHIR (NDJSON of R4 Bundles) instead of CSV, so that the demo exercises both
#: paths; few, because reading FHIR is much slower than CSV (docs/benchmarks.md).
DEMO_FHIR_SHARE = 0.03


def parse_years(text: str) -> list[int]:
    """'2022-2024' → [2022, 2023, 2024]; '2023' → [2023]; '2021,2023' → [2021, 2023]."""
    years: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            first, last = (int(value) for value in part.split("-", 1))
            if last < first:
                raise argparse.ArgumentTypeError(f"year range {part!r} runs backwards")
            years.extend(range(first, last + 1))
        elif part:
            years.append(int(part))
    if not years or any(year < 2000 or year > 2100 for year in years):
        raise argparse.ArgumentTypeError(f"years {text!r}: expected e.g. 2022-2024 (2000–2100)")
    return years


def _years_argument(text: str) -> list[int]:
    try:
        return parse_years(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"years {text!r}: {error}") from error


def _share_argument(text: str) -> float:
    try:
        share = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"share {text!r} is not a number") from error
    if not 0 <= share <= 1:
        raise argparse.ArgumentTypeError(f"share {text!r} must lie between 0 and 1")
    return share


def generate_command(years: list[int], seed: int, out_dir: Path, scale: float, console: Console,
                     fhir_share: float = 0.0) -> int:
    """Write synthetic deliveries for `years` into `out_dir`, with a progress bar per stage."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from synthetic.deliveries import generate_deliveries

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as progress_bar:
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress_bar.add_task(stage, total=total)
            progress_bar.update(tasks[stage], completed=done, total=total)

        summary = generate_deliveries(years, seed, out_dir, scale=scale, progress=report, fhir_share=fhir_share)
    console.print(f"[green]Synthetic deliveries written to {out_dir}[/green]")
    for key, value in summary.items():
        console.print(f"  {key}: {value}")
    return 0


def ensure_demo_data(console: Console) -> int:
    """On an empty database, generate three years of demo deliveries and load them (what `make run` does);
    then, when there are no accounts yet, create the demo accounts (not in production)."""
    from loader.console import load_command
    from tables.database import current_data_version

    engine = make_engine()
    if current_data_version(engine) is not None:
        console.print("Data already loaded; no demo data generated.")
        return ensure_demo_users(engine, console)
    console.print(f"No data in {database_url()}: generating demo deliveries {DEMO_YEARS} (seed {DEMO_SEED}); "
                  f"{DEMO_FHIR_SHARE:.0%} of the organisations send FHIR.")
    status = generate_command(parse_years(DEMO_YEARS), DEMO_SEED, DEMO_DELIVERIES_DIR, 1.0, console,
                              DEMO_FHIR_SHARE)
    if status:
        return status
    status = load_command(DEMO_DELIVERIES_DIR, engine, console)
    if status:
        return status
    return ensure_demo_users(engine, console)


def ensure_demo_users(engine: Engine, console: Console) -> int:
    """Create and print (once) the demo accounts when the database has none; never in production."""
    from auth.commands import print_demo_users
    from auth.demo import create_demo_users
    from auth.users import count_users

    if is_production():
        if count_users(engine) == 0:
            console.print("No user accounts yet: create an admin with "
                          "`perispiegel users add NAME --role admin` (demo accounts are never made in production).")
        return 0
    print_demo_users(create_demo_users(engine), console)
    return 0


def status_command(engine: Engine, console: Console) -> int:
    """`perispiegel status`: the loader's status (current version, rows per table, last refreshes), then the data
    versions still kept, which an export can name (`queries.status.kept_versions`). Printed here because the loader
    never imports queries/ (docs/architecture.md)."""
    from rich.table import Table

    from loader.console import status_command as loader_status
    from loader.refresh import KEEP_VERSIONS_VARIABLE, versions_to_keep
    from queries.status import kept_versions

    exit_code = loader_status(engine, console)
    try:
        setting = f"the last {versions_to_keep()} published are kept ({KEEP_VERSIONS_VARIABLE})"
    except ValueError as error:  # the next refresh refuses to run: say so here too
        setting = f"[red]{error}[/red]"
    kept = kept_versions(engine)
    if not kept:
        console.print(f"No data version kept yet; {setting}.")
        return exit_code
    versions = Table(title=f"Kept data versions: {setting}")
    for heading in ("data version", "label", "published", "births", "birth months", "current"):
        versions.add_column(heading, justify="right" if heading in {"data version", "births"} else "left")
    for version in kept:
        months = "-" if version["period_from"] is None else f"{version['period_from']} to {version['period_to']}"
        versions.add_row(str(version["number"]), version["label"], f"{version['published_at']:%Y-%m-%d %H:%M}",
                         f"{version['births']:,}", months, "current" if version["current"] else "")
    console.print(versions)
    return exit_code


def validate_command(path: Path, org_code: str | None, as_json: bool, language: str, engine: Engine,
                     console: Console) -> int:
    """`perispiegel validate FILE`: the feedback a sender gets from `POST /api/v1/deliveries/validate`, for a file
    on disk, against the register in the database; 0 when nothing is rejected, 1 when something is, 2 for a usage
    error."""
    import json

    from rich.table import Table
    from rich.text import Text

    from contracts.delivery_format import FILE_NAME_PATTERN
    from loader.intake import validate_received

    if not path.is_file():
        console.print(f"no such file: {path}", style="red", markup=False)
        return 2
    name = path.name
    if org_code:
        match = FILE_NAME_PATTERN.match(name)
        if match is None:
            console.print(f"--org needs a file named <discipline>_<org>_<YYYY-MM>[_resendN].<ext>, not {name}",
                          style="red", markup=False)
            return 2
        name = name[:match.start("org_code")] + org_code + name[match.end("org_code"):]
    feedback, _ = validate_received(engine, name, path.read_bytes(), language)
    if as_json:
        print(json.dumps(feedback.as_dict(), ensure_ascii=False, indent=2))
    else:
        console.print(Text(f"{feedback.file_name}: {feedback.status}", style="bold"))
        console.print(Text(feedback.message))
        table = Table("line", "dossier", "status", "code", "message", title="Per record")
        for dossier in feedback.dossiers:
            rows = [(error["code"], error["message"]) for error in dossier.errors] + [
                (hint["code"], hint["message"]) for hint in dossier.hints] or [("", "")]
            for code, message in rows:
                table.add_row(str(dossier.line_number or ""), Text(dossier.dossier_id or ""), dossier.status,
                              Text(code or ""), Text(message or ""))
        if feedback.dossiers:
            console.print(table)
    return 1 if feedback.anything_rejected else 0


def build_parser() -> argparse.ArgumentParser:
    from auth.commands import add_users_parser

    parser = argparse.ArgumentParser(
        prog="perispiegel",
        description="perispiegel: quality dashboard for Dutch birth care. "
        f"Database: $PERISPIEGEL_DATABASE_URL (default: the SQLite file {DEFAULT_DATABASE_PATH}).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write synthetic delivery files (demo data)")
    generate.add_argument("--years", type=_years_argument, required=True, help="e.g. 2022-2024")
    generate.add_argument("--seed", type=int, default=DEMO_SEED)
    generate.add_argument("--out", type=Path, required=True, help="folder to write the deliveries into")
    generate.add_argument("--scale", type=float, default=1.0, help="1.0 ≈ 165,000 births a year")
    generate.add_argument("--format", choices=("csv", "fhir"), default="csv",
                          help="fhir: every organisation sends FHIR (NDJSON of R4 Bundles) wherever it can")
    generate.add_argument("--fhir-share", type=_share_argument, default=None,
                          help="the share of organisations (0-1) that send FHIR, the others CSV")

    load = commands.add_parser("load", help="one refresh: validate, link and publish the deliveries in DIR")
    load.add_argument("directory", type=Path, nargs="?", default=None,
                      help="the delivery folder (default: $PERISPIEGEL_DELIVERIES_DIR, else data/deliveries)")

    validate = commands.add_parser("validate", help="validate one delivery file as a refresh would, storing nothing "
                                   "(exit 0: nothing rejected, 1: something rejected, 2: usage error)")
    validate.add_argument("file", type=Path, help="a delivery file named <discipline>_<org>_<YYYY-MM>[_resendN].<ext>")
    validate.add_argument("--org", help="validate it as this organisation's (the name's organisation replaced)")
    validate.add_argument("--json", action="store_true", help="the feedback as JSON (as the API answers it)")
    validate.add_argument("--lang", choices=("nl", "en"), default="en")

    commands.add_parser("status", help="current data version, row counts, last refreshes and kept data versions")
    commands.add_parser("demo-data", help="generate and load demo data when the database is empty")
    add_users_parser(commands)

    serve = commands.add_parser("serve", help="start the dashboard")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.add_argument("--debug", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    console = Console()
    try:
        return run_command(arguments, console)
    except OutdatedDatabaseError as error:
        console.print(f"[red]{error}[/red]")
        return 2


def run_command(arguments: argparse.Namespace, console: Console) -> int:
    if arguments.command == "generate":
        if arguments.scale <= 0:
            console.print("[red]--scale must be greater than 0[/red]")
            return 2
        if arguments.out.exists() and any(arguments.out.rglob("*.csv")):
            # Old files would be loaded next to the new ones as if they were one national delivery.
            console.print(f"[red]{arguments.out} already holds delivery files; choose an empty folder.[/red]")
            return 2
        share = arguments.fhir_share if arguments.fhir_share is not None else (
            1.0 if arguments.format == "fhir" else 0.0)
        return generate_command(arguments.years, arguments.seed, arguments.out, arguments.scale, console, share)
    if arguments.command == "load":
        from loader.console import load_command

        return load_command(arguments.directory or deliveries_folder(), make_engine(), console)
    if arguments.command == "status":
        return status_command(make_engine(), console)
    if arguments.command == "validate":
        return validate_command(arguments.file, arguments.org, arguments.json, arguments.lang, make_engine(), console)
    if arguments.command == "demo-data":
        return ensure_demo_data(console)
    if arguments.command == "users":
        from auth.commands import users_command

        return users_command(arguments, make_engine(), console)
    if arguments.command == "serve":
        from app import create_app, run
        from auth.users import count_users

        if arguments.debug and is_production():
            # The debugger runs code typed into the browser: never on a production server.
            console.print(f"[red]--debug is refused with {ENVIRONMENT_VARIABLE}=production: the debugger would let "
                          "anyone who reaches an error page run code on the server. Start without --debug.[/red]")
            return 2

        console.print(f"perispiegel on http://{arguments.host}:{arguments.port}  (database: {database_url()})")
        if count_users(make_engine()) == 0:
            # Every page needs a login now: say how to get one rather than serve a login nobody can pass.
            console.print("[yellow]No user accounts yet: create one with `perispiegel users add NAME --role admin` "
                          "(or run `perispiegel demo-data` for the demo accounts).[/yellow]")
        else:
            console.print("Log in with an account of `perispiegel users list` (the demo accounts' passwords were "
                          "printed by `perispiegel demo-data`; `perispiegel users reset-password NAME` sets a new "
                          "one).")
        run(create_app(warm_start=True), host=arguments.host, port=arguments.port, debug=arguments.debug)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
