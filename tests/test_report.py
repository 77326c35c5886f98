"""The run report: its charts, diffs and trends, the page itself, `newsdq report`, a real render."""

from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
import zlib
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from flows.core.errors import ConfigError
from flows.core.settings import ReportConfig, settings_from_dict
from flows.io import charts
from flows.io.report import (
    artifact_markdown,
    artifact_prefix,
    canonicals_of,
    failed_checks,
    find_run,
    load_history,
    render_report,
    stage_rows,
    write_run_files,
)
from flows.io.report_data import (
    cluster_sizes,
    histogram,
    run_metrics,
    top_counts,
    trends,
    word_diff,
)
from flows.io.store import Store

SCRIPT = "<script>alert(1)</script>"


# --- pure computations ----------------------------------------------------------------------


def test_histogram_counts_equal_bins_and_puts_the_top_edge_in_the_last() -> None:
    values = pl.Series([0.0, 0.05, 0.5, 0.99, 1.0, None, math.nan, 0.1])
    assert histogram(values, 0.0, 1.0, 10) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert histogram(pl.Series([], dtype=pl.Float64), 0.0, 1.0, 4) == [0, 0, 0, 0]
    with pytest.raises(ValueError):
        histogram(values, 1.0, 1.0, 4)


def test_cluster_sizes_count_clusters_per_size() -> None:
    docs = pl.DataFrame({"cluster_id": ["a", "a", "a", "b", "c", "c", "d"]})
    assert cluster_sizes(docs) == [(1, 2), (2, 1), (3, 1)]
    assert cluster_sizes(docs.clear()) == []


def test_top_counts_names_nulls_and_sums_the_rest() -> None:
    values = pl.Series("source", ["police", None, "police", "army", None, None, "mayor", "x"])
    assert top_counts(values, limit=2, null_label="(unattributed)") == [
        ("(unattributed)", 3),
        ("police", 2),
        ("(3 others)", 3),
    ]
    assert top_counts(pl.Series("s", [], dtype=pl.String)) == []


def test_word_diff_marks_changed_words_and_elides_long_unchanged_runs() -> None:
    common = " ".join(f"w{i}" for i in range(40))
    left = f"Ferry strike ends {common} after talks broke down"
    right = f"Ferry strike over {common} after talks broke down. Subscribe now"
    a, b = word_diff(left, right, context=3)
    assert ("del", "ends") in a and ("ins", "over") in b
    assert ("ins", "down. Subscribe now") in b and ("del", "down") in a
    assert a == [
        ("equal", "Ferry strike"),  # the first run keeps no head: nothing changed before it
        ("del", "ends"),
        ("equal", "w0 w1 w2"),
        ("skip", "… 37 unchanged words …"),  # w3..w39
        ("equal", "after talks broke"),
        ("del", "down"),
    ]
    # identical texts: one elided run, nothing marked
    same_a, same_b = word_diff(common, common, context=3)
    assert {k for k, _ in same_a + same_b} <= {"equal", "skip"}


def _summary(run_id: str, published: int, ingested: int = 100, failed: int = 0) -> dict:
    return {
        "run_id": run_id,
        "verdict": "passed",
        "counts": {
            "inputs": ingested,
            "already_ingested": 0,
            "ingested": ingested,
            "published": published,
            "duplicates": ingested - published,
            "quarantined": 0,
            "boilerplate_heavy": 0,
            "claims_quarantined": 0,
        },
        "quarantine_by_reason": {},
        "tables": {"claims": 10},
        "expectations": [
            {
                "suite": "claims",
                "expectation": f"expect_{i}",
                "column": None,
                "success": False,
                "severity": "warning",
                "unexpected_count": 1,
                "sample": [],
            }
            for i in range(failed)
        ],
    }


def test_run_metrics_are_rates_of_the_ingested_records() -> None:
    m = run_metrics(_summary("r", published=80, failed=2))
    assert m["duplicate_rate"] == pytest.approx(0.2) and m["validation_failures"] == 2
    assert m["quarantine_rate"] == 0 and m["claims"] == 10
    empty = run_metrics(_summary("r", published=0, ingested=0))
    assert empty["duplicate_rate"] is None and empty["quarantine_rate"] is None


