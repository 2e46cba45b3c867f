"""A CODEOWNERS file the approvals could not use is refused before merge (approvals read it
at the base release, so a broken one on main would hold every later release)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from release_assets.cli.main import main
from tests.paths import NORTHSTAR


def test_config_validate_names_each_bad_codeowners_line(tmp_path: Path) -> None:
    repo = tmp_path / "northstar"
    shutil.copytree(NORTHSTAR, repo, ignore=shutil.ignore_patterns("target", "*.duckdb"))
    owners = repo / ".release" / "CODEOWNERS"
    owners.write_text(owners.read_text() + "dags/ops/ @operations\nspark/ dana@northstar.example\n")
    lines = len(owners.read_text().splitlines())

    result = CliRunner().invoke(main, ["config", "validate", "--repo", str(repo)])

    assert result.exit_code == 1
    assert f".release/CODEOWNERS:{lines - 1}:" in result.output
    assert "operations" in result.output
    assert f".release/CODEOWNERS:{lines}:" in result.output
    assert "Traceback" not in result.output
