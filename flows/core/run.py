"""The run's record: each stage's seconds, figures and quarantine rows, kept in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import polars as pl

from flows.core.schema import QUARANTINE, empty


class StageStats(Protocol):
    """A stage's figures (`BoilerplateStats`, `DedupStats`)."""

    def notes(self) -> dict[str, Any]:
        """Return the figures by their names in the run summary's notes."""
        ...


class FieldNotes:
    """A stage's figures whose notes are its dataclass fields, by name, in field order."""

    def notes(self) -> dict[str, Any]:
        """Return the figures by name."""
        return asdict(self)  # type: ignore[call-overload]


class StageResult(Protocol):
    """What a stage of `flows/core` returns besides its frames: quarantine rows and figures."""

    @property
    def quarantine(self) -> pl.DataFrame:
        """Return the stage's `QUARANTINE` rows."""
        ...

    @property
    def stats(self) -> StageStats:
        """Return the stage's figures."""
        ...


@dataclass
class RunState:
    """Everything a run produces, accumulated stage by stage."""

    run_id: str
    quarantine: list[pl.DataFrame] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def record(self, name: str, result: StageResult, seconds: float) -> None:
        """Keep a stage's seconds, figures and quarantine rows, in the order stages finish.

        The one place a stage's outcome reaches the run state, and from it the summary, the
        report and the Prefect artifacts: the stage's task returns its result and changes
        nothing.
        """
        self.timings[name] = round(seconds, 3)
        self.notes.update(result.stats.notes())
        self.quarantine.append(result.quarantine)

    def quarantined(self) -> pl.DataFrame:
        """Return all quarantine rows so far, stamped with the run id."""
        frames = [q.cast(QUARANTINE) for q in self.quarantine]
        return pl.concat([empty(QUARANTINE), *frames]).with_columns(run_id=pl.lit(self.run_id))