def test_trends_flag_a_metric_outside_the_band_of_earlier_runs() -> None:
    config = ReportConfig(drift_stdevs=3.0, drift_relative=0.05, drift_min_runs=3)
    earlier = [_summary(f"r{i}", p) for i, p in enumerate([80, 82, 78, 81, 79])]
    by_key = {t.key: t for t in trends(_summary("now", 40), earlier, config)}
    published = by_key["published"]
    assert published.values == [80, 82, 78, 81, 79, 40] and published.run_ids[-1] == "now"
    assert published.mean == pytest.approx(80.0)
    # stdev 1.58 -> 3 stdevs = 4.74 > 5% of 80 = 4
    assert published.band == pytest.approx((80 - 3 * math.sqrt(2.5), 80 + 3 * math.sqrt(2.5)))
    assert published.drifted and by_key["duplicate_rate"].drifted
    assert not by_key["inputs"].drifted  # 100 every time
    assert not {t.key for t in trends(_summary("now", 82), earlier, config) if t.drifted}


def test_trends_need_enough_runs_and_use_the_relative_floor() -> None:
    config = ReportConfig(drift_relative=0.25, drift_min_runs=3)
    two = [_summary("a", 80), _summary("b", 80)]
    assert all(t.band is None and not t.drifted for t in trends(_summary("c", 10), two, config))
    steady = [_summary(f"r{i}", 80) for i in range(4)]  # stdev 0: the 25% floor applies
    keys = {t.key: t for t in trends(_summary("now", 95), steady, config)}
    assert keys["published"].band == (60.0, 100.0) and not keys["published"].drifted
    # a failed expectation where none ever failed is drift (band 0 around 0)
    keys = {t.key: t for t in trends(_summary("now", 80, failed=1), steady, config)}
    assert keys["validation_failures"].drifted
    # only the last history_runs earlier runs count
    limited = trends(_summary("now", 80), steady, ReportConfig(history_runs=2))
    assert limited[0].run_ids == ["r2", "r3", "now"]


def test_report_settings_load_from_toml_sections() -> None:
    s = settings_from_dict({"report": {"history_runs": 5, "drift_stdevs": 2}})
    assert (s.report.history_runs, s.report.drift_stdevs) == (5, 2.0)
    with pytest.raises(ConfigError, match="expected int"):
        settings_from_dict({"report": {"history_runs": "5"}})
    with pytest.raises(ConfigError, match="drift_min_runs"):
        settings_from_dict({"report": {"drift_min_runs": 1}})


# --- charts ---------------------------------------------------------------------------------


def test_charts_escape_labels_and_mark_the_threshold() -> None:
    bars = str(charts.bars_svg([(SCRIPT, 3), ("a & b", 1)], f"by {SCRIPT}"))
    assert "<script" not in bars and "&lt;script&gt;" in bars and "a &amp; b" in bars
    assert bars.count("<rect") == 2
    hist = str(charts.histogram_svg([0, 2, 4, 0], 0.0, 1.0, "sims", 0.75, "threshold 0.75"))
    assert hist.count("<rect") == 2  # empty bins draw nothing
    # plot from x=40 to x=548: 0.75 sits at 421
    assert 'x1="421" y1="14" x2="421"' in hist and "threshold 0.75" in hist
    trend = trends(_summary("now", 40), [_summary(f"r{i}", 80) for i in range(3)], ReportConfig())
    svg = str(charts.trend_svg(trend[1]))
    assert "(drift)" in svg and svg.count("<circle") == 4 and "<polyline" in svg


# --- the page -------------------------------------------------------------------------------


class _Page(HTMLParser):
    """Collect start tags with attributes, ids, and text per section."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    def ids(self) -> set[str]:
        return {a["id"] or "" for _, a in self.tags if a.get("id")}


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _external_references(page: _Page, allowed: set[str]) -> list[str]:
    """Return every src, every href that leaves the page's folder (bar `allowed`), any url()."""
    bad = [f"src={a['src']}" for _, a in page.tags if "src" in a]
    for _, attrs in page.tags:
        href = attrs.get("href") or ""
        scheme = href.split("/", 1)[0]
        if href not in allowed and (":" in scheme or href.startswith(("//", "/", ".."))):
            bad.append(f"href={href}")
    styles = page.styles + [a["style"] or "" for _, a in page.tags if "style" in a]
    bad += [f"style: {css[:60]}" for css in styles if "url(" in css or "@import" in css]
    return bad


