"""Progress bars on the terminal, one per stage of a run (rich, on stderr).

Shown when stderr is a terminal, or when asked for (`newsdq run --progress`); never on stdout,
whose `run <id>: ...` and `report: <path>` lines scripts parse.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)


def stderr_is_terminal() -> bool:
    """Tell whether stderr is an interactive terminal."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


class StageProgress:
    """Stage progress bars on stderr; does nothing when not enabled."""

    def __init__(self, enabled: bool) -> None:
        self._bars: Progress | None = None
        if enabled:
            self._bars = Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                redirect_stdout=False,  # stdout carries the CLI's parsed lines
                redirect_stderr=False,
            )

    def __enter__(self) -> StageProgress:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bars is not None:
            self._bars.stop()

    @contextlib.contextmanager
    def stage(self, name: str, total: int = 1, unit: str = "") -> Iterator[Callable[[], None]]:
        """Show a bar for one stage; yield a function that advances it by one step.

        A stage done in one step (`total` 1) completes when the block ends without error.
        """
        bars = self._bars
        if bars is None:
            yield lambda: None
            return
        bar = bars.add_task(name, total=total, unit=unit)
        yield lambda: bars.advance(bar)
        bars.update(bar, completed=total)
