"""Shard files: the Parquet slices that shard tasks read and write under a run's staging folder.

Shard tasks may run in other processes or on other machines (`[runner] kind = "dask"`), so they
exchange file paths and small counts, never frames. A shard is a contiguous slice of a sorted
list, and results are gathered in shard order, not completion order: concatenated, they are
what one task over the whole list would give.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, cast

import polars as pl
import pyarrow.parquet as pq

from flows.core.errors import errno_of
from flows.core.schema import QUARANTINE, empty

T = TypeVar("T")


def slices(items: Sequence[T], size: int) -> list[list[T]]:
    """Split items into consecutive slices of `size` (the last one shorter); none when empty."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# Items of unknown size in a slice of `sized_slices`.
UNKNOWN_SIZE_ITEMS = 64


def sized_slices(
    items: Sequence[T], sizes: Sequence[int | None], max_bytes: int, max_items: int
) -> list[list[T]]:
    """Split items into consecutive slices of at most `max_items` items and about `max_bytes`.

    A slice closes once its sizes reach `max_bytes` (so one item larger than that is a slice
    of its own) or it holds `max_items`; an unknown size (None: a remote file) counts as a
    64th of `max_bytes`, so such items go 64 to a slice as before sizes were known (each may
    be up to `max_file_bytes`, and remote reads wait on the network). None when empty.
    """
    out: list[list[T]] = []
    current: list[T] = []
    total = 0
    for item, size in zip(items, sizes, strict=True):
        current.append(item)
        total += max_bytes / UNKNOWN_SIZE_ITEMS if size is None else size
        if total >= max_bytes or len(current) >= max_items:
            out.append(current)
            current, total = [], 0
    if current:
        out.append(current)
    return out