def _tables() -> dict[str, pl.DataFrame]:
    canonical = "Ferry strike ends after talks in Kessmouth, the union said on Monday. " * 3
    copy = canonical.replace("ends", "over") + f"Subscribe now {SCRIPT}"
    documents = pl.DataFrame(
        {
            "doc_id": ["d1", "d2", "d3"],
            "source_uri": ["a.txt", f"{SCRIPT}.txt", "c.txt"],
            "title": ["Ferry strike ends", "Ferry strike over", f"Bridge {SCRIPT}"],
            "published_date": [date(2025, 3, 1), date(2025, 3, 2), None],
            "clean_text": [canonical, copy, "Engineers found 14 cracks in the bridge."],
            "boilerplate_ratio": [0.1, 0.35, 0.7],
            "is_boilerplate_heavy": [False, False, True],
            "cluster_id": ["k1", "k1", "k3"],
            "is_canonical": [True, False, True],
            "duplicate_of": [None, "d1", None],
            "duplicate_kind": [None, "near", None],
            "similarity": [None, 0.81, None],
        }
    )
    claims = pl.DataFrame(
        {
            "claim_id": ["c1", "c2", "c3"],
            "doc_id": ["d1", "d3", "d3"],
            "sentence": ["About 300 left, police said.", f"14 cracks {SCRIPT}", "2 trains"],
            "source": ["police", SCRIPT, None],
        }
    )
    timeline = pl.DataFrame(
        {
            "topic": ["passenger", "crack"],
            "published_date": [date(2025, 3, 1), None],
            "claim_id": ["c1", "c2"],
            "quantity": [300.0, 14.0],
            "qualifier": ["about", "exact"],
            "unit": ["passengers", "cracks"],
            "source": ["police", SCRIPT],
            "n_conflicting": [1, 0],
            "conflict": [True, False],
        }
    )
    boilerplate = pl.DataFrame(
        {"doc_id": ["d1", "d2"], "text": ["Sign up for our newsletter"] * 2, "support": [4, 4]}
    )
    quarantine = pl.DataFrame(
        {
            "source_uri": ["bad.bin", "claims/x.csv#2"],
            "stage": ["ingest", "validate"],
            "reason": ["unreadable:binary", "grounding:unknown_doc_id"],
            "detail": [f"binary {SCRIPT}", "no such doc"],
        }
    )
    return {
        "documents": documents,
        "articles": documents.filter(pl.col("is_canonical")),
        "claims": claims,
        "claim_timeline": timeline,
        "boilerplate": boilerplate,
        "quarantine": quarantine,
    }


def _run_summary(run_id: str = "20250302T100000Z-aaaaaa") -> dict:
    s = _summary(run_id, published=2, ingested=4)
    s["counts"] |= {"duplicates": 1, "quarantined": 1, "boilerplate_heavy": 1,
                    "claims_quarantined": 1}  # fmt: skip
    s |= {
        "inbox": "in",
        "out": "out",
        "started_at": "2025-03-02T10:00:00+00:00",
        "duration_seconds": 1.5,
        "verdict": "passed_with_warnings",
        "quarantine_by_reason": {"unreadable:binary": 1, "grounding:unknown_doc_id": 1},
        "quarantine_by_stage": {"ingest": 1, "validate": 1},
        "tables": {"documents": 3, "articles": 2, "claims": 3, "claim_timeline": 2},
        "stages_seconds": {"ingest": 0.1, "dedup": 0.2, "validate": 0.3},
        "notes": {"claim_conflicts": 1},
        "settings": {"dedup": {"threshold": 0.7}, "boilerplate": {"heavy_ratio": 0.6}},
    }
    s["expectations"] = [
        {"suite": "claims", "expectation": "expect_column_values_to_not_be_null",
         "column": "source", "severity": "warning", "success": False, "unexpected_count": 1,
         "sample": [SCRIPT]},
        {"suite": "documents", "expectation": "expect_column_values_to_be_unique",
         "column": "doc_id", "severity": "error", "success": True, "unexpected_count": 0,
         "sample": []},
    ]  # fmt: skip
    return s


