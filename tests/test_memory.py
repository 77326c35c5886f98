"""Returning a stage's freed heap pages to the operating system."""

from __future__ import annotations

import platform

import numpy as np

from flows.io.memory import release_memory


def test_release_memory_trims_glibc_heaps_and_is_harmless_elsewhere() -> None:
    blocks = [np.ones(50_000) for _ in range(200)]  # many small malloc'd blocks, then freed
    del blocks
    trimmed = release_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert trimmed
    assert release_memory() == trimmed  # a second call is as safe
