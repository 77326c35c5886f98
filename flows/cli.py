"""The `newsdq` command line: run the curate-news flow and read its reports."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from flows.core.errors import FileSystemError, InboxError, NewsdqError, errno_in_text, errno_of

if TYPE_CHECKING:
    from flows.core.settings import Settings

# Nothing at run time reaches the network: no telemetry from Prefect or anything else.
_OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",
}


def _offline_environment() -> None:
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    # A project-local Prefect home, so a fresh machine needs no set-up and no global state.
    os.environ.setdefault("PREFECT_HOME", str(Path.cwd() / ".prefect"))


class _ReportedFailures(logging.Filter):
    """Keep off the console Prefect's log lines of a full, read-only or forbidden disk.

    The CLI reports such a failure in one line (`main`); Prefect would print the traceback of
    the task and of the flow run, then their failed states. The records still reach Prefect's
    API (its handler is not filtered), so the UI keeps the tracebacks.
    """

    def __init__(self) -> None:
        super().__init__()
        self.runs: set[object] = set()  # task and flow runs whose failure was held back

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("prefect"):
            return True
        run = getattr(record, "task_run_id", None) or getattr(record, "flow_run_id", None)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and (isinstance(exc, FileSystemError) or errno_of(exc) is not None):
            self.runs.add(run)
            return False
        message = record.getMessage()
        # a task that is not retried logs only its failed state, with the error in its text
        if record.levelno >= logging.ERROR and errno_in_text(message) is not None:
            self.runs.add(run)
            return False
        # the run's "Finished in state Failed(...)" line that follows its traceback
        return not (run is not None and run in self.runs and "Failed" in message)


@contextlib.contextmanager
def _quiet_file_system_failures() -> Iterator[None]:
    """Attach `_ReportedFailures` to the console handlers of the root logger (Prefect's)."""
    quiet = _ReportedFailures()
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdq",
        description="Curate scraped news into a clean, deduplicated, validated Parquet dataset.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run the curate-news flow once",
        description=(
            "Run the curate-news Prefect flow: ingest every document of the inbox, remove "
            "boilerplate, mark duplicates, extract claims, validate, and publish Parquet tables "
            "and a report under the output folder. Inputs already published are skipped. "
            "Without PREFECT_API_URL the flow runs on a temporary local Prefect server."
        ),
    )
    run.add_argument(
        "--inbox",
        default="data/inbox",
        help="folder of input documents (.txt .md .jsonl .json .html .htm .parquet), or an "
        "fsspec URL of one (file:///data/inbox, s3://bucket/inbox with s3fs installed); "
        "default: data/inbox",
    )
    run.add_argument(
        "--out",
        default="data/published",
        help="output folder of the published dataset: a local path, or an fsspec URL "
        "(s3://bucket/news with s3fs installed) published through a local working copy "
        "([output] cache_dir); default: data/published",
    )
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        help="TOML file overriding settings (sections: ingest, minhash, dedup, containment, "
        "boilerplate, claims, validation, runner, report, output)",
    )
    run.add_argument(
        "--runner",
        choices=("threads", "processes", "dask"),
        default=None,
        help="where the shard stages (ingest, signatures, claims) run: threads in this process, "
        "processes on this machine, or Dask (a LocalCluster started for the run unless "
        "--dask-address is given); "
        "default: [runner] kind of the config, else threads",
    )
    run.add_argument(
        "--dask-address",
        default=None,
        metavar="URL",
        help="run the shard stages on the Dask cluster whose scheduler is at URL "
        "(tcp://host:8786); its workers need the inbox and output paths and PREFECT_API_URL",
    )
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show stage progress bars on stderr; default: when stderr is a terminal",
    )
    serve = sub.add_parser(
        "serve",
        help="start a local Prefect server, work pool, deployments and worker",
        description=(
            "Start a Prefect server on this machine (SQLite under PREFECT_HOME, default "
            "./.prefect), create the 'newsdq' process work pool, deploy prefect.yaml (hourly, "
            "backfill, manual) and start a worker; Ctrl-C stops everything. With --api-url, use "
            "an existing server instead (for PostgreSQL, start that server with "
            "PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://...)."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="server address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4200, help="server port (default 4200)")
    serve.add_argument(
        "--api-url", default=None, help="use this Prefect API instead of starting one"
    )
    report = sub.add_parser(
        "report",
        help="show the summary of a run and where its HTML report is",
        description=(
            "Print a run's verdict, accounting and top issues, and the path of its "
            "self-contained HTML report (runs/<run_id>/report.html, or _rejected/<run_id>/ "
            "for a run that validation blocked)."
        ),
    )
    report.add_argument(
        "--out",
        default="data/published",
        help="output folder or fsspec URL; default: data/published",
    )
    report.add_argument(
        "--run",
        default="latest",
        metavar="RUN_ID|latest",
        help="run id, or 'latest' (default): the newest run, published or blocked",
    )
    report.add_argument(
        "--open", action="store_true", help="open the HTML report in the web browser"
    )
    return parser


@contextlib.contextmanager
def _ingest_workers_ahead(inbox: str, settings: Settings) -> Iterator[None]:
    """Start the ingest stage's worker processes now, for an inbox of two shards or more.

    They import (about 1 s each) on the core that this process leaves idle while it imports
    Prefect and the flow (about 3 s), and the flow's ingest stage takes them
    (`workers.started_ahead`). A local inbox only: a remote one is listed by the flow.
    """
    from flows.io import workers
    from flows.io.ingest.listing import estimated_shards
    from flows.io.location import is_local, local_path

    count = workers.process_workers(settings.runner)
    if count >= 2 and is_local(inbox):
        runner = settings.runner
        shards = estimated_shards(local_path(inbox), runner.shard_bytes, runner.shard_files, count)
        count = min(count, shards)
    else:
        count = 0
    # the module of the ingest shards' job (`flows.runners.ingest_workers`), imported there
    with workers.started_ahead(count, "flows.io.ingest.shard"):
        yield


def _run(args: argparse.Namespace) -> int:
    from flows.io.location import is_local, local_path

    if is_local(args.inbox):  # an fsspec inbox is checked by the flow when it lists it
        inbox = local_path(args.inbox)
        if not inbox.exists():
            raise InboxError(f"inbox folder not found: {args.inbox}")
        if not inbox.is_dir():
            raise InboxError(f"inbox is not a folder: {args.inbox}")
    from flows.core.settings import with_runner
    from flows.io.config import load_settings
    from flows.io.remote import open_output, remote_lock
    from flows.io.store import Store, output_lock

    # fail fast on a bad config or output, before Prefect starts
    settings = with_runner(load_settings(args.config), args.runner, args.dask_address)
    out, remote = open_output(args.out, settings.output)
    Store(out).check_writable()
    # Locked here too, so a second run on the output is refused before a flow run starts.
    with output_lock(out), remote_lock(remote), _ingest_workers_ahead(args.inbox, settings):
        from flows.curate import curate_news  # imports prefect, which sets up its logging

        with _quiet_file_system_failures():
            summary = curate_news(
                inbox=args.inbox,
                out=args.out,
                config=str(args.config) if args.config else None,
                runner=args.runner,
                dask_address=args.dask_address,
                progress=args.progress,
            )
    c = summary["counts"]
    print(
        f"run {summary['run_id']}: {summary['verdict']} | inputs {c['inputs']}, "
        f"already ingested {c['already_ingested']}, ingested {c['ingested']} = published "
        f"{c['published']} + duplicates {c['duplicates']} + quarantined {c['quarantined']}"
    )
    report = f"runs/{summary['run_id']}/report.html"
    print(f"report: {remote.show(report) if remote else out / report}")
    return 0


def _report(args: argparse.Namespace) -> int:
    import webbrowser

    from rich.console import Console

    from flows.io.location import is_local, local_path
    from flows.io.report import find_run, print_summary

    if not is_local(args.out):
        return _report_remote(args)
    try:
        run_dir = find_run(local_path(args.out), args.run)
        summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    except FileNotFoundError as exc:
        raise NewsdqError(str(exc)) from exc
    except (OSError, ValueError) as exc:
        raise NewsdqError(f"cannot read the summary of run {args.run}: {exc}") from exc
    print_summary(summary, Console())
    # Through the output's `runs` link, not the snapshot it resolves to: old snapshots are pruned.
    report = (run_dir / "report.html").absolute()
    if args.open and webbrowser.open(report.as_uri()):
        print(f"opened: {report}")
    else:
        print(f"report: {report}")
    return 0


def _report_remote(args: argparse.Namespace) -> int:
    from rich.console import Console

    from flows.io.remote import find_remote_run
    from flows.io.report import print_summary

    try:
        summary, report = find_remote_run(args.out, args.run)
    except (OSError, ValueError) as exc:
        raise NewsdqError(f"cannot read the summary of run {args.run}: {exc}") from exc
    print_summary(summary, Console())
    if args.open:
        print("the report of a remote output is not opened here: download it first")
    print(f"report: {report}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = _parser().parse_args(argv)
    _offline_environment()
    try:
        if args.command == "serve":
            from flows.serve import serve

            return serve(args.host, args.port, args.api_url)
        return _run(args) if args.command == "run" else _report(args)
    except NewsdqError as exc:
        print(f"newsdq: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("newsdq: interrupted", file=sys.stderr)
        return 130


def entry() -> NoReturn:
    """Run the command line and end the process with its exit code (the `newsdq` command)."""
    finish(main())


def finish(code: int) -> NoReturn:
    """End the process as a normal exit would, without freeing its objects one by one.

    Done in a normal exit's order: wait for the threads that are not daemons (and the thread
    pools' exit hooks), run the atexit handlers (logging's flush and close, Prefect's drains of
    its log and event services), flush the standard streams. The interpreter's teardown after
    that, freeing the heap of a run object by object, took about 0.7 s at the end of a
    34,173-page run for a process that is about to end. Any failure of these steps falls back
    to the normal exit.
    """
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter calls first
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # the normal exit then does it all again, safely
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    entry()
