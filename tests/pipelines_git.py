"""A real git repository of the example pipelines, to cut releases from, and materializing
release steps against the definitions bound to the test's settings."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from tests.paths import NORTHSTAR

IGNORE = shutil.ignore_patterns("target", "logs", "__pycache__", "*.duckdb", ".pytest_cache")


@dataclass
class PipelinesGit:
    path: Path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.path, check=True, capture_output=True, text=True, timeout=60
        ).stdout

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def tag(self, name: str, ref: str = "HEAD") -> None:
        self.git("tag", "-a", name, "-m", f"release {name}", ref)


def make_pipelines_git(path: Path, allowed_signers: str = "") -> PipelinesGit:
    """The example pipelines as a git repository (branch main, one commit by Dana);
    ``allowed_signers`` (OpenSSH lines) goes into ``.release/allowed_signers`` first."""
    shutil.copytree(NORTHSTAR, path, ignore=IGNORE)
    if allowed_signers:
        (path / ".release").mkdir(exist_ok=True)
        (path / ".release" / "allowed_signers").write_text(allowed_signers)
    repo = PipelinesGit(path)
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.email", "dana@northstar.example")
    repo.git("config", "user.name", "Dana Engineer")
    repo.commit("Initial import of the northstar pipelines")
    return repo


def materialize_release(
    instance: dg.DagsterInstance, assets: list[dg.AssetsDefinition], tag: str
) -> dg.ExecuteInProcessResult:
    """Materialize ``assets`` for release ``tag`` (adding the partition), never raising.

    ``release_candidate`` is always in the graph (selected only when listed), so a later step
    alone loads the stored release record, as a single-step materialization in the UI does."""
    from release_assets.defs.assets.release_candidate import release_candidate
    from release_assets.defs.definitions import defs

    instance.add_dynamic_partitions("releases", [tag])
    return dg.materialize(
        [release_candidate, *(a for a in assets if a is not release_candidate)],
        selection=list(assets),
        partition_key=tag,
        instance=instance,
        resources=defs().resources,
        raise_on_error=False,
    )
