"""flows/core stays pure: no Prefect, no filesystem or network modules, no clock; checks/ too.

checks/ may use dates (its models' bounds) and, where the great-expectations checkpoint writes
its Data Docs to the folder it is given, paths and a temporary project; nothing else of it does
I/O, and neither calls into Prefect, the adapters of flows/io or the flow's modules.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "flows" / "core"
CHECKS = ROOT / "checks"
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
# checks/ may import flows.core (schemas, settings, repairs) but no other part of flows, and
# dates (datetime: its models' bounds).
CHECKS_FORBIDDEN = (FORBIDDEN_MODULES - {"checks", "datetime"}) | {"flows"}
CHECKS_ALLOWED = {"flows.core"}
# The checkpoint writes its Data Docs through a temporary great-expectations project into the
# folder the validate stage is given.
CHECKS_IO = {"expectations.py": {"pathlib", "tempfile"}, "validate.py": {"pathlib"}}


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _python_files(root: Path = CORE) -> list[Path]:
    """Return every Python file under `root`, in subfolders too (a module split into a package
    stays under the same rules)."""
    return sorted(root.rglob("*.py"))


def _matches(name: str, modules: set[str]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def _import_offenders(
    root: Path = CORE,
    forbidden: set[str] = FORBIDDEN_MODULES,
    allowed: Collection[str] = (),
    per_file: dict[str, set[str]] | None = None,
) -> list[str]:
    offenders = []
    for path in _python_files(root):
        rel = path.relative_to(root)
        exempt = set(allowed) | (per_file or {}).get(str(rel), set())
        for name in _imports(ast.parse(path.read_text("utf-8"))):
            if _matches(name, forbidden) and not _matches(name, exempt):
                offenders.append(f"{rel}: import {name}")
    return offenders


def _call_offenders(root: Path = CORE) -> list[str]:
    offenders = []
    for path in _python_files(root):
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
                    offenders.append(f"{path.relative_to(root)}:{node.lineno} {name}()")
    return offenders


def _checks_offenders(root: Path = CHECKS) -> list[str]:
    return _import_offenders(root, CHECKS_FORBIDDEN, CHECKS_ALLOWED, CHECKS_IO)


def test_core_imports_no_prefect_or_io() -> None:
    assert _import_offenders() == []


def test_the_checker_looks_into_subfolders(tmp_path: Path) -> None:
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "extract.py").write_text("import os\n", "utf-8")
    (tmp_path / "clean.py").write_text("import polars\n", "utf-8")
    assert _import_offenders(tmp_path) == ["claims/extract.py: import os"]


def test_core_calls_no_file_io() -> None:
    assert _call_offenders() == []


def test_checks_import_no_prefect_adapters_or_io_but_the_checkpoints() -> None:
    assert _checks_offenders() == []
    assert _call_offenders(CHECKS) == []


def test_the_checks_checker_looks_into_subfolders_and_allows_only_flows_core(
    tmp_path: Path,
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "grounding.py").write_text("from flows.io import store\n", "utf-8")
    (tmp_path / "models.py").write_text("import datetime\nfrom flows.core import schema\n", "utf-8")
    (tmp_path / "expectations.py").write_text("import tempfile\nimport prefect\n", "utf-8")
    (tmp_path / "summary.py").write_text("import tempfile\nfrom flows import tasks\n", "utf-8")
    assert sorted(_checks_offenders(tmp_path)) == [
        "expectations.py: import prefect",
        "sub/grounding.py: import flows.io",
        "summary.py: import flows",
        "summary.py: import tempfile",
    ]


def test_the_checker_catches_an_offender(tmp_path: Path) -> None:
    tree = ast.parse("import prefect\nfrom flows.io import store\n")
    assert {"prefect", "flows.io"} <= _imports(tree)
