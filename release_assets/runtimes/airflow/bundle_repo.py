"""The deploy repository an Airflow 3 environment reads its DAG bundles from (git plumbing).

A bare repository with two branches, each tracked by one ``GitDagBundle``::

    <branch> (live)       release_loader.py   the only file Airflow parses (bundle_loader.py)
                          .airflowignore      "release/": the release's files are not parsed
                          RELEASE_ID          the live release
                          release/...         the release bundle (dags/, ...)
    <canary_branch>       canary__<id>.py     a loader per release in canary (CANARY = id)
                          canaries/<id>.dags  the dag_ids it serves as canaries
                          canaries/<id>/...   that release's bundle
    refs/tags/release/<id>                    the published release's commit (never moved)

Publishing writes a commit holding the release and tags it (nothing live changes).
Activating writes a commit on top of the live branch with the published commit's tree and
moves the branch with ONE compare-and-swap ref update (``git update-ref <ref> <new> <old>``):
the history of the branch is the environment's deploy history and every move is a
fast-forward. Commands run with bounded timeouts; failures name the repository and the git
command.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from release_assets.runtimes.airflow.in_airflow import HERE as IN_AIRFLOW
from release_assets.runtimes.airflow.release_folder import check_release_id
from release_assets.runtimes.airflow.types import AirflowError
from release_assets.settings import inherited_environment

BUNDLE_LOADER = IN_AIRFLOW / "bundle_loader.py"
LOADER_NAME = "release_loader.py"
_GIT_TIMEOUT_S = 60.0
_IDENTITY = {
    "GIT_AUTHOR_NAME": "release-assets",
    "GIT_AUTHOR_EMAIL": "release-assets@localhost",
    "GIT_COMMITTER_NAME": "release-assets",
    "GIT_COMMITTER_EMAIL": "release-assets@localhost",
}


class BundleRepoError(AirflowError):
    """A git command on the deploy repository failed, or a release is not published."""


def canary_file(release_id: str) -> str:
    """The canary loader's file name in the canary branch."""
    return f"canary__{release_id.replace('.', '_').replace('-', '_')}.py"


def loader_source(variable: str, release_id: str) -> str:
    """The bundle loader with ``CANARY`` or ``RELEASE`` set to ``release_id``."""
    line = f"{variable}: str | None = None"
    source = BUNDLE_LOADER.read_text()
    if line not in source:
        raise BundleRepoError(f"{BUNDLE_LOADER} has no line {line!r}")
    return source.replace(line, f"{variable}: str | None = {release_id!r}", 1)