def test_report_page_has_every_section_escaped_and_self_contained() -> None:
    tables = _tables()
    pairs = pl.DataFrame({"left": ["d1"], "right": ["d2"], "similarity": [0.81]})
    history = [_run_summary(f"20250301T0{i}0000Z-x") for i in range(3)]
    html = render_report(_run_summary(), tables, tables["quarantine"], pairs, history)
    page = _parse(html)
    assert {"verdict", "accounting", "links", "distributions", "trends", "clusters",
            "boilerplate", "quarantine", "expectations", "claims", "stages", "drift",
            "chart-similarity", "chart-boilerplate", "chart-clusters", "chart-claims-source",
            "chart-claims-topic", "failed-expectations", "timeline",
            "quarantine-reasons"} <= page.ids()  # fmt: skip
    tags = {t for t, _ in page.tags}
    assert not tags & {"script", "img", "link", "iframe", "object", "embed"}
    assert _external_references(page, set()) == []
    text = " ".join(" ".join(page.text).split())
    assert "passed with warnings" in text
    assert (
        "1 warning expectation(s) failed: claims.expect_column_values_to_not_be_null.source" in text
    )
    assert text.count(SCRIPT) >= 6  # shown as text: source, title, sentence, detail, sample...
    assert "<script" not in html.replace("&lt;script", "")
    # accounting numbers
    cells = {a["data-count"] for t, a in page.tags if t == "td" and "data-count" in a}
    assert cells == {"inputs", "already_ingested", "ingested", "published", "duplicates",
                     "quarantined", "boilerplate_heavy", "claims_quarantined"}  # fmt: skip
    assert "ingested = published + duplicates + quarantined: 4 = 2 + 1 + 1" in text
    # the diff of the cluster: changed words marked on each side
    assert "<del>ends</del>" in html and "<ins>over</ins>" in html
    assert f"<ins>Subscribe now {SCRIPT.replace('<', '&lt;').replace('>', '&gt;')}</ins>" in html
    # the similarity histogram has one bar (0.81) and the threshold line
    similarity = html.split('id="chart-similarity"')[1].split("</figure>")[0]
    assert similarity.count("<rect") == 1 and "threshold 0.7" in similarity
    # the conflicting timeline row comes first and is highlighted
    timeline = html.split('id="timeline"')[1].split("</table>")[0]
    assert timeline.index("passenger") < timeline.index("crack") and 'class="conflict"' in timeline
    # trends: 3 earlier runs + this one; nothing drifted (same figures)
    assert "last 4 runs" in html and "outside the band" not in text
    # no Data Docs or flow run given: said so, no links
    assert "No Data Docs were written for this run." in text and "Not run as a Prefect flow" in text


def test_a_cluster_whose_canonical_an_earlier_run_published_gets_its_diff(tmp_path: Path) -> None:
    tables = _tables()
    store = Store(tmp_path / "out")
    run_dir = store.staging_dir("r0") / "run"
    run_dir.mkdir()
    store.publish("r0", {"articles": tables["articles"]}, run_dir)
    # this run: the copy d2 of d1, which run r0 published, and an exact copy of d1 (same doc_id)
    documents = tables["documents"]
    exact = documents.filter(pl.col("doc_id") == "d1").with_columns(
        is_canonical=False, duplicate_of=pl.lit("d1"), duplicate_kind=pl.lit("exact")
    )
    documents = pl.concat([documents.filter(pl.col("doc_id") != "d1"), exact])
    assert canonicals_of(documents, None) is None
    earlier = canonicals_of(documents, store.current)
    assert earlier is not None and earlier["doc_id"].to_list() == ["d1"]
    assert canonicals_of(documents, store.current, diffs=0) is None  # nothing drawn, none read
    this_run = {**tables, "documents": documents}
    without = render_report(_run_summary(), this_run, tables["quarantine"])
    assert "(published in an earlier run: d1)" in without
    assert "cluster-diff" not in without
    # the run writes its report before publishing: the snapshot current then is the last one
    write_run_files(tmp_path / "r1", _run_summary(), this_run, tables["quarantine"], out=store.root)
    html = (tmp_path / "r1" / "report.html").read_text("utf-8")
    assert "a.txt (canonical, published in an earlier run) against" in html
    assert "<del>ends</del>" in html and "<ins>over</ins>" in html


