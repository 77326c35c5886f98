"""A great-expectations suite on the published `documents` table, run as a checkpoint.

great-expectations is imported inside `run_documents_checkpoint` (its import costs ~3 s). The
GE project lives in a temporary folder for the length of one run; only the Data Docs site is
written where the caller says. The polars frame is converted to pandas at this one boundary.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from checks.errors import SchemaContractError
from flows.core.claims import QUALIFIERS

ERROR = "error"
WARNING = "warning"
_GX_SEVERITY = {ERROR: "critical", WARNING: "warning"}
_SAMPLE_SIZE = 10
_MAX_SAMPLE_CHARS = 80


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation of the suite: a GE expectation class name, its column and arguments."""

    expectation: str  # class name in great_expectations.expectations
    column: str | None
    severity: str  # "error" blocks publishing; "warning" is reported only
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str  # snake_case GE type, e.g. expect_column_values_to_be_between
    column: str | None
    success: bool
    severity: str  # "error" or "warning"
    unexpected_count: int | None
    sample: list[str]  # a few failing values, "<value> (doc_id=<id>)"; an exception message
    suite: str = "documents"  # the table it was checked on


@dataclass(frozen=True)
class Suite:
    """One table checked by the checkpoint: its name, rows and expectations."""

    name: str
    frame: pl.DataFrame
    expectations: Sequence[ExpectationSpec]


@dataclass(frozen=True)
class CheckpointResult:
    success: bool  # no expectation of severity "error" failed (warnings do not count)
    outcomes: list[ExpectationOutcome]
    data_docs_index: Path | None


_NOT_NULL = "ExpectColumnValuesToNotBeNull"
DOCUMENTS_EXPECTATIONS: tuple[ExpectationSpec, ...] = (
    # A run with no new documents is normal on a schedule: report it, do not block.
    ExpectationSpec("ExpectTableRowCountToBeBetween", None, WARNING, {"min_value": 1}),
    ExpectationSpec(_NOT_NULL, "doc_id", ERROR),
    ExpectationSpec(_NOT_NULL, "source_uri", ERROR),
    ExpectationSpec(
        "ExpectColumnValuesToBeBetween",
        "boilerplate_ratio",
        ERROR,
        {"min_value": 0, "max_value": 1},
    ),
    ExpectationSpec(
        "ExpectColumnValuesToBeInSet", "is_canonical", ERROR, {"value_set": [True, False]}
    ),
    ExpectationSpec("ExpectColumnValueLengthsToBeBetween", "clean_text", ERROR, {"min_value": 1}),
    ExpectationSpec(_NOT_NULL, "title", WARNING, {"mostly": 0.9}),
    ExpectationSpec(_NOT_NULL, "published_date", WARNING, {"mostly": 0.5}),
)


def claims_expectations(
    n_articles: int, max_per_article: float = 50.0
) -> tuple[ExpectationSpec, ...]:
    """Return the claims suite for a run that published `n_articles` articles."""
    return (
        # A page of tables can carry many figures; far more than this per article is an
        # extractor (or an external file) gone wrong, which a reviewer should look at.
        ExpectationSpec(
            "ExpectTableRowCountToBeBetween",
            None,
            WARNING,
            {"min_value": 0, "max_value": max(1, int(max_per_article * n_articles))},
        ),
        ExpectationSpec(_NOT_NULL, "claim_id", ERROR),
        ExpectationSpec("ExpectColumnValuesToBeUnique", "claim_id", ERROR),
        ExpectationSpec(_NOT_NULL, "doc_id", ERROR),
        ExpectationSpec(_NOT_NULL, "sentence", ERROR),
        ExpectationSpec(_NOT_NULL, "quantity", ERROR),
        ExpectationSpec("ExpectColumnValuesToBeBetween", "quantity", ERROR, {"min_value": 0}),
        ExpectationSpec(
            "ExpectColumnValuesToBeInSet", "qualifier", ERROR, {"value_set": list(QUALIFIERS)}
        ),
        # Null rates: most news figures are attributed and count something; a drop in either
        # means the extractor lost its footing on new input.
        ExpectationSpec(_NOT_NULL, "unit", WARNING, {"mostly": 0.7}),
        ExpectationSpec(_NOT_NULL, "source", WARNING, {"mostly": 0.4}),
        # Quantity distribution: the typical figure is a count of people or things, not a
        # year or an amount of money mistaken for one.
        ExpectationSpec(
            "ExpectColumnMedianToBeBetween", "quantity", WARNING, {"min_value": 1, "max_value": 1e5}
        ),
    )