def frame_slices(frame: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    """Split a frame into consecutive slices of `size` rows; one empty slice for no rows."""
    if frame.height == 0:
        return [frame]
    return [frame.slice(i, size) for i in range(0, frame.height, size)]


# Compression of the files a run writes for itself and reads back (shards, spilled frames):
# lz4 writes the 26 MB of clean texts of the 34,173-page inbox in 0.09 s of CPU against 0.21 s
# for zstd (published tables keep zstd: 10 MB against 17 MB there).
STAGING_COMPRESSION: Literal["lz4"] = "lz4"


def write_parquet(
    frame: pl.DataFrame, path: Path, compression: Literal["zstd", "lz4"] = "zstd"
) -> None:
    """Write a Parquet file; a failed write removes what it wrote and raises an OSError.

    polars reports a failed write as a ComputeError that keeps only the text of the OSError
    ("... (os error 28)"): it is raised again as the OSError, with the file's path, so that
    callers and the CLI can say which file on which disk failed.
    """
    try:
        frame.write_parquet(path, compression=compression)
    except pl.exceptions.PolarsError as exc:
        error = _failed_write(path, exc)
        if error is None:
            raise
        raise error from exc
    except OSError:
        _failed_write(path, None)
        raise


def spill(frame: pl.DataFrame, path: Path) -> pl.LazyFrame:
    """Write a frame the run reads again later to `path`; return a scan of it.

    For a stage's output that later stages read only in part (the passages: 5M rows, 640 MB,
    at 300,000 pages, read by validation and publishing): held on disk meanwhile, not in memory.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(frame, path, STAGING_COMPRESSION)
    return pl.scan_parquet(path)


def _failed_write(path: Path, exc: BaseException | None) -> OSError | None:
    """Remove what a failed write of `path` left; return the OSError naming the file.

    None when `exc` carries no errno (raise it as it is).
    """
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
    found = errno_of(exc) if isinstance(exc, Exception) else None
    if found is None:
        return None
    return OSError(found[0], os.strerror(found[0]), str(path))


class Chunked:
    """A table given as consecutive frames of one schema, written one frame at a time.

    For a table too large to hold whole (the passage index: 14.3M rows, 1.4 GB, on the
    34,173-page inbox): `frames` is called once per write and yields the frames in order
    (none when the table has no rows); the file holds their rows in that order.
    """

    __slots__ = ("frames", "schema")

    def __init__(self, schema: pl.Schema, frames: Callable[[], Iterable[pl.DataFrame]]) -> None:
        self.schema = schema
        self.frames = frames

    def __iter__(self) -> Iterator[pl.DataFrame]:
        return iter(self.frames())


# Rows of a Parquet row group at most: polars' write_parquet default (512 ** 2).
ROW_GROUP_ROWS = 512**2


def made_ahead(frames: Iterable[T]) -> Iterator[T]:
    """Yield `frames` in order while the next one is made on a second thread.

    For a chunked table whose chunks are computed (the passage and band indexes): polars and
    pyarrow release the GIL for most of making a chunk and encoding the one before, so the
    two overlap. One chunk more is held; an error in making one is raised here. When the
    consumer stops early (a failed write), the chunk being made is finished first.
    """
    items = iter(frames)

    def following() -> tuple[bool, T | None]:
        for item in items:
            return True, item
        return False, None

    with ThreadPoolExecutor(1, thread_name_prefix="newsdq-chunk") as pool:
        pending = pool.submit(following)
        while True:
            more, item = pending.result()
            if not more:
                return
            pending = pool.submit(following)
            yield cast(T, item)


def write_parquet_chunks(frames: Iterable[pl.DataFrame], schema: pl.Schema, path: Path) -> int:
    """Write frames of `schema` into one Parquet file, a row group or more a frame; return rows.

    The file reads as `write_parquet` of the frames concatenated would (same columns and types,
    zstd, statistics), but only two frames are in memory at a time (the next is made while one
    is written, `made_ahead`). A failed write removes what it wrote and raises an OSError
    naming the file, as `write_parquet` does.

    The chunked tables are the run's indexes, of 64-bit band hashes: those columns are written
    without a dictionary (nearly every hash is distinct, so building one is wasted work) and
    the file with zstd level 1, not 3. The 34,173-page inbox's passage and band indexes: 1.06
    s of CPU to write against 0.69 s, 82 against 77 MB (docs/measurements.md, session 8).
    """
    arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema
    dictionary = [name for name, kind in schema.items() if kind != pl.UInt64]
    rows = 0
    try:
        with open(path, "wb") as sink:
            writer = pq.ParquetWriter(
                sink,
                arrow_schema,
                compression="zstd",
                compression_level=1,
                use_dictionary=dictionary,
            )
            try:
                for frame in made_ahead(frames):
                    if frame.schema != schema:
                        raise ValueError(
                            f"a chunk of {path} has schema {frame.schema}, not {schema}"
                        )
                    if frame.height:
                        # row groups no larger than polars' write_parquet makes them: a sorted
                        # table's groups then cover narrow key ranges, which lookups prune by
                        size = min(frame.height, ROW_GROUP_ROWS)
                        writer.write_table(frame.to_arrow(), row_group_size=size)
                        rows += frame.height
            finally:
                writer.close()
    except BaseException as exc:
        error = _failed_write(path, exc)
        if error is None:
            raise
        raise error from exc
    return rows


def write_shard(frame: pl.DataFrame, folder: Path | str, name: str) -> str:
    """Write one shard file (creating its folder) and return its path."""
    path = Path(folder) / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(frame, path, STAGING_COMPRESSION)
    return str(path)


def write_slices(frame: pl.DataFrame, folder: Path, size: int) -> list[str]:
    """Write a frame as numbered shard files of `size` rows; return their paths in order."""
    return [
        write_shard(part, folder, f"in-{i:05d}") for i, part in enumerate(frame_slices(frame, size))
    ]


def read_shards(paths: Sequence[str], schema: pl.Schema | None = None) -> pl.DataFrame:
    """Read shard files back into one frame, in the order given."""
    frames = [pl.read_parquet(p) for p in paths]
    if not frames:
        if schema is None:
            raise ValueError("no shard files to read and no schema for an empty frame")
        return pl.DataFrame(schema=schema)
    return pl.concat(frames, how="vertical")


@dataclass(frozen=True)
class ShardStats:
    """The figures of a stage run in shards, as the run summary names them."""

    shards: int  # shard tasks run
    note: str | None = None  # the summary's name for the shard count; none: not noted

    def notes(self) -> dict[str, int]:
        """Return the figures by name: the shard count, if the summary notes it."""
        return {} if self.note is None else {self.note: self.shards}


@dataclass(frozen=True)
class Gathered:
    """A stage's frame gathered from its shards in shard order; it quarantines nothing."""

    frame: pl.DataFrame
    stats: ShardStats
    quarantine: pl.DataFrame = field(default_factory=lambda: empty(QUARANTINE))
