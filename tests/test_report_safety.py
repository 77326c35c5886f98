"""Article text is data, never markup: the run report and the Prefect artifacts escape it."""

from __future__ import annotations

import asyncio
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JS_LINK = '<a href="javascript:alert(1)">javascript:alert(1)</a>'
# The title (first line) and a claim sentence (a number and an attribution) both carry markup:
# the report shows titles, claim sentences and quarantine details.
ARTICLE = (
    f"Council {SCRIPT} votes on harbour {IMG} plan {JS_LINK}\n\n"
    f"About 300 residents {IMG} attended the meeting on Monday, the mayor said, {SCRIPT}. "
    f"The plan, posted at {JS_LINK}, would rebuild the north quay before the summer. "
    "Fishermen said the works would close the slipway for 6 weeks, the harbour master said.\n"
)
# Two more stories (not near-copies, so each is published and listed as an article).
BRIDGE = (
    "Engineers found 14 cracks in the old rail bridge during Tuesday's inspection, the "
    f"railway company said {IMG}, and trains will cross at walking pace until repairs end. "
    "Commuters were told to expect delays of up to 20 minutes through the spring timetable.\n"
)
SCHOOL = (
    f"The district will hire 25 new teachers {SCRIPT} for the autumn term, the education "
    "office said on Thursday, after enrolment at the two primary schools rose for a third "
    "year. Parents welcomed the news but asked about classroom space in the older building.\n"
)


class _Collector(HTMLParser):
    """Collect every start tag with its attributes, and the page's text as a browser reads it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _write_inbox(inbox: Path) -> None:
    inbox.mkdir()
    (inbox / "council.txt").write_text(ARTICLE, "utf-8")
    # markup in a file name and in a JSON title
    (inbox / f"{IMG}.txt").write_text(BRIDGE, "utf-8")
    record = {"title": f"Feed {SCRIPT} {IMG} {JS_LINK}", "text": SCHOOL}
    (inbox / "feed.jsonl").write_text(json.dumps(record) + "\n" + SCRIPT + "\n", "utf-8")
    # a claim row whose sentence is markup: refused, and its detail shown in the report
    (inbox / "claims").mkdir()
    (inbox / "claims" / "llm.jsonl").write_text(
        json.dumps({"source_uri": "council.txt", "sentence": f"{SCRIPT} 300", "quantity": 300})
        + "\n",
        "utf-8",
    )


def test_report_and_artifacts_escape_article_text(
    newsdq, prefect_api_url: str, tmp_path: Path
) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    _write_inbox(inbox)
    result = newsdq("run", "--inbox", str(inbox), "--out", str(out))
    assert result.code == 0, result.stderr
    run_id = result.stdout.split("run ", 1)[1].split(":", 1)[0]
    html = (out / "runs" / run_id / "report.html").read_text("utf-8")

    page = _Collector()
    page.feed(html)
    page.close()
    tags = {tag for tag, _ in page.tags}
    assert "script" not in tags and "img" not in tags, tags
    # the only links are the report's own: in-page anchors, its Data Docs, its Prefect flow run
    summary = json.loads((out / "runs" / run_id / "summary.json").read_text("utf-8"))
    own = {"data_docs/index.html", summary["flow_run"]["url"]}
    hrefs = [dict(attrs).get("href") or "" for tag, attrs in page.tags if tag == "a"]
    assert [h for h in hrefs if not h.startswith("#") and h not in own] == [], hrefs
    handlers = [
        (tag, name) for tag, attrs in page.tags for name, _ in attrs if name.startswith("on")
    ]
    assert handlers == []
    links = [v for _, attrs in page.tags for _, v in attrs if v and "javascript:" in v.lower()]
    assert links == []
    # the markup is shown as text: escaped in the source, readable on the page
    text = "".join(page.text)
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # title, claim, detail
    for shown in (SCRIPT, IMG, "javascript:alert(1)"):
        assert shown in text, shown
    assert "Council" in text and "300" in text  # the article really is in the report

    # the flow run's artifacts: markdown and table, read back through the Prefect API
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    async def read() -> list:
        async with get_client() as client:
            runs = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["curate-news-summary"]))
            )
            mine = [a for a in runs if a.data and run_id in str(a.data)]
            assert len(mine) == 1, [a.data for a in runs]
            flow_run = mine[0].flow_run_id
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run]))
            )

    artifacts = asyncio.run(read())
    assert {a.key for a in artifacts} >= {
        "curate-news-summary",
        "curate-news-counts",
        "curate-news-stages",
        "curate-news-failed-checks",
    }
    for artifact in artifacts:
        data = json.dumps(artifact.data) if not isinstance(artifact.data, str) else artifact.data
        for raw in ("<script", "<img", "onerror=", "javascript:"):
            assert raw not in data.lower(), (artifact.key, raw)