def expectation_key(suite: str, spec: ExpectationSpec) -> str:
    """Return the name a config uses for an expectation: `<suite>.<snake_type>[.<column>]`."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", spec.expectation).lower()
    return outcome_key(suite, name, spec.column)


def outcome_key(suite: str, expectation: str, column: str | None) -> str:
    """Return the config key of an outcome whose expectation name is already snake case."""
    return f"{suite}.{expectation}" + (f".{column}" if column else "")


def with_severities(
    suites: Sequence[Suite], warn: Sequence[str] = (), block: Sequence[str] = ()
) -> list[Suite]:
    """Override severities by key (`expectation_key`): `warn` only reports, `block` blocks.

    Raises ValueError for a key no suite has, so a typo in the config cannot pass silently.
    """
    keys = {expectation_key(s.name, e) for s in suites for e in s.expectations}
    unknown = sorted(set(warn) - keys | set(block) - keys)
    if unknown:
        raise ValueError(f"unknown expectation(s) {unknown}; known: {sorted(keys)}")
    out = []
    for suite in suites:
        specs = []
        for spec in suite.expectations:
            key = expectation_key(suite.name, spec)
            severity = ERROR if key in block else WARNING if key in warn else spec.severity
            specs.append(dataclasses.replace(spec, severity=severity))
        out.append(Suite(suite.name, suite.frame, tuple(specs)))
    return out


def preload() -> threading.Thread:
    """Start importing great-expectations in a daemon thread; return the thread.

    Its import is about 2.3 s of Python that a run otherwise spends inside the validate stage
    (most of that stage's time below ~50,000 documents); started after ingest, it overlaps
    boilerplate removal and clustering, whose heavy parts release the GIL (sample inbox:
    validate 2.5-3.0 s -> 0.7-1.2 s). Python's import locks make the later
    `import great_expectations` wait for it to finish.
    """
    thread = threading.Thread(
        target=import_great_expectations, name="newsdq-gx-import", daemon=True
    )
    thread.start()
    return thread


def import_great_expectations() -> None:
    """Import great-expectations (and its expectations), its logger quiet meanwhile.

    Errors pass: `run_checkpoint` imports it again and says why.
    """
    # No `_quiet` here: warning filters are process-wide, and this thread overlaps the run; a
    # logger's level may be set from any thread.
    logger = logging.getLogger("great_expectations")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.suppress(Exception):
            import great_expectations
            import great_expectations.expectations  # noqa: F401
    finally:
        logger.setLevel(previous)


def run_documents_checkpoint(
    documents: pl.DataFrame,
    docs_dir: Path,
    *,
    suite_name: str = "documents",
    expectations: Sequence[ExpectationSpec] = DOCUMENTS_EXPECTATIONS,
) -> CheckpointResult:
    """Run the documents suite alone as a checkpoint (see `run_checkpoint`)."""
    return run_checkpoint([Suite(suite_name, documents, expectations)], docs_dir)


# Expectations that judge a text only by whether it is there and how long it is.
_LENGTH_ONLY = frozenset({_NOT_NULL, "ExpectColumnValueLengthsToBeBetween"})


def _read_columns(suite: Suite) -> pl.DataFrame:
    """Return the columns of a suite's frame that its expectations read, and `doc_id`.

    A pandas copy of the whole documents table held every text twice more as Python strings
    (the `text` column alone is most of it, and no expectation reads it). A text column read
    only by `_LENGTH_ONLY` expectations is cut one character past the largest length they
    name: it passes and fails the same, and its failing values (null, or too short) are the
    same; the clean texts of 300,000 pages took +850 MB in the checkpoint whole.
    """
    read = {s.column for s in suite.expectations if s.column} | {"doc_id"}
    columns = [c for c in suite.frame.columns if c in read]
    if not columns:
        return suite.frame
    cut = []
    for column in columns:
        specs = [s for s in suite.expectations if s.column == column]
        if (
            column != "doc_id"  # names the failing rows in the samples
            and specs
            and suite.frame.schema[column] == pl.String
            and all(s.expectation in _LENGTH_ONLY for s in specs)
        ):
            bound = 1 + max(
                int(s.kwargs.get(k) or 0) for s in specs for k in ("min_value", "max_value")
            )
            cut.append(pl.col(column).str.slice(0, bound))
    return suite.frame.select(columns).with_columns(cut)


# Runs the suites as a checkpoint: `run_checkpoint` itself, or it in a worker process, whose
# future the validate stage hands on unresolved (the flow writes its tables meanwhile).
CheckpointRunner = Callable[[Sequence[Suite], Path], "CheckpointResult | Future[CheckpointResult]"]


def slim_suites(suites: Sequence[Suite]) -> list[Suite]:
    """Return the suites with only the columns their expectations read (see `_read_columns`).

    What a checkpoint in another process is sent: the whole documents table is every text.
    """
    return [dataclasses.replace(one, frame=_read_columns(one)) for one in suites]


def run_checkpoint(suites: Sequence[Suite], docs_dir: Path) -> CheckpointResult:
    """Run the suites as one checkpoint; write one Data Docs site to `docs_dir` (index.html).

    Raises SchemaContractError, before importing GE, when a column a suite reads is missing.
    Works offline. The Data Docs pages reference CSS/JS on external hosts, so offline they render
    unstyled; the outcomes returned here are the reviewable result.
    """
    for one in suites:
        missing = sorted({s.column for s in one.expectations if s.column} - set(one.frame.columns))
        if missing:
            raise SchemaContractError(
                f"{one.name} checkpoint: missing column(s) {', '.join(map(repr, missing))}"
            )
    docs_dir = Path(docs_dir).resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    with _quiet(), tempfile.TemporaryDirectory(prefix="newsdq-gx-") as project_dir:
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="file", project_root_dir=project_dir)
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        for site_name in list(context.list_data_docs_sites()):
            context.delete_data_docs_site(site_name)
        # A plain dict: GE's TypedDict for site configs lacks `show_how_to_buttons`.
        site_config: Any = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
        }
        context.add_data_docs_site("newsdq", site_config)

        source = context.data_sources.add_pandas("newsdq")
        specs_by_id: dict[str, tuple[int, ExpectationSpec, Suite]] = {}
        validations = []
        position = 0
        for one in suites:
            asset = source.add_dataframe_asset(one.name)
            batch_definition = asset.add_batch_definition_whole_dataframe("whole")
            suite = context.suites.add(gx.ExpectationSuite(name=one.name))
            for spec in one.expectations:
                kwargs = dict(spec.kwargs)
                if spec.column is not None:
                    kwargs["column"] = spec.column
                expectation = getattr(gxe, spec.expectation)(
                    severity=_GX_SEVERITY[spec.severity], **kwargs
                )
                added = suite.add_expectation(expectation)
                specs_by_id[str(added.id)] = (position, spec, one)
                position += 1
            validations.append(
                (
                    one,
                    context.validation_definitions.add(
                        gx.ValidationDefinition(name=one.name, data=batch_definition, suite=suite)
                    ),
                )
            )
        ranked: list[tuple[int, ExpectationOutcome]] = []
        for one, validation in validations:
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name=one.name,
                    validation_definitions=[validation],
                    actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
                    result_format={
                        "result_format": "SUMMARY",
                        "partial_unexpected_count": _SAMPLE_SIZE,
                    },
                )
            )
            result = checkpoint.run(batch_parameters={"dataframe": _read_columns(one).to_pandas()})
            doc_ids = one.frame["doc_id"] if "doc_id" in one.frame.columns else None
            for run_result in result.run_results.values():
                for item in run_result.results:
                    config = item.expectation_config
                    assert config is not None
                    rank, spec, _ = specs_by_id[str(config.id)]
                    ranked.append(
                        (
                            rank,
                            ExpectationOutcome(
                                expectation=str(config.type),
                                column=config.kwargs.get("column"),
                                success=bool(item.success),
                                severity=spec.severity,
                                unexpected_count=_unexpected_count(item.result),
                                sample=_sample(item, doc_ids),
                                suite=one.name,
                            ),
                        )
                    )

    outcomes = [outcome for _, outcome in sorted(ranked, key=lambda pair: pair[0])]
    index = docs_dir / "index.html"
    return CheckpointResult(
        success=all(o.success for o in outcomes if o.severity == ERROR),
        outcomes=outcomes,
        data_docs_index=index if index.is_file() else None,
    )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence GE's logging and warnings for the length of a run (progress bars: see config)."""
    logger = logging.getLogger("great_expectations")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(previous)


def _unexpected_count(result: Mapping[str, Any]) -> int | None:
    count = result.get("unexpected_count")
    return None if count is None else int(count)


def _sample(item: Any, doc_ids: pl.Series | None) -> list[str]:
    """Up to _SAMPLE_SIZE failing values with the doc_id of their row; or the exception."""
    if item.success:
        return []
    errors = _exception_messages(item.exception_info)
    if errors:
        return errors
    result: Mapping[str, Any] = item.result or {}
    values = list(result.get("partial_unexpected_list") or [])
    indexes = list(result.get("partial_unexpected_index_list") or [])
    if not values and "observed_value" in result:
        return [f"observed {result['observed_value']}"]
    sample = []
    for n, value in enumerate(values[:_SAMPLE_SIZE]):
        text = "null" if _is_missing(value) else _clip(_show(value))
        row = indexes[n] if n < len(indexes) and isinstance(indexes[n], int) else None
        if row is not None and doc_ids is not None and 0 <= row < len(doc_ids):
            doc_id = doc_ids[row]
            where = f"doc_id={doc_id}" if doc_id is not None else f"row {row}"
            text = f"{text} ({where})"
        elif row is not None:
            text = f"{text} (row {row})"
        sample.append(text)
    return sample


def _exception_messages(info: Any) -> list[str]:
    """Messages of the exceptions GE caught while validating one expectation.

    `exception_info` is either one {raised_exception, exception_message, ...} dict or a dict
    of such dicts keyed by metric.
    """
    if not isinstance(info, Mapping):
        return []
    entries = [info] if "raised_exception" in info else list(info.values())
    messages = [
        " ".join(str(entry.get("exception_message") or "exception while validating").split())
        for entry in entries
        if isinstance(entry, Mapping) and entry.get("raised_exception")
    ]
    return [_clip(message) for message in dict.fromkeys(messages)]


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def _is_missing(value: Any) -> bool:
    import pandas as pd  # already imported by great-expectations

    missing = pd.isna(value)
    return missing if isinstance(missing, bool) else False


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_SAMPLE_CHARS else text[: _MAX_SAMPLE_CHARS - 1] + "…"
