"""Task runners of the shard stages: threads in the flow process, or a Dask cluster."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows.core.settings import RunnerConfig


def _use_api(api_url: str | None) -> None:
    """Point this worker process at the flow's Prefect API."""
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url


def shard_runner(config: RunnerConfig, scratch: Path, api_url: str | None) -> TaskRunner[Any]:
    """Return the (not yet started) task runner for the shard stages of a run.

    Parameters
    ----------
    config
        `[runner]` settings: threads, a Dask scheduler's address, or a LocalCluster's size.
    scratch
        A folder for a LocalCluster's worker files (the run's staging folder: removed with it).
    api_url
        The Prefect API the flow reports to, given to LocalCluster workers so that they report
        their task runs there (without it each worker process would start a server of its own
        when the flow runs on Prefect's temporary one). Workers of a cluster at `dask_address`
        need PREFECT_API_URL in their own environment.
    """
    if config.kind == "threads":
        return ThreadPoolTaskRunner(max_workers=config.max_workers or None)
    if config.kind == "processes":
        # Like a LocalCluster's workers, each process must report to the flow's API (the
        # temporary server's too), or it would start a server of its own.
        return ProcessPoolTaskRunner(
            max_workers=config.max_workers or None,
            initializer=_use_api,
            initargs=(api_url,),
        )
    from prefect_dask import DaskTaskRunner

    if config.dask_address:
        return DaskTaskRunner(address=config.dask_address)
    env = {"PREFECT_API_URL": api_url} if api_url else {}
    # The cluster lives for one run: its start-up and shut-down chatter (INFO lines of the
    # scheduler and nannies, which run in this process) is not the run's news.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": config.n_workers,
            "threads_per_worker": config.threads_per_worker,
            "processes": True,
            # The scheduler's HTTP server always starts; a free port, not a taken 8787.
            "dashboard_address": "127.0.0.1:0",
            "local_directory": str(scratch),
            "env": env,
        },
    )
