"""Which teams own which files: a CODEOWNERS file of the pipelines repository.

The syntax and matching are GitHub's ("About code owners"): one ``PATTERN OWNER...`` per line,
``#`` comments, gitignore-style patterns (``*``, ``**``, ``?``, a leading ``/`` anchors at the
root, a trailing ``/`` matches a folder's contents), and the LAST matching line wins; a line
with a pattern and no owner leaves matching files unowned. Patterns are matched by the
``codeowners`` package (a port of hmarr/codeowners). Owners here are teams, written
``@team`` with ``team`` one of ``release.yaml`` ``owners.teams``; anything else is an error
naming the line. No Dagster.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from codeowners import CodeOwners

DEFAULT_SOURCE = ".release/CODEOWNERS"


class OwnershipError(ValueError):
    """The CODEOWNERS file cannot be used; ``str()`` is one line per fault, each naming
    ``<file>:<line>``."""


@dataclass(frozen=True)
class OwnerRule:
    """One line of the file: its number (1-based), its pattern and the teams it names (in the
    order written, without ``@``; empty: matching files have no owner)."""

    line: int
    pattern: str
    teams: tuple[str, ...]


class Ownership:
    """A parsed CODEOWNERS file (see the module docstring for its rules).

    ``rules`` are the lines in file order. Build it with :func:`parse_codeowners`.
    """

    def __init__(self, text: str, rules: list[OwnerRule], source: str) -> None:
        self._matcher = CodeOwners(text)
        self.rules = rules
        self.source = source
        self._by_line = {rule.line: rule for rule in rules}

    def rule_for(self, path: str) -> OwnerRule | None:
        """The rule deciding ``path`` (repository-relative, ``/``-separated): the last line
        whose pattern matches it, or None when no line does."""
        _, line, _, _ = self._matcher.matching_line(path.lstrip("/"))
        return self._by_line.get(line) if line is not None else None

    def owners_of(self, path: str) -> tuple[str, ...]:
        """The teams owning ``path``; empty when no line matches or the matching line names
        no owner."""
        rule = self.rule_for(path)
        return rule.teams if rule is not None else ()

    def teams_for(self, paths: Iterable[str]) -> dict[str, list[str]]:
        """Team -> the paths of ``paths`` it owns (sorted), for every team owning one of them;
        unowned paths are left out (see :meth:`unowned`)."""
        out: dict[str, set[str]] = {}
        for path in paths:
            for team in self.owners_of(path):
                out.setdefault(team, set()).add(path)
        return {team: sorted(files) for team, files in sorted(out.items())}

    def unowned(self, paths: Iterable[str]) -> list[str]:
        """The paths of ``paths`` no team owns, sorted."""
        return sorted({p for p in paths if not self.owners_of(p)})


def _tokens(line: str) -> list[str]:
    # GitHub allows an escaped space in a pattern ("my\ file.txt"): keep it in the token.
    masked = line.replace("\\ ", "\x00")
    return [token.replace("\x00", "\\ ") for token in masked.split()]


def parse_codeowners(
    text: str, known_teams: Collection[str] | None = None, source: str = DEFAULT_SOURCE
) -> Ownership:
    """Parse CODEOWNERS ``text`` (``source`` names the file in messages).

    Every owner must be written ``@team``; with ``known_teams`` (``owners.teams``), each team
    must be one of them. Raises :class:`OwnershipError` listing every faulty line as
    ``<source>:<line>: <what is wrong>``: an owner not written ``@team`` (an e-mail, a bare
    name), an unknown team, a pattern the matcher cannot compile.
    """
    rules: list[OwnerRule] = []
    problems: list[str] = []
    known = sorted(known_teams) if known_teams is not None else None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, *owners = _tokens(line.split(" #", 1)[0])
        teams: list[str] = []
        for owner in owners:
            team = owner[1:] if owner.startswith("@") else ""
            if not team or "@" in team:
                problems.append(
                    f"{source}:{number}: owner {owner!r} of {pattern!r} is not a team; "
                    "write owners as @team, with a team of release.yaml owners.teams"
                )
            elif known is not None and team not in known:
                problems.append(
                    f"{source}:{number}: @{team} (owner of {pattern!r}) is not a team in "
                    f"release.yaml owners.teams ({', '.join(known) or 'none declared'})"
                )
            else:
                teams.append(team)
        rules.append(OwnerRule(number, pattern, tuple(dict.fromkeys(teams))))
    try:
        ownership = Ownership(text, rules, source)
    except ValueError as exc:  # an unterminated character class, say
        problems.append(f"{source}: {exc}")
    if problems:
        raise OwnershipError("\n".join(problems))
    return ownership
