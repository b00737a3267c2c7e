"""The layering is checked, not just described: import-linter's contracts (pyproject.toml) hold, and
they do fail when a module imports across a layer the wrong way."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())", "--no-cache"]


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(LINT, cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_the_contracts_hold():
    out = _lint(REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "BROKEN" not in out.stdout


def test_a_wrong_import_breaks_them(tmp_path: Path):
    """A copy of the packages with three deliberate mistakes: the library imports Streamlit, storage
    imports the library, the cell model imports a lab. Each contract must fail, naming the import."""
    for name in ("explorer", "db", "ui"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.parquet"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    paths = tmp_path / "explorer" / "theory" / "paths.py"
    paths.write_text(paths.read_text() + "\nimport streamlit  # deliberately wrong\n")
    errors = tmp_path / "db" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom explorer.core import settings  # deliberately wrong\n")
    ops = tmp_path / "explorer" / "cell" / "ops.py"
    ops.write_text(ops.read_text() + "\nfrom explorer.labs import stats  # deliberately wrong\n")
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert "The library's packages, each importing only those below it BROKEN" in out.stdout
    assert "explorer.cell.ops -> explorer.labs.stats" in out.stdout
    assert "The library never imports Streamlit or the views BROKEN" in out.stdout
    assert "Storage imports nothing from the library or the views BROKEN" in out.stdout
    assert "explorer.theory.paths -> streamlit" in out.stdout
    assert "db.errors -> explorer.core.settings" in out.stdout


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_pages_are_views_over_the_library():
    """Pages are scripts (import-linter cannot see them): they use the library and ui/, never storage."""
    for path in [REPO / "app.py", *sorted((REPO / "pages").glob("*.py"))]:
        storage = sorted(m for m in _imports(path) if m == "db" or m.startswith("db."))
        assert not storage, f"{path.relative_to(REPO)} imports storage directly: {storage}"


LONG = 400


def test_long_modules_say_why():
    """Small modules named for what they hold: one over ~400 lines states its reason in its docstring."""
    offenders = []
    for path in sorted([*(REPO / "explorer").rglob("*.py"), *(REPO / "db").rglob("*.py")]):
        lines = path.read_text().count("\n")
        if lines > LONG:
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            if "Long because" not in doc:
                offenders.append(f"{path.relative_to(REPO)} ({lines} lines)")
    assert not offenders, "over ~400 lines without 'Long because …' in the docstring: " + ", ".join(offenders)


def test_ruff_passes_with_its_line_length():
    """The lint rules in pyproject.toml (line length 120 included) hold for the whole tree."""
    ruff = Path(sys.executable).with_name("ruff")
    out = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:]
