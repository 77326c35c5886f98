"""Scale-out: shard stages on threads or Dask give the output of one pass; fsspec inboxes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from flows import tasks
from flows.core.claims import extract_claims
from flows.core.dedup import doc_signatures
from flows.core.errors import ConfigError, InboxError, OutputError
from flows.core.run import RunState
from flows.core.settings import (
    MinHashConfig,
    OutputConfig,
    Settings,
    settings_from_dict,
    with_runner,
)
from flows.io.claim_tables import read_claim_tables
from flows.io.ingest import inbox_files, read_inbox
from flows.io.ingest.shard import normalise_raw
from flows.io.remote import open_output
from flows.io.shards import (
    Gathered,
    ShardStats,
    frame_slices,
    sized_slices,
    slices,
    write_slices,
)
from tests.conftest import SAMPLE_INBOX

TABLES = ("documents", "articles", "claims", "claim_timeline", "boilerplate", "quarantine")
SMALL_SHARDS = "[runner]\nshard_files = 4\nshard_docs = 5\nshard_articles = 3\n"


def _bad_files(inbox: Path) -> None:
    """Files that end in quarantine at ingest and at normalisation, next to good ones."""
    (inbox / "binary.txt").write_bytes(b"\x00\x01 not text \x00" * 20)
    (inbox / "empty.txt").write_bytes(b"")
    (inbox / "notes.docx").write_bytes(b"PK\x03\x04 a word file")
    (inbox / "zz-feed.jsonl").write_text(
        '{"text": "A good record about the harbour reopening after the strike."}\n'
        '{"text": broken json\n{"text": "\\u200b\\u200b"}\n',
        "utf-8",
    )


@pytest.fixture
def inbox(sample_inbox: Path) -> Path:
    _bad_files(sample_inbox)
    (sample_inbox / "claims").mkdir()
    (sample_inbox / "claims" / "extra.csv").write_text(
        "source_uri,sentence,quantity\nwire-feed.jsonl#1,Some sentence with 12 in it.,12\n",
        "utf-8",
    )
    return sample_inbox


# --- shards give the result of one pass ------------------------------------------------------


def test_slices_are_contiguous_and_cover_everything() -> None:
    assert slices(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert slices([], 3) == []
    frame = pl.DataFrame({"a": range(5)})
    assert [f["a"].to_list() for f in frame_slices(frame, 2)] == [[0, 1], [2, 3], [4]]
    assert [f.height for f in frame_slices(frame.head(0), 2)] == [0]


def test_sized_slices_close_at_the_byte_or_file_limit() -> None:
    names = list("abcdef")
    assert sized_slices(names, [5, 5, 20, 1, 0, 1], 10, 100) == [
        ["a", "b"], ["c"], ["d", "e", "f"]
    ]  # fmt: skip
    assert sized_slices(names, [None] * 6, 10, 4) == [["a", "b", "c", "d"], ["e", "f"]]
    # remote files of unknown size go 64 to a slice
    assert [len(p) for p in sized_slices(list(range(130)), [None] * 130, 10**9, 4096)] == [
        64, 64, 2
    ]  # fmt: skip
    assert sized_slices([], [], 10, 4) == []
    parts = sized_slices(list(range(50)), [7] * 50, 30, 100)
    assert [x for p in parts for x in p] == list(range(50))
    assert all(sum(7 for _ in p) - 7 < 30 for p in parts)


def test_ingest_shards_concatenated_equal_one_pass(inbox: Path, tmp_path: Path) -> None:
    settings = Settings()
    whole = read_inbox(inbox, settings.ingest)
    docs, empties, _ = normalise_raw(whole.docs)
    assert empties.height >= 1 and whole.quarantine.height >= 3  # both kinds are exercised
    names = inbox_files(inbox, settings.ingest)
    seen = whole.files.head(2)  # two files "read by an earlier run"
    shards = [
        tasks.ingest_shard.fn(str(inbox), part, settings.ingest, seen, str(tmp_path / f"s{i}"))
        for i, part in enumerate(slices(names, 3))
    ]
    assert len(shards) > 3
    gathered = tasks.gather_ingest(shards)
    once = read_inbox(inbox, settings.ingest, seen=seen)
    once_docs, once_empties, once_invalid = normalise_raw(once.docs)
    assert gathered.docs.equals(once_docs.drop("raw_text"))  # nothing after ingest reads it
    assert gathered.quarantine.equals(once.quarantine)
    assert gathered.rejected.equals(pl.concat([once_empties, once_invalid]))
    assert gathered.stats.notes() == {"ingest_shards": len(shards)}
    state = RunState(run_id="r")
    state.record("ingest", gathered, 1.0)
    assert state.quarantined().drop("run_id").equals(once.quarantine.drop("run_id"))
    assert gathered.files.equals(once.files)
    assert gathered.records_read == once.docs.height + once.quarantine.height
    assert gathered.already_seen_records == once.already_seen_records > 0
    assert docs.height > once_docs.height  # the ledger's files were skipped


def test_a_shard_stage_is_recorded_with_its_count_noted_only_where_named() -> None:
    state = RunState(run_id="r")
    state.record("signatures", Gathered(pl.DataFrame({"doc_id": ["a"]}), ShardStats(3)), 0.5)
    assert state.timings == {"signatures": 0.5} and state.notes == {}
    assert state.quarantined().height == 0
    assert ShardStats(2, note="ingest_shards").notes() == {"ingest_shards": 2}


def test_signature_shards_concatenated_equal_one_pass(tmp_path: Path) -> None:
    texts = [
        " ".join(f"word{(i * 7 + j) % 50} more{j}" for j in range(n))
        for i, n in enumerate([3, 40, 80, 12, 200, 0, 60, 8])
    ]
    docs = pl.DataFrame({"doc_id": [f"d{i % 6}" for i in range(8)], "clean_text": texts})
    minhash = MinHashConfig()
    whole = doc_signatures(docs, minhash, short_tokens=50)
    paths = [
        tasks.signatures_shard.fn(src, str(tmp_path / f"o{i}"), minhash, 50)
        for i, src in enumerate(write_slices(tasks.signature_inputs(docs), tmp_path / "in", 2))
    ]
    assert len(paths) == 3
    assert tasks.gather_signatures(paths).equals(whole)


def test_claim_shards_concatenated_equal_one_pass(tmp_path: Path) -> None:
    texts = [
        "The ministry said 1,200 people were evacuated on Monday.",
        "Police said about 40 protesters were arrested. Officials said 3 bridges closed.",
        "Nothing to count here.",
        "The union said nearly 1,500 containers were stranded at the port.",
        "Doctors said 12 patients were treated and 2 were flown out.",
    ]
    documents = pl.DataFrame(
        {
            "doc_id": ["e", "b", "d", "a", "c", "b"],
            "clean_text": [*texts, texts[1]],
            "is_canonical": [True, True, True, True, True, False],
        }
    )
    whole = extract_claims(documents.filter("is_canonical"), extractor="rules-v1", run_id="r")
    assert whole.height >= 4
    paths = [
        tasks.claims_shard.fn(src, str(tmp_path / f"o{i}"), "rules-v1", "r")
        for i, src in enumerate(write_slices(tasks.claim_inputs(documents), tmp_path / "in", 2))
    ]
    assert len(paths) == 3
    assert tasks.gather_claims(paths).equals(whole)


# --- fsspec inboxes and outputs --------------------------------------------------------------


def _to_memory(inbox: Path, url: str) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    for path in sorted(inbox.rglob("*")):
        if path.is_file():
            fs.pipe_file(f"{url}/{path.relative_to(inbox).as_posix()}", path.read_bytes())


def test_an_fsspec_inbox_reads_like_a_local_one(inbox: Path) -> None:
    url = "memory://scaleout-unit/inbox"
    _to_memory(inbox, url)
    (inbox / ".hidden.txt").write_text("hidden", "utf-8")
    settings = Settings()
    local = read_inbox(inbox, settings.ingest)
    remote = read_inbox(url, settings.ingest)
    assert inbox_files(url, settings.ingest) == inbox_files(inbox, settings.ingest)
    assert remote.docs.equals(local.docs)
    assert remote.quarantine.equals(local.quarantine)
    # the same ledger, but for the stamps (size, mtime) only local files get
    assert remote.files.equals(local.files.with_columns(file_stamp=pl.lit(None, pl.String)))
    as_file_url = read_inbox(f"file://{inbox}", settings.ingest)
    assert as_file_url.docs.equals(local.docs)
    claims_local, claims_remote = read_claim_tables(inbox), read_claim_tables(url)
    assert claims_remote.rows.equals(claims_local.rows)
    assert claims_remote.files.equals(claims_local.files)
    assert claims_remote.rows.height == 1


def test_a_missing_fsspec_inbox_or_protocol_is_an_inbox_error() -> None:
    with pytest.raises(InboxError, match="inbox folder not found"):
        read_inbox("memory://scaleout-unit/nowhere", Settings().ingest)
    with pytest.raises(InboxError, match="cannot open inbox"):
        read_inbox("nosuchprotocol://x/inbox", Settings().ingest)


def test_outputs_are_local_folders_or_fsspec_urls_with_a_working_copy(tmp_path: Path) -> None:
    assert open_output(str(tmp_path), OutputConfig()) == (tmp_path, None)
    assert open_output(f"file://{tmp_path}", OutputConfig()) == (tmp_path, None)
    cache, remote = open_output("memory://bucket/news", OutputConfig(cache_dir=str(tmp_path)))
    assert cache == tmp_path and remote is not None and remote.root == "/bucket/news"
    with pytest.raises(OutputError, match="Install s3fs"):
        open_output("s3://bucket/published", OutputConfig())


def test_process_workers_are_pointed_at_the_flows_api(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from flows.runners import _use_api, shard_runner

    runner = shard_runner(settings_from_dict({"runner": {"kind": "processes"}}).runner,
                          Path("unused"), "http://127.0.0.1:4999/api")  # fmt: skip
    initializer, args = runner._initializer, runner._initargs
    assert initializer is _use_api and args == ("http://127.0.0.1:4999/api",)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    initializer(*args)  # what each spawned worker runs first
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4999/api"


def test_the_thread_runner_runs_a_thread_a_usable_core_unless_told() -> None:
    import os

    from flows.runners import shard_runner, usable_cpus

    assert usable_cpus() == len(os.sched_getaffinity(0))
    default = shard_runner(Settings().runner, Path("unused"), None)
    assert default._max_workers == usable_cpus()  # not one thread a shard
    told = settings_from_dict({"runner": {"kind": "threads", "max_workers": 5}}).runner
    assert shard_runner(told, Path("unused"), None)._max_workers == 5


def test_runner_settings_and_overrides() -> None:
    settings = settings_from_dict({"runner": {"kind": "dask", "n_workers": 3}})
    assert settings.runner.kind == "dask" and settings.runner.n_workers == 3
    chosen = with_runner(Settings(), None, "tcp://127.0.0.1:8786")
    assert chosen.runner.kind == "dask" and chosen.runner.dask_address == "tcp://127.0.0.1:8786"
    assert with_runner(settings, "threads", None).runner.kind == "threads"
    with pytest.raises(ConfigError, match="kind"):
        settings_from_dict({"runner": {"kind": "ray"}})
    with pytest.raises(ConfigError, match="shard_files"):
        settings_from_dict({"runner": {"shard_files": 0}})
    with pytest.raises(ConfigError, match="needs the dask runner"):
        with_runner(Settings(), "threads", "tcp://127.0.0.1:8786")


# --- the whole flow: threads, a LocalCluster of processes, a cluster at an address ----------


def _published(out: Path) -> dict[str, pl.DataFrame]:
    snapshot = (out / "_current").resolve()
    tables = {
        t: pl.read_parquet(f"{snapshot}/{t}/**/*.parquet")
        for t in (*TABLES, "index/signatures-w3", "index/files")
    }
    # file stamps say when each file was looked at (null within 2 s of a write), not what
    # was published
    return {t: frame.drop("run_id", "file_stamp", strict=False) for t, frame in tables.items()}


def _summary(out: Path, stdout: str) -> dict:
    run_id = stdout.split("run ", 1)[1].split(":", 1)[0]
    return json.loads((out / "runs" / run_id / "summary.json").read_text("utf-8"))


def _assert_same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    for name, frame in a.items():
        assert frame.height == b[name].height, name
        assert frame.equals(b[name]), name  # same rows in the same order


@pytest.fixture(scope="module")
def scaleout_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inbox = tmp_path_factory.mktemp("scaleout") / "inbox"
    shutil.copytree(SAMPLE_INBOX, inbox)
    _bad_files(inbox)
    return inbox


@pytest.fixture(scope="module")
def threads_run(newsdq, scaleout_inbox: Path) -> dict[str, pl.DataFrame]:
    out = scaleout_inbox.parent / "out-threads"
    result = newsdq("run", "--inbox", str(scaleout_inbox), "--out", str(out))
    assert result.code == 0, result.stderr
    summary = _summary(out, result.stdout)
    assert summary["settings"]["runner"]["kind"] == "threads"
    assert summary["counts"]["quarantined"] >= 4
    return _published(out)


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["dask", "processes"])
def test_a_dask_local_cluster_or_a_process_pool_publishes_what_threads_publish(
    newsdq, scaleout_inbox: Path, threads_run: dict[str, pl.DataFrame], tmp_path: Path, kind: str
) -> None:
    out, config = tmp_path / "out", tmp_path / "small.toml"
    config.write_text(SMALL_SHARDS, "utf-8")
    result = newsdq(
        "run", "--inbox", str(scaleout_inbox), "--out", str(out), "--runner", kind,
        "--config", str(config),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    summary = _summary(out, result.stdout)
    assert summary["settings"]["runner"]["kind"] == kind
    assert summary["notes"]["ingest_shards"] == 5  # 20 files in shards of 4
    _assert_same(threads_run, _published(out))
    assert not (out / "_staging").exists()
    # the workers reported to the flow's server rather than starting servers of their own
    assert "dedicated Prefect server" not in result.stdout + result.stderr


@pytest.mark.e2e
def test_a_cluster_at_an_address_publishes_what_threads_publish(
    newsdq,
    prefect_api_url: str,
    scaleout_inbox: Path,
    threads_run: dict[str, pl.DataFrame],
    tmp_path: Path,
) -> None:
    from distributed import LocalCluster

    out, config = tmp_path / "out", tmp_path / "small.toml"
    config.write_text(SMALL_SHARDS, "utf-8")
    with LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address="127.0.0.1:0",
        local_directory=str(tmp_path / "dask"),
        env={"PREFECT_API_URL": prefect_api_url},
    ) as cluster:
        result = newsdq(
            "run", "--inbox", str(scaleout_inbox), "--out", str(out), "--config", str(config),
            "--dask-address", cluster.scheduler_address, "--progress",
        )  # fmt: skip
    assert result.code == 0, result.stderr
    # progress bars go to stderr; stdout keeps its two parsed lines
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("run ") and lines[1].startswith("report: ")
    assert "signatures" in result.stderr and "shards" in result.stderr
    summary = _summary(out, result.stdout)
    assert summary["settings"]["runner"]["dask_address"] == cluster.scheduler_address
    _assert_same(threads_run, _published(out))


@pytest.mark.e2e
def test_an_fsspec_inbox_publishes_what_a_folder_publishes(
    prefect_api_url: str,
    scaleout_inbox: Path,
    threads_run: dict[str, pl.DataFrame],
    tmp_path: Path,
) -> None:
    from flows.curate import curate_news

    url = "memory://scaleout-e2e/inbox"
    _to_memory(scaleout_inbox, url)
    out = tmp_path / "out"
    summary = curate_news(inbox=url, out=f"file://{out}", progress=False)
    assert summary["verdict"] == "passed" and summary["inbox"] == url
    snapshot = (out / "_current").resolve()
    ledger = pl.read_parquet(f"{snapshot}/index/files/**/*.parquet")
    # fsspec stores do not stamp the ledger: their files are hashed every run
    assert ledger["file_stamp"].null_count() == ledger.height > 0
    _assert_same(threads_run, _published(out))


@pytest.mark.e2e
def test_an_output_url_without_its_package_is_refused_in_one_line(
    newsdq, scaleout_inbox: Path
) -> None:
    result = newsdq("run", "--inbox", str(scaleout_inbox), "--out", "s3://bucket/published")
    assert result.code == 4
    assert result.stderr.count("\n") == 1 and "Install s3fs" in result.stderr


def test_a_memory_inbox_with_process_workers_is_refused(tmp_path: Path) -> None:
    from flows.curate import curate_news

    with pytest.raises(ConfigError, match="memory:// inbox lives in this process"):
        curate_news.fn("memory://inbox", str(tmp_path / "out"), runner="processes")
