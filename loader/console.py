"""What `perispiegel load DIR` and `perispiegel status` print: Rich progress bars, summary and status tables."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, func, select

from loader.finding import find_delivery_files
from loader.refresh import RefreshSummary, run_refresh
from loader.refresh_lock import RefreshAlreadyRunningError
from tables.database import current_data_version
from tables.schema import metadata, refreshes

STAGE_LABELS = {
    "register": "Organisation register",
    "read": "Reading delivery files",
    "validate": "Validating and storing records",
    "link": "Linking records per child",
    "derive": "Deriving the national table",
    "publish": "Publishing the new version",
}
#: `perispiegel load` while another refresh runs: nothing was done, try again later (1 = failed, 2 = bad input).
BUSY_EXIT_CODE = 3


def load_command(source_dir: Path, engine: Engine, console: Console, **refresh_options: Path) -> int:
    """One refresh from `source_dir` with a progress bar per stage and a closing summary; the exit code.

    `refresh_options` go to `run_refresh` (the reference files: organisations_file, postcode_file, ...).
    """
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        console.print(f"[red]Delivery folder not found: {source_dir}[/red]")
        return 2
    if not find_delivery_files(source_dir):
        console.print(f"[red]No delivery files found in {source_dir}[/red] "
                      "(folders whose name starts with '_' are skipped)")
        return 2
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as progress_bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress_bar.add_task(STAGE_LABELS.get(stage, stage), total=total or 1)
            progress_bar.update(tasks[stage], completed=done if total else 1, total=total or 1)

        try:
            summary = run_refresh(source_dir, engine, progress=report, **refresh_options)
        except RefreshAlreadyRunningError as busy:
            console.print(f"[red]{busy}[/red]")
            return BUSY_EXIT_CODE
        except Exception as error:  # the refresh rolled back; say why instead of a traceback
            console.print(f"[red]Refresh failed, nothing was published: {type(error).__name__}: {error}[/red]")
            return 1
    console.print(summary_table(summary))
    return 0


def summary_table(summary: RefreshSummary) -> Table:
    """The closing summary of a refresh."""
    table = Table(title=f"Refresh {summary.refresh_id}: {summary.status}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("Delivery files processed", f"{summary.files:,}")
    table.add_row("  unchanged (already loaded)", f"{summary.files_unchanged:,}")
    table.add_row("  rejected (as a whole, or every record)", f"{summary.files_rejected:,}")
    table.add_row("  of which unreadable (tried again next time)", f"{summary.files_unreadable:,}")
    table.add_row("Other files (not named as a delivery, not read)", f"{summary.files_not_deliveries:,}")
    table.add_row("Records read", f"{summary.records_read:,}")
    table.add_row("Records accepted", f"{summary.records_accepted:,}")
    table.add_row("Records rejected", f"{summary.records_rejected:,}")
    for reason, count in summary.rejected_by_reason.items():
        table.add_row(f"  {reason}", f"{count:,}")
    table.add_row("Objections honoured (not stored)", f"{summary.records_objected:,}")
    table.add_row("Accepted but not stored (higher version stored, or objected)", f"{summary.records_not_stored:,}")
    table.add_row("Organisation register changes", f"{summary.register_changes_total:,}")
    for change in summary.register_changes:
        table.add_row(f"  {change}", "")
    table.add_row("Improvement hints", f"{summary.hints:,}")
    table.add_row("Births linked (children in the national table)", f"{summary.births:,}")
    rate = "-" if summary.linkage_rate is None else f"{summary.linkage_rate:.1%}"
    table.add_row("Linkage rate", rate)
    version_text = "-" if summary.data_version is None else str(summary.data_version)
    table.add_row("Data version" + (" (unchanged)" if summary.status == "unchanged" else " (new)"), version_text)
    table.add_row("Seconds", f"{summary.seconds:.1f}")
    return table


def status_command(engine: Engine, console: Console) -> int:
    """Current data version and when it was loaded, row counts of every table, the last 5 refreshes."""
    current = current_data_version(engine)
    if current is None:
        console.print("No data loaded yet: run [bold]perispiegel load DIR[/bold].")
    else:
        console.print(f"Data version [bold]{current['data_version']}[/bold] ({current['label']}), published "
                      f"{current['published_at']:%Y-%m-%d %H:%M}; {current['births']:,} births, "
                      f"birth months {current['period_from']} to {current['period_to']}")
        console.print(f"Published because: {reason_in_words(current['reason'])}")

    counts = Table(title="Rows per table")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            count = connection.execute(select(func.count()).select_from(table)).scalar_one()
            counts.add_row(table.name, f"{count:,}")
        last = connection.execute(select(refreshes).order_by(refreshes.c.refresh_id.desc()).limit(5)).mappings().all()
    console.print(counts)

    history = Table(title="Last refreshes")
    for heading in ("refresh", "started", "finished", "status", "data version", "files", "records read", "births"):
        history.add_column(heading, justify="right" if heading not in {"status", "started", "finished"} else "left")
    for row in last:
        summary = row["summary"] or {}
        history.add_row(
            str(row["refresh_id"]), f"{row['started_at']:%Y-%m-%d %H:%M}",
            f"{row['finished_at']:%Y-%m-%d %H:%M}" if row["finished_at"] else "-", row["status"],
            str(row["data_version"] or "-"), f"{summary.get('files', 0):,}",
            f"{summary.get('records_read', 0):,}", f"{summary.get('births', 0):,}",
        )
    console.print(history)
    return 0


def reason_in_words(reason: dict | None) -> str:
    """Why a version was published (`data_versions.reason`), e.g. "3 new delivery files; the organisation
    register changed: P0007 moved from VSV V003 to V005"."""
    if reason is None:
        return "new delivery files (the reason was not recorded for this version)"
    parts = []
    if reason.get("new_files"):
        parts.append(f"{reason['new_files']:,} new delivery file{'s' if reason['new_files'] != 1 else ''}")
    if reason.get("register_changes"):
        parts.append("the organisation register changed: " + "; ".join(reason["register_changes"]))
    return "; ".join(parts) or "-"
