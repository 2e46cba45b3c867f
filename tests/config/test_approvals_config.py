"""release.yaml `approvals:` as a team writes it: defaults need no files, every members team
must be a team of owners.teams, approvers are e-mail addresses, and a path written in the file
must exist; each problem is one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from release_assets.config import ReleaseConfigError, load_release_config
from release_assets.config.approvals_config import ApprovalsConfig
from tests.paths import NORTHSTAR

MINIMAL = {
    "version": 1,
    "project": "shop",
    "owners": {
        "default": "data@shop.example",
        "teams": {"sales": "sales@shop.example", "platform": "platform@shop.example"},
    },
    "airflow": {"version": "2.11.2"},
}


def _load(tmp_path: Path, approvals: dict[str, object] | None) -> ApprovalsConfig:
    (tmp_path / "dags").mkdir(exist_ok=True)
    (tmp_path / "requirements.txt").write_text("duckdb==2.0.0\n")
    config = {**MINIMAL, **({"approvals": approvals} if approvals is not None else {})}
    (tmp_path / "release.yaml").write_text(yaml.safe_dump(config))
    return load_release_config(tmp_path).approvals


def _problems(tmp_path: Path, approvals: dict[str, object]) -> list[str]:
    with pytest.raises(ReleaseConfigError) as info:
        _load(tmp_path, approvals)
    return list(info.value.problems)


def test_without_the_section_the_defaults_need_no_files(tmp_path: Path) -> None:
    approvals = _load(tmp_path, None)

    assert approvals == ApprovalsConfig(
        allowed_signers=".release/allowed_signers", codeowners=".release/CODEOWNERS", members={}
    )


def test_members_map_teams_to_approvers(tmp_path: Path) -> None:
    approvals = _load(
        tmp_path, {"members": {"sales": ["Bo@shop.example"], "platform": ["bo@shop.example"]}}
    )

    assert approvals.teams_of("bo@shop.example") == ["platform", "sales"]
    assert approvals.teams_of("al@shop.example") == []


def test_a_members_team_not_in_owners_teams_is_named(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"members": {"analytics": ["al@shop.example"]}})

    assert problems == [
        "approvals.members: 'analytics' is not a team in owners.teams (platform, sales); add it "
        "there or remove it here"
    ]


def test_an_approver_must_be_an_email_and_listed_once(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, {"members": {"sales": ["bo"]}})
    assert problem.startswith("approvals.members.sales[0]:") and "email" in problem

    problems = _problems(tmp_path, {"members": {"sales": ["bo@shop.example", "BO@shop.example"]}})
    assert problems == ["approvals.members.sales: 'bo@shop.example' is listed more than once"]


def test_a_path_written_in_the_file_must_exist_in_the_repository(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path, {"allowed_signers": "keys/allowed_signers", "codeowners": "../CODEOWNERS"}
    )

    assert problems == [
        f"approvals.allowed_signers: 'keys/allowed_signers' is not a file in {tmp_path.resolve()}",
        "approvals.codeowners: '../CODEOWNERS' points outside the repository",
    ]


def test_an_unknown_field_is_named(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, {"signers": "x"})

    assert problem.startswith("approvals.signers:")


def test_the_example_repository_names_its_approvers() -> None:
    approvals = load_release_config(NORTHSTAR).approvals

    assert approvals.members == {
        "data-engineering": ["dana@northstar.example", "ana@northstar.example"],
        "platform": ["pat@northstar.example"],
    }
    assert (NORTHSTAR / approvals.allowed_signers).is_file()
    assert (NORTHSTAR / approvals.codeowners).is_file()
