"""Who may not approve a release: every author, committer and co-author of its commits."""

from __future__ import annotations

import subprocess
from pathlib import Path

from release_assets.core.git_repo import GitRepo


def test_co_authors_of_a_squash_merge_are_identities_of_the_release(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=30
        ).stdout

    git("init", "-q", "-b", "main")
    git(
        "-c",
        "user.email=base@x.org",
        "-c",
        "user.name=Base",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "base",
    )
    base = git("rev-parse", "HEAD").strip()
    git(
        "-c",
        "user.email=Merger@X.org",
        "-c",
        "user.name=Merger",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "Squash #9\n\nCo-authored-by: Dana Engineer <Dana@Northstar.example>",
    )

    found = GitRepo(str(repo), tmp_path / "mirrors").identities(base, "HEAD")

    assert found == {"merger@x.org", "dana@northstar.example"}
