"""Read-only git operations on the pipelines repository (a local path or a git URL).

Every call is a real ``git`` subprocess with a timeout; nothing here writes to the repository.
A URL is mirrored into the state directory and fetched before each read.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

_PR_NUMBER = re.compile(r"(?:Merge pull request #|\(#)(\d+)")


class GitError(RuntimeError):
    """A git command failed; the message names the repository and the command."""


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    email: str
    subject: str


class GitRepo:
    def __init__(self, location: str, mirror_root: Path, timeout_s: float = 120.0) -> None:
        self.location = location
        self.timeout_s = timeout_s
        if Path(location).is_dir():
            self.path = Path(location)
        else:
            name = hashlib.sha256(location.encode()).hexdigest()[:16]
            self.path = mirror_root / f"{name}.git"
            if not self.path.exists():
                mirror_root.mkdir(parents=True, exist_ok=True)
                self._git_at(None, "clone", "--mirror", "--quiet", location, str(self.path))

    def _git_at(self, cwd: Path | None, *args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitError(
                f"git {args[0]} on {self.location} timed out after {self.timeout_s:.0f}s"
            ) from None
        if done.returncode != 0:
            raise GitError(f"git {' '.join(args[:3])} on {self.location}: {done.stderr.strip()}")
        return done.stdout

    def git(self, *args: str) -> str:
        return self._git_at(self.path, *args)

    def refresh(self) -> None:
        """Fetch tags and branches when the repository is a mirror of a URL."""
        if self.path.suffix == ".git" and not Path(self.location).is_dir():
            self.git("fetch", "--quiet", "--prune", "--tags", "origin")

    def tags(self, pattern: str) -> dict[str, str]:
        """Tags matching the glob ``pattern`` -> the commit each one points to."""
        out = self.git(
            "for-each-ref", "--format=%(refname:short) %(*objectname) %(objectname)", "refs/tags"
        )
        tags = {}
        for line in out.splitlines():
            name, *shas = line.split()
            if fnmatch.fnmatchcase(name, pattern):
                tags[name] = shas[0] if len(shas) == 2 else shas[-1]
        return tags

    def resolve(self, ref: str) -> str:
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
        except GitError:
            raise GitError(f"{ref!r} does not name a commit in {self.location}") from None

    def main_ref(self, branch: str) -> str:
        for candidate in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
            try:
                self.git("rev-parse", "--verify", "--quiet", candidate)
                return candidate
            except GitError:
                continue
        raise GitError(f"branch {branch!r} does not exist in {self.location}")

    def is_on_branch(self, commit: str, branch: str) -> bool:
        """True if ``commit`` is reachable from the branch (it was merged to the main line)."""
        ref = self.main_ref(branch)
        try:
            self.git("merge-base", "--is-ancestor", commit, ref)
        except GitError:
            return False
        return True

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        """True if ``ancestor`` is ``commit`` or in its history."""
        try:
            self.git("merge-base", "--is-ancestor", ancestor, commit)
        except GitError:
            return False
        return True

    def commits(self, base: str | None, head: str) -> list[Commit]:
        """Commits in ``base..head`` (all of head's history when base is None), newest first."""
        span = f"{base}..{head}" if base else head
        out = self.git("log", "--format=%H%x1f%an%x1f%ae%x1f%s", span)
        return [Commit(*line.split("\x1f")) for line in out.splitlines() if line]

    def pull_requests(self, base: str | None, head: str) -> list[int]:
        """PR numbers named in merge/squash commit messages of ``base..head``."""
        span = f"{base}..{head}" if base else head
        out = self.git("log", "--format=%s%n%b", span)
        return sorted({int(n) for n in _PR_NUMBER.findall(out)})

    def identities(self, base: str | None, head: str) -> set[str]:
        """The e-mail addresses (lower-cased) of the author, the committer and every
        ``Co-authored-by:`` trailer of every commit in ``base..head`` (all of head's history
        when base is None), mail-mapped (``%aE``/``%cE``): who may not approve the release
        (separation of duties, docs/approvals.md). A squash merge names the other
        contributors only in trailers."""
        span = f"{base}..{head}" if base else head
        out = self.git(
            "log", "--format=%ae%n%ce%n%aE%n%cE%n%(trailers:key=Co-authored-by,valueonly)", span
        )
        found: set[str] = set()
        for line in out.splitlines():
            text = line.strip()
            if "<" in text and text.endswith(">"):
                text = text[text.rindex("<") + 1 : -1]  # "Name <email>" of a trailer
            if text:
                found.add(text.lower())
        return found

    def read(self, ref: str, path: str) -> str:
        """A file's content at ``ref``."""
        return self.git("show", f"{ref}:{path}")

    def tag_dates(self) -> dict[str, int]:
        """Tag -> creation time (tagger date, or commit date for lightweight tags)."""
        out = self.git("for-each-ref", "--format=%(refname:short) %(creatordate:unix)", "refs/tags")
        return {name: int(ts) for name, ts in (line.split() for line in out.splitlines() if line)}

    def changed_files(self, base: str | None, head: str) -> list[str]:
        """Paths changed between two commits (every file when base is None)."""
        if base is None:
            return sorted(self.git("ls-tree", "-r", "--name-only", head).splitlines())
        out = self.git("diff", "--name-only", "--no-renames", base, head)
        return sorted(line for line in out.splitlines() if line)

    def export(self, commit: str, dest: Path) -> Path:
        """Write the tree of ``commit`` into ``dest`` with ``git archive`` (no .git folder)."""
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "tree.tar"
            self.git("archive", "--format=tar", f"--output={archive}", commit)
            with tarfile.open(archive) as tar:
                tar.extractall(dest, filter="data")
        return dest
