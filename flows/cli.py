"""The `newsdq` command line: run the curate-news flow and read its reports."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from flows.core.errors import InboxError, NewsdqError

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
        type=Path,
        default=Path("data/inbox"),
        help="folder of input documents (.txt .md .jsonl .json .html .htm .parquet); "
        "default: data/inbox",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=Path("data/published"),
        help="output folder of the published dataset; default: data/published",
    )
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        help="TOML file overriding settings (sections: ingest, minhash, dedup, containment, "
        "boilerplate, claims, validation)",
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
    report = sub.add_parser("report", help="show the summary of a published run")
    report.add_argument("--out", type=Path, default=Path("data/published"), help="output folder")
    report.add_argument("--run", default="latest", help="run id, or 'latest' (default)")
    return parser


def _run(args: argparse.Namespace) -> int:
    if not args.inbox.exists():
        raise InboxError(f"inbox folder not found: {args.inbox}")
    if not args.inbox.is_dir():
        raise InboxError(f"inbox is not a folder: {args.inbox}")
    from flows.io.config import load_settings
    from flows.io.store import Store

    load_settings(args.config)  # fail fast on a bad config, before Prefect starts
    Store(args.out).check_writable()
    from flows.curate import curate_news

    summary = curate_news(
        inbox=str(args.inbox), out=str(args.out), config=str(args.config) if args.config else None
    )
    c = summary["counts"]
    print(
        f"run {summary['run_id']}: {summary['verdict']} | inputs {c['inputs']}, "
        f"already ingested {c['already_ingested']}, ingested {c['ingested']} = published "
        f"{c['published']} + duplicates {c['duplicates']} + quarantined {c['quarantined']}"
    )
    print(f"report: {args.out / 'runs' / summary['run_id'] / 'report.html'}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from flows.io.store import Store

    store = Store(args.out)
    runs = store.manifest()["runs"]
    if not runs:
        raise NewsdqError(f"no published runs under {args.out}")
    run_id = runs[-1]["run_id"] if args.run == "latest" else args.run
    path = args.out / "runs" / run_id / "summary.json"
    if not path.exists():
        raise NewsdqError(f"no run {run_id} under {args.out}")
    summary = json.loads(path.read_text("utf-8"))
    print(
        json.dumps({"run_id": run_id, "verdict": summary["verdict"], **summary["counts"]}, indent=2)
    )
    print(f"report: {path.parent / 'report.html'}")
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


if __name__ == "__main__":
    sys.exit(main())