def test_write_run_files_reads_history_flags_drift_and_copies_data_docs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for i, published in enumerate([40, 41, 39]):
        run = out / "runs" / f"20250301T0{i}0000Z-x"
        run.mkdir(parents=True)
        (run / "summary.json").write_text(json.dumps(_summary(run.name, published)))
    blocked = out / "_rejected" / "20250301T050000Z-y"
    blocked.mkdir(parents=True)
    (blocked / "summary.json").write_text(json.dumps(_summary(blocked.name, 40)))
    later = out / "runs" / "20990101T000000Z-z"  # after this run: not history
    later.mkdir(parents=True)
    (later / "summary.json").write_text(json.dumps(_summary(later.name, 0)))
    (out / "runs" / "20250301T060000Z-broken").mkdir()
    assert [s["run_id"] for s in load_history(out, "20250302", 3)] == [
        "20250301T010000Z-x",
        "20250301T020000Z-x",
        "20250301T050000Z-y",
    ]
    docs = tmp_path / "staging" / "data_docs"
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("<html></html>")
    tables = _tables()
    summary = _run_summary()
    # as the earlier runs but for far fewer published (more duplicates)
    summary["counts"] |= {"inputs": 100, "ingested": 100, "published": 2, "duplicates": 98,
                          "quarantined": 0}  # fmt: skip
    summary["tables"]["claims"] = 10
    summary["expectations"][0]["success"] = True
    run_dir = tmp_path / "report"
    written = write_run_files(
        run_dir, summary, tables, tables["quarantine"], data_docs=docs, out=out
    )
    assert written["drift"] == ["published", "duplicate rate"]
    assert written["flow_run"] == {"id": None, "deployment": None, "url": None}
    assert any(
        "outside the band of earlier runs: published" in r for r in written["verdict_reasons"]
    )
    assert json.loads((run_dir / "summary.json").read_text())["drift"] == written["drift"]
    html = (run_dir / "report.html").read_text()
    assert (run_dir / "data_docs" / "index.html").is_file()
    assert 'href="data_docs/index.html"' in html
    assert html.count('class="drift"') == 2
    assert "Ferry strike" in html and "<script>" not in html


def test_artifacts_are_keyed_per_deployment_and_carry_no_article_text() -> None:
    assert artifact_prefix(None) == "curate-news"
    assert artifact_prefix("Hourly Run_2") == "curate-news-hourly-run-2"
    assert artifact_prefix("--x--") == "curate-news-x"
    summary = _run_summary() | {"drift": ["published"]}
    md = artifact_markdown(summary)
    assert "**verdict: passed_with_warnings**" in md and "| published | 2 |" in md
    assert "failed warning expectation `claims.expect_column_values_to_not_be_null.source`" in md
    assert "- drift: published" in md and "quarantined `unreadable:binary`: 1" in md
    assert "<script" not in md
    assert failed_checks(summary) == [
        {"check": "claims.expect_column_values_to_not_be_null.source", "severity": "warning",
         "unexpected": 1}
    ]  # fmt: skip
    rows = {r["stage"]: r for r in stage_rows(summary)}
    assert rows["ingest"]["records"] == 4 and rows["ingest"]["quarantined"] == 1
    assert rows["dedup"]["records"] == 1 and rows["validate"]["records"] == 1


# --- newsdq report --------------------------------------------------------------------------


def _published(tmp_path: Path) -> tuple[Path, str]:
    """Write two runs' files by hand, the newer blocked; return the output folder, newer id."""
    out = tmp_path / "out"
    tables = _tables()
    older = _run_summary("20250302T100000Z-aaaaaa")
    write_run_files(out / "runs" / older["run_id"], older, tables, tables["quarantine"])
    newer = _run_summary("20250303T100000Z-bbbbbb") | {"verdict": "blocked"}
    write_run_files(out / "_rejected" / newer["run_id"], newer, tables, tables["quarantine"])
    return out, newer["run_id"]


def _cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> int:
    # main() fills in defaults for these; keep them out of the test process's environment
    for key in (
        "DO_NOT_TRACK",
        "PREFECT_SERVER_ANALYTICS_ENABLED",
        "PREFECT_TASKS_DEFAULT_NO_CACHE",
    ):
        monkeypatch.setenv(key, "1" if key == "DO_NOT_TRACK" else "false")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.setenv("COLUMNS", "120")
    from flows.cli import main

    return main(list(args))


