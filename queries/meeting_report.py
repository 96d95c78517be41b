"""The meeting report's numbers: one typed answer (`MeetingReport`) assembled from the engine's own answers.

A VSV quality meeting (or a hospital's or practice's) discusses one organisation: its overview (every indicator
with its verdict and the count of alerts against chance), for a VSV the overview of every member side by side, and,
for each indicator in alert or alarm (for the subject or any member), its trend and its funnel. Nothing here counts
or judges: every figure is a cell of `IndicatorEngine.overview`, `trend` or `funnel`, asked as the viewer with the
view's target group and judging method, so it is disclosed exactly as the viewer's pages show it
(queries/disclosure.py). A report never shows what the viewer's pages would not. reports/ turns this into HTML,
SVG and PDF.
"""

from __future__ import annotations

from dataclasses import dataclass

from queries.engine import MEMBER_LEVELS, IndicatorEngine
from queries.filters import Filters, readable_grain
from queries.scope import Viewer

#: A report's subject: any organisation with a verdict (a VSV, a hospital or a practice).
SUBJECT_LEVELS = ("vsv", *MEMBER_LEVELS)


@dataclass(frozen=True)
class Member:
    """One member organisation of a VSV with its overview, as the VSV's own users see it."""

    org_code: str
    name: str
    org_type: str
    overview: dict


@dataclass(frozen=True)
class FlaggedIndicator:
    """An indicator in alert or alarm for one organisation of the report: its trend and its funnel position."""

    indicator: dict
    org_code: str
    label: str
    org_type: str
    cell: dict  # the organisation's overview cell (verdict, flag, judgement)
    trend: dict  # IndicatorEngine.trend for that organisation
    funnel: dict  # IndicatorEngine.funnel of its level


@dataclass(frozen=True)
class MeetingReport:
    """Everything a meeting report shows, already disclosed for `viewer` (see the module docstring)."""

    data_version: dict
    viewer: dict
    filters: dict[str, str]
    period_from: str | None
    period_to: str | None
    grain: str
    overdispersion: str
    org_code: str
    org_name: str
    org_type: str
    overview: dict  # IndicatorEngine.overview of the subject
    members: tuple[Member, ...]
    flagged: tuple[FlaggedIndicator, ...]
    minimum: int  # the engine's minimum denominator for a rate

    @property
    def indicators(self) -> list[dict]:
        """The indicators of the report (the subject's overview's), in catalogue order."""
        return [row["indicator"] for row in self.overview["rows"]]


def meeting_report(engine: IndicatorEngine, viewer: Viewer, filters: Filters, org_code: str,
                   overdispersion: str) -> MeetingReport:
    """The report on `org_code` for `viewer` (who must be allowed to see it by name: the engine raises
    NotPermittedError otherwise) for the target group `filters`, judged by `overdispersion`."""
    overview = engine.overview(viewer, filters, org_code=org_code, overdispersion=overdispersion)
    organisation = overview["organisation"]
    if organisation is None:
        raise ValueError("a meeting report is about one organisation")
    level = _level_of(engine, viewer, org_code)
    version = overview["data_version"]
    period_from = filters.period_from or version["period_from"]
    period_to = filters.period_to or version["period_to"]
    grain = readable_grain(period_from, period_to)
    members: list[Member] = []
    if level == "vsv":
        members = [Member(member["org_code"], member["name"], member["level"],
                          engine.overview(viewer, filters, org_code=member["org_code"], overdispersion=overdispersion))
                   for member in engine.members(viewer, org_code)]
    subjects = [(org_code, organisation["label"], level, overview)]
    subjects += [(member.org_code, member.name, member.org_type, member.overview) for member in members]
    flagged = []
    for code, label, subject_level, answer in subjects:
        for row in answer["rows"]:
            cell = row["organisation"]
            if not cell or not cell.get("flag"):
                continue
            indicator_id = row["indicator"]["id"]
            flagged.append(FlaggedIndicator(
                indicator=row["indicator"], org_code=code, label=label, org_type=subject_level, cell=cell,
                trend=engine.trend(indicator_id, viewer, filters, grain=grain, org_code=code),
                funnel=engine.funnel(indicator_id, subject_level, viewer, filters, overdispersion=overdispersion)))
    return MeetingReport(data_version=version, viewer=overview["viewer"], filters=filters.as_params(),
                         period_from=period_from, period_to=period_to, grain=grain,
                         overdispersion=overview["overdispersion"], org_code=org_code,
                         org_name=organisation["label"], org_type=level, overview=overview, members=tuple(members),
                         flagged=tuple(flagged), minimum=engine.config.min_denominator)


def _level_of(engine: IndicatorEngine, viewer: Viewer, org_code: str) -> str:
    """The type of the report's organisation, among those the viewer may name."""
    for level in SUBJECT_LEVELS:
        if any(row["org_code"] == org_code for row in engine.organisations(viewer, level)):
            return level
    raise ValueError(f"{org_code} is not an organisation the viewer may name")
