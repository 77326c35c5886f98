"""flows/core stays pure: no Prefect, no filesystem or network modules, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "flows" / "core"
FORBIDDEN_MODULES = {
    "prefect",
    "os",
    "shutil",
    "pathlib",
    "io",
    "socket",
    "urllib",
    "requests",
    "httpx",
    "fsspec",
    "glob",
    "tempfile",
    "subprocess",
    "datetime",
    "time",
    "flows.io",
    "checks",
}
FORBIDDEN_CALLS = {"open", "read_parquet", "scan_parquet", "write_parquet", "read_csv", "read_text"}


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _core_files(root: Path = CORE) -> list[Path]:
    """Return every Python file of flows/core, in subfolders too (a module split into a package
    stays under the same rules)."""
    return sorted(root.rglob("*.py"))


def _import_offenders(root: Path = CORE) -> list[str]:
    offenders = []
    for path in _core_files(root):
        for name in _imports(ast.parse(path.read_text("utf-8"))):
            if any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES):
                offenders.append(f"{path.relative_to(root)}: import {name}")
    return offenders


def test_core_imports_no_prefect_or_io() -> None:
    assert _import_offenders() == []


def test_the_checker_looks_into_subfolders(tmp_path: Path) -> None:
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "extract.py").write_text("import os\n", "utf-8")
    (tmp_path / "clean.py").write_text("import polars\n", "utf-8")
    assert _import_offenders(tmp_path) == ["claims/extract.py: import os"]


def test_core_calls_no_file_io() -> None:
    offenders = []
    for path in _core_files():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = (
                    f.id
                    if isinstance(f, ast.Name)
                    else f.attr
                    if isinstance(f, ast.Attribute)
                    else ""
                )
                if name in FORBIDDEN_CALLS:
                    offenders.append(f"{path.relative_to(CORE)}:{node.lineno} {name}()")
    assert offenders == []


def test_the_checker_catches_an_offender(tmp_path: Path) -> None:
    tree = ast.parse("import prefect\nfrom flows.io import store\n")
    assert {"prefect", "flows.io"} <= _imports(tree)
