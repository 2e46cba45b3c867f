"""The repository's git history: fixed-date commits, and the one-commit changes."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .model import MAIL

_EPOCH = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_AUTHOR = ("Scale Benchmark", f"benchmark@{MAIL}")


def run_git(root: Path, *args: str, when: int = 0) -> str:
    stamp = (_EPOCH + timedelta(hours=when)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME=_AUTHOR[0],
        GIT_AUTHOR_EMAIL=_AUTHOR[1],
        GIT_AUTHOR_DATE=stamp,
        GIT_COMMITTER_NAME=_AUTHOR[0],
        GIT_COMMITTER_EMAIL=_AUTHOR[1],
        GIT_COMMITTER_DATE=stamp,
        # No system or user configuration (signing, hooks, templates): the same bytes everywhere.
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
    )
    settings = ["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"]
    done = subprocess.run(
        ["git", *settings, "-C", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {root} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def commit(root: Path, paths: list[str], message: str) -> str:
    count = int(run_git(root, "rev-list", "--count", "HEAD"))
    run_git(root, "add", "--", *paths)
    run_git(root, "commit", "--quiet", "-m", message, when=count)
    return run_git(root, "rev-parse", "HEAD")


@dataclass
class ScaleRepo:
    """A generated repository: where it is and what it holds."""

    root: Path
    dag_files: list[Path]
    dag_ids: list[str]
    models: list[str]
    staging_models: list[str]
    spark_jobs: list[str]
    terraform_modules: list[str]

    def _round(self) -> int:
        return int(run_git(self.root, "rev-list", "--count", "HEAD"))

    def change_one_dag(self) -> str:
        """Give one DAG's first task one more retry; one new commit, its sha."""
        n = self._round()
        path = self.dag_files[(len(self.dag_files) // 2 + n) % len(self.dag_files)]
        text, count = re.subn(
            r"^        retries=(\d+),$",
            lambda m: f"        retries={int(m.group(1)) + 1},",
            path.read_text(),
            count=1,
            flags=re.MULTILINE,
        )
        if count != 1:
            raise RuntimeError(f"{path} has no task with explicit retries")
        path.write_text(text)
        rel = path.relative_to(self.root).as_posix()
        return commit(self.root, [rel], f"{path.stem}: one more retry for its first task")

    def change_one_model(self) -> str:
        """Add a computed column to one staging model; one new commit, its sha."""
        n = self._round()
        model = self.staging_models[n % len(self.staging_models)]
        path = self.root / "dbt" / "models" / "staging" / f"{model}.sql"
        text = path.read_text()
        column = "extended_amount" if "extended_amount" not in text else f"extended_amount_{n}"
        anchor = "    cast(event_ts as date) as event_date,\n"
        if anchor not in text:
            raise RuntimeError(f"{path} does not have the expected select list")
        added = f"    cast(amount * quantity as decimal(14, 2)) as {column},\n"
        path.write_text(text.replace(anchor, anchor + added, 1))
        rel = path.relative_to(self.root).as_posix()
        return commit(self.root, [rel], f"{model}: add {column}")