def test_report_command_prints_the_summary_and_opens_the_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, newest = _published(tmp_path)
    assert find_run(out).name == newest  # latest: blocked runs count too
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    assert _cli(monkeypatch, tmp_path, "report", "--out", str(out)) == 0
    shown = capsys.readouterr().out
    assert f"newsdq run {newest}: blocked" in shown
    assert "published" in shown and "quarantined, by reason" in shown
    assert "claims.expect_column_values_to_not_be_null.source" in shown
    assert shown.strip().endswith(
        f"report: {out.absolute() / '_rejected' / newest / 'report.html'}"
    )
    assert opened == []

    older = "20250302T100000Z-aaaaaa"
    assert _cli(monkeypatch, tmp_path, "report", "--out", str(out), "--run", older, "--open") == 0
    page = out.absolute() / "runs" / older / "report.html"
    assert opened == [page.as_uri()]
    assert capsys.readouterr().out.strip().endswith(f"opened: {page}")

    for bad in ("20990101T000000Z-nope", "../out/runs"):
        assert _cli(monkeypatch, tmp_path, "report", "--out", str(out), "--run", bad) == 1
        assert f"no run {bad}" in capsys.readouterr().err
    assert _cli(monkeypatch, tmp_path, "report", "--out", str(tmp_path / "empty")) == 1
    assert "no runs under" in capsys.readouterr().err


# --- end to end: the sample inbox, parsed and rendered in Chromium --------------------------


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG into rows of pixel bytes (enough for a screenshot)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i : i + 3]) for r in rows for i in range(0, stride, bpp)]


@pytest.mark.e2e
def test_sample_inbox_report(newsdq, sample_inbox: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = newsdq("run", "--inbox", str(sample_inbox), "--out", str(out))
    assert result.code == 0, result.stderr
    run_id = result.stdout.split("run ", 1)[1].split(":", 1)[0]
    run_dir = out / "runs" / run_id
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    html = (run_dir / "report.html").read_text("utf-8")
    page = _parse(html)
    flow_link = summary["flow_run"]["url"]
    # the test server is a known server: the flow run is linked, the only absolute address
    assert flow_link and flow_link.endswith(f"/runs/flow-run/{summary['flow_run']['id']}")
    assert [
        a["href"] for t, a in page.tags if t == "a" and a.get("class") == "prefect-flow-run"
    ] == [flow_link]
    assert _external_references(page, {flow_link}) == []
    assert not {t for t, _ in page.tags} & {"script", "img", "link", "iframe", "object"}
    assert {"verdict", "accounting", "distributions", "trends", "clusters", "boilerplate",
            "quarantine", "expectations", "claims", "timeline", "stages"} <= page.ids()  # fmt: skip
    # the accounting table shows summary.json's numbers
    cells = html.split('data-count="')[1:]
    shown = {c.split('"')[0]: int(c.split(">")[1].split("<")[0]) for c in cells}
    assert shown == summary["counts"]
    assert summary["counts"]["published"] == 15 and summary["counts"]["duplicates"] == 4
    text = " ".join(" ".join(page.text).split())
    assert summary["verdict"].replace("_", " ") in text
    # every LSH candidate is counted, accepted or not
    counts = summary["notes"]["candidate_similarity"]
    assert len(counts) == 20 and sum(counts) >= summary["notes"]["verified_pairs"] > 0
    assert (
        f"{sum(counts)} candidate pairs from LSH banding, of which "
        f"{summary['notes']['verified_pairs']} were accepted"
    ) in text
    assert 'href="data_docs/index.html"' in html
    assert html.count('class="cluster-diff"') >= 1 and "<del>" in html and "<ins>" in html
    assert "No earlier runs in this output folder" in text  # the first run of this output

    # the CLI shows the same run
    shown_cli = newsdq("report", "--out", str(out))
    assert shown_cli.code == 0, shown_cli.stderr
    assert f"newsdq run {run_id}: {summary['verdict'].replace('_', ' ')}" in shown_cli.stdout
    assert shown_cli.stdout.strip().endswith(str((run_dir / "report.html").absolute()))

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium): render check skipped")
    png = tmp_path / "report.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}", f"--screenshot={png}",
         "--window-size=1200,2000", (run_dir / "report.html").as_uri()],
        capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    assert png.is_file(), "chromium wrote no screenshot"
    width, height, pixels = _png_pixels(png)
    assert (width, height) == (1200, 2000)
    colours = set(pixels)
    assert len(colours) > 50, "the page rendered blank"
    dark = sum(1 for p in pixels if sum(p) < 200)
    assert dark > 2000, dark  # text
    near = lambda p, rgb: all(abs(x - y) <= 8 for x, y in zip(p, rgb, strict=True))  # noqa: E731
    assert any(near(p, (47, 125, 50)) for p in colours), "no green 'passed' badge"
    assert any(near(p, (74, 111, 165)) for p in colours), "no chart bars"
