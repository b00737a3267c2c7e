"""The docs stay true: docs/cli.md matches the parser, and the guides' links and images exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.cli.reference import REGENERATE, cli_reference_markdown
from tests.conftest import REPO

DOCS = REPO / "docs"
GUIDES = ["user-guide.md", "architecture.md", "scaling.md", "cli.md"]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_cli_reference_is_current():
    if (DOCS / "cli.md").read_text(encoding="utf-8") != cli_reference_markdown():
        pytest.fail(f"docs/cli.md is out of date; regenerate it with `{REGENERATE}`", pytrace=False)


def test_reference_has_every_subcommand():
    text = cli_reference_markdown()
    for prog in ["explorer metrics", "explorer jobs retry", "explorer warehouse query", "explorer docs cli"]:
        assert f"## `{prog}`" in text and f"usage: {prog} " in text


def test_reference_does_not_depend_on_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    expected = cli_reference_markdown()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("COLUMNS", "40")
    assert cli_reference_markdown() == expected
    assert str(tmp_path) not in expected and "<EXPLORER_DATA_DIR>/warehouse.duckdb" in expected


def test_docs_cli_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "cli.md"
    assert main(["docs", "cli", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == cli_reference_markdown()
    assert main(["docs", "cli"]) == 0
    assert capsys.readouterr().out.endswith(cli_reference_markdown())


@pytest.mark.parametrize("name", GUIDES)
def test_relative_links_and_images_exist(name: str):
    text = (DOCS / name).read_text(encoding="utf-8")
    targets = [t for t in LINK.findall(text) if "://" not in t]
    missing = [t for t in targets if not (DOCS / t).resolve().exists()]
    assert not missing, f"docs/{name} links to missing files: {missing}"