@dataclass(frozen=True)
class BundleRepo:
    """The deploy repository at ``path`` of ``environment`` (see the module docstring)."""

    environment: str
    path: Path
    branch: str = "live"
    canary_branch: str = "canary"

    @property
    def url(self) -> str:
        """What the ``GitDagBundle``s' ``repo_url`` is on this machine (``file://``)."""
        return self.path.resolve().as_uri()

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        cmd = ["git", "--git-dir", str(self.path), *args]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=_GIT_TIMEOUT_S,
                check=False,
                env={**inherited_environment(), **_IDENTITY, **(env or {})},
            )
        except subprocess.TimeoutExpired:
            raise BundleRepoError(
                f"{self.environment}: git {args[0]} on {self.path} timed out"
            ) from None
        if done.returncode != 0:
            raise BundleRepoError(
                f"{self.environment}: git {' '.join(args[:2])} on {self.path} failed: "
                + " ".join(done.stderr.split())[:500]
            )
        return done.stdout.strip()

    def _rev(self, ref: str) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except BundleRepoError:
            return None

    def _write_tree(self, tree_dir: Path) -> str:
        """Store the files of ``tree_dir`` in the repository; returns their tree id."""
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": str(tree_dir)}
            self._git("add", "--all", "--force", ".", env=env)
            return self._git("write-tree", env=env)

    def _commit_dir(self, tree_dir: Path, message: str, parent: str | None) -> str:
        tree = self._write_tree(tree_dir)
        parents = ["-p", parent] if parent else []
        return self._git("commit-tree", tree, *parents, "-m", message)

    def _extract(self, treeish: str, into: Path) -> None:
        into.mkdir(parents=True, exist_ok=True)
        archive = into.parent / f".{into.name}.tar"
        self._git("archive", "--format=tar", "-o", str(archive), treeish)
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
        archive.unlink()

    def ensure(self) -> None:
        """Create the bare repository with both branches (idempotent). Airflow needs the
        tracked branches to exist before the first release: they start with a loader and no
        release (no DAGs)."""
        if not (self.path / "HEAD").exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["git", "init", "--quiet", "--bare", "-b", self.branch, str(self.path)],
                check=True,
                timeout=_GIT_TIMEOUT_S,
                capture_output=True,
            )
        with tempfile.TemporaryDirectory() as tmp:
            if self._rev(f"refs/heads/{self.branch}") is None:
                tree = Path(tmp) / "live"
                tree.mkdir()
                shutil.copyfile(BUNDLE_LOADER, tree / LOADER_NAME)
                (tree / ".airflowignore").write_text("release/\n")
                commit = self._commit_dir(tree, "no release", None)
                self._git("update-ref", f"refs/heads/{self.branch}", commit, "")
            if self._rev(f"refs/heads/{self.canary_branch}") is None:
                tree = Path(tmp) / "canary"
                tree.mkdir()
                (tree / ".airflowignore").write_text("canaries/\n")
                commit = self._commit_dir(tree, "no canaries", None)
                self._git("update-ref", f"refs/heads/{self.canary_branch}", commit, "")

    def _tag(self, release_id: str) -> str:
        return f"refs/tags/release/{check_release_id(release_id)}"

    def published(self, release_id: str) -> str:
        """The commit of a published release; raises BundleRepoError saying to publish."""
        commit = self._rev(self._tag(release_id)) if (self.path / "HEAD").exists() else None
        if commit is None:
            raise BundleRepoError(
                f"release {release_id} is not published to {self.environment} "
                f"(no tag release/{release_id} in {self.path}); publish it first"
            )
        return commit

    def publish(self, release_id: str, bundle_dir: Path) -> str:
        """Commit the release's files with the loader and tag it. Idempotent: an existing
        tag is kept when its tree is exactly the tree this bundle makes (the release's files,
        the loader, ``.airflowignore``, ``RELEASE_ID``); a tag holding any other tree (moved,
        or the release id reused for other content) raises BundleRepoError. Returns the
        commit."""
        self.ensure()
        with tempfile.TemporaryDirectory() as tmp:
            tree_dir = Path(tmp) / "tree"
            shutil.copytree(
                bundle_dir,
                tree_dir / "release",
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
            (tree_dir / LOADER_NAME).write_text(loader_source("RELEASE", release_id))
            (tree_dir / ".airflowignore").write_text("release/\n")
            (tree_dir / "RELEASE_ID").write_text(release_id + "\n")
            tree = self._write_tree(tree_dir)
        existing = self._rev(self._tag(release_id))
        if existing:
            found = self._git("rev-parse", f"{existing}^{{tree}}")
            if found != tree:
                raise BundleRepoError(
                    f"{self.environment}: tag release/{release_id} in {self.path} points at "
                    f"commit {existing[:12]} whose tree {found[:12]} is not the release "
                    f"bundle's (tree {tree[:12]} expected): the tag was moved or the release "
                    "id reused; refusing to publish it: restore the tag or tag a new release"
                )
            return existing
        commit = self._git("commit-tree", tree, "-m", f"release {release_id}")
        self._git("update-ref", self._tag(release_id), commit, "")
        return commit

    def live_release(self) -> str | None:
        """The release the live branch holds (None before the first activation)."""
        if not (self.path / "HEAD").exists():
            return None
        try:
            return self._git("show", f"refs/heads/{self.branch}:RELEASE_ID") or None
        except BundleRepoError:
            return None

    def activate(self, release_id: str) -> str | None:
        """Move the live branch to the published release (one compare-and-swap ref update);
        returns the release it replaced. Raises BundleRepoError when the release is not
        published or the branch moved meanwhile."""
        commit = self.published(release_id)
        self.ensure()
        previous = self.live_release()
        old = self._git("rev-parse", f"refs/heads/{self.branch}")
        new = self._git(
            "commit-tree", f"{commit}^{{tree}}", "-p", old, "-m", f"activate {release_id}"
        )
        self._git("update-ref", f"refs/heads/{self.branch}", new, old)
        return previous

    def _update_canaries(self, edit: str, release_id: str, dag_ids: list[str]) -> None:
        self.ensure()
        old = self._git("rev-parse", f"refs/heads/{self.canary_branch}")
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "tree"
            self._extract(old, tree)
            shutil.rmtree(tree / "canaries" / release_id, ignore_errors=True)
            (tree / canary_file(release_id)).unlink(missing_ok=True)
            (tree / "canaries" / f"{release_id}.dags").unlink(missing_ok=True)
            if edit == "add":
                self._extract(
                    f"{self.published(release_id)}:release", tree / "canaries" / release_id
                )
                (tree / "canaries" / f"{release_id}.dags").write_text(
                    "\n".join(sorted(dag_ids)) + "\n"
                )
                (tree / canary_file(release_id)).write_text(loader_source("CANARY", release_id))
            new = self._commit_dir(tree, f"canary {edit} {release_id}", old)
        self._git("update-ref", f"refs/heads/{self.canary_branch}", new, old)

    def add_canary(self, release_id: str, dag_ids: list[str]) -> None:
        """Serve ``dag_ids`` of the published release from the canary branch."""
        self.published(release_id)
        self._update_canaries("add", release_id, dag_ids)

    def remove_canary(self, release_id: str) -> list[str]:
        """Drop the release's canaries from the canary branch; returns the dag_ids it had."""
        if self._rev(f"refs/heads/{self.canary_branch}") is None:
            return []
        try:
            listed = self._git(
                "show", f"refs/heads/{self.canary_branch}:canaries/{release_id}.dags"
            )
        except BundleRepoError:
            return []
        self._update_canaries("remove", release_id, [])
        return listed.split()
