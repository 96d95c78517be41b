"""Benchmark of the meeting report (issue 13): the VSV's report as a PDF through the API, made cold, made again with
the engine's answers already cached, and served from the report files — time, pages, bytes.

    .venv/bin/python benchmarks/bench_report.py                    # the browser tests' demo database, built here
    .venv/bin/python benchmarks/bench_report.py --database URL --org V01 --repeat 5

Ratios against the served-from-cache time in the same run (machines here are shared and noisy): what making the
report costs (engine answers + HTML + SVG charts + WeasyPrint) against handing back the stored file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "tests"))
os.environ.setdefault("PERISPIEGEL_PSEUDONYM_KEY", "perispiegel-benchmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: the browser tests' demo database, built here)")
    parser.add_argument("--org", default="V01")
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()

    import flask

    import auth
    from api import register_api
    from api.routes import REPORT_CACHE_HEADER, REPORT_FOLDER_CONFIG_KEY
    from auth.tokens import create_token
    from auth.users import add_user
    from queries.config import EngineConfig
    from queries.engine import IndicatorEngine
    from tables.database import make_engine

    work = Path(tempfile.mkdtemp(prefix="perispiegel-bench-report-"))
    try:
        if arguments.database:
            database = make_engine(arguments.database)
        else:
            from browser.demo_data import fill_demo_database

            database = make_engine(f"sqlite:///{work / 'demo.db'}")
            fill_demo_database(database, other_hospitals=5)
        server = flask.Flask(__name__)
        server.config["SECRET_KEY"] = "bench"
        server.config[REPORT_FOLDER_CONFIG_KEY] = work / "reports"
        auth.install(server, database)
        register_api(server, IndicatorEngine(database, EngineConfig()))
        user, _ = add_user(database, f"bench-{time.time_ns()}", "admin")
        client = server.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {create_token(database, user, 'bench')}"
        address = f"/api/v1/report?org={arguments.org}&format=pdf"

        def timed() -> tuple[float, bytes, str]:
            start = time.perf_counter()
            response = client.get(address)
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.get_data(as_text=True)
            return elapsed, response.data, response.headers[REPORT_CACHE_HEADER]

        cold, content, state = timed()
        assert state == "miss"
        remade = []
        for _ in range(arguments.repeat):
            shutil.rmtree(work / "reports")  # the engine's answers stay cached: only the report is made again
            elapsed, content, state = timed()  # a new file: the cover names the time it was made
            assert state == "miss"
            remade.append(elapsed)
        cached = []
        for _ in range(arguments.repeat):
            elapsed, served, state = timed()
            assert state == "hit" and served == content
            cached.append(elapsed)
        pdf = work / "report.pdf"
        pdf.write_bytes(content)
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
        served = statistics.median(cached)
        html = client.get(address.replace("format=pdf", "format=html")).get_data(as_text=True)
        as_images, inline = embedding_times(html, arguments.repeat)
        print(json.dumps({
            "org": arguments.org, "pages": pages, "bytes": len(content),
            "cold_s": round(cold, 3), "remade_median_s": round(statistics.median(remade), 3),
            "cached_median_s": round(served, 4),
            "cold_over_cached": round(cold / served, 1),
            "remade_over_cached": round(statistics.median(remade) / served, 1),
            "charts": html.count('class="chart-svg"'),
            "pdf_charts_as_images_median_s": round(as_images, 3), "pdf_charts_inline_median_s": round(inline, 3),
            "inline_over_images": round(inline / as_images, 2),
        }, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def embedding_times(html: str, repeat: int) -> tuple[float, float]:
    """WeasyPrint's time for the report's HTML as the product makes it (each chart an SVG image) and for the same
    HTML with each SVG inline in the document, alternating (median of `repeat` each): why charts are images."""
    import base64
    import re

    from reports.document import report_pdf

    def inline_svg(match: re.Match) -> str:
        svg = base64.b64decode(match.group(2)).decode("utf-8")
        return svg.replace("<svg ", f'<svg role="img" aria-label="{match.group(1)}" ', 1)

    inlined = re.sub(r'<img class="chart-svg" alt="([^"]*)" src="data:image/svg\+xml;base64,([^"]+)">', inline_svg,
                     html)
    images, inline = [], []
    for _ in range(repeat):
        for document, times in ((html, images), (inlined, inline)):
            start = time.perf_counter()
            report_pdf(document)
            times.append(time.perf_counter() - start)
    return statistics.median(images), statistics.median(inline)


if __name__ == "__main__":
    main()
