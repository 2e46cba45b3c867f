"""CODEOWNERS read with GitHub's rules: gitignore-style patterns, the last matching line wins, a
line without owners leaves files unowned; owners are `@team`s of release.yaml, and a wrong one
is an error naming its line. The example repository's file gives DAGs, dbt, Spark and contracts
to data engineering, Terraform, requirements and the release rules to platform."""

from __future__ import annotations

import pytest

from release_assets.config.release_config import load_release_config
from release_assets.core.ownership import OwnershipError, parse_codeowners
from tests.paths import NORTHSTAR

TEXT = """\
# comment
*.md            @docs
/dags/          @data-engineering
dags/legacy/    @legacy   # inline comment
/dags/legacy/keep.py
**/schema.yml   @analytics
docs/*          @docs @platform
"""


def test_the_last_matching_line_wins_and_patterns_follow_gitignore() -> None:
    owners = parse_codeowners(TEXT)

    assert owners.owners_of("dags/orders.py") == ("data-engineering",)
    assert owners.owners_of("dags/legacy/old.py") == ("legacy",)  # a later line overrides
    assert owners.owners_of("dags/legacy/keep.py") == ()  # a line without owners unsets them
    assert owners.owners_of("dbt/models/marts/schema.yml") == ("analytics",)
    assert owners.owners_of("dags/README.md") == ("data-engineering",)  # /dags/ comes later
    assert owners.owners_of("README.md") == ("docs",)
    assert owners.owners_of("docs/a.txt") == ("docs", "platform")
    assert owners.owners_of("docs/deep/a.txt") == ()  # docs/* does not reach subfolders
    assert owners.owners_of("spark/job.py") == ()
    rule = owners.rule_for("dags/legacy/old.py")
    assert rule is not None and (rule.line, rule.pattern) == (4, "dags/legacy/")


def test_teams_for_groups_files_by_owning_team_and_unowned_lists_the_rest() -> None:
    owners = parse_codeowners(TEXT)
    files = ["dags/orders.py", "README.md", "spark/job.py", "docs/a.txt"]

    assert owners.teams_for(files) == {
        "data-engineering": ["dags/orders.py"],
        "docs": ["README.md", "docs/a.txt"],
        "platform": ["docs/a.txt"],
    }
    assert owners.unowned(files) == ["spark/job.py"]


def test_an_empty_file_owns_nothing() -> None:
    assert parse_codeowners("").owners_of("dags/orders.py") == ()


def test_an_unknown_team_and_an_owner_that_is_not_a_team_name_their_lines() -> None:
    with pytest.raises(OwnershipError) as err:
        parse_codeowners(
            "/dags/ @data-engineering\n/dbt/ dana@northstar.example\n/spark/ @sparkers\n",
            known_teams={"data-engineering", "platform"},
            source="CODEOWNERS",
        )

    assert str(err.value).splitlines() == [
        "CODEOWNERS:2: owner 'dana@northstar.example' of '/dbt/' is not a team; write owners "
        "as @team, with a team of release.yaml owners.teams",
        "CODEOWNERS:3: @sparkers (owner of '/spark/') is not a team in release.yaml "
        "owners.teams (data-engineering, platform)",
    ]


def test_the_example_repository_gives_each_part_to_its_team() -> None:
    config = load_release_config(NORTHSTAR)
    text = (NORTHSTAR / config.approvals.codeowners).read_text()
    owners = parse_codeowners(text, known_teams=config.owners.teams)

    expected = {
        "dags/orders_daily.py": "data-engineering",
        "dbt/models/marts/fct_orders.sql": "data-engineering",
        "spark/jobs/inventory_positions.py": "data-engineering",
        "contracts/orders.yml": "data-engineering",
        "terraform/modules/landing_bucket/main.tf": "platform",
        "requirements.txt": "platform",
        "constraints.txt": "platform",
        "requirements-dev.txt": "platform",
        "release.yaml": "platform",
        ".release/allowed_signers": "platform",
        ".release/CODEOWNERS": "platform",
    }
    assert {path: owners.owners_of(path) for path in expected} == {
        path: (team,) for path, team in expected.items()
    }
    assert owners.owners_of("tests/test_dags.py") == ()
    assert owners.owners_of("dags/requirements.txt") == ("data-engineering",)
