"""The ``approvals:`` section of ``release.yaml``: who may approve a release, for which team.

It is the team's side of approvals (the platform engineer's side is each environment's
``promotion:`` policy, ``release_assets.config.promotion``). Releases read it at their BASE
release's commit, so a release cannot add its own author as an approver (docs/approvals.md):

- ``allowed_signers``: the repository path of an OpenSSH allowed-signers file (the format git
  verifies SSH-signed tags with, ``ssh-keygen(1)`` ALLOWED SIGNERS): one line per principal
  and public key;
- ``codeowners``: the repository path of a CODEOWNERS file mapping paths to ``@team``s
  (GitHub's syntax: gitignore-style patterns, the last matching line wins);
- ``members``: team -> the principals (e-mail addresses, as in the allowed-signers file) whose
  approval counts for that team. Every team must be one of ``owners.teams``.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

EMAIL = r"^[^@\s]+@[^@\s]+$"

DEFAULT_ALLOWED_SIGNERS = ".release/allowed_signers"
DEFAULT_CODEOWNERS = ".release/CODEOWNERS"


class ApprovalsConfig(BaseModel):
    """``release.yaml`` ``approvals:``; every field has a default, so the section is optional.

    ``allowed_signers`` and ``codeowners`` are repository-relative paths; a path left at its
    default need not exist (nobody may sign / no path has an owner), a path written in the
    file must. ``members`` maps a team of ``owners.teams`` to its approvers' principals.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_signers: Annotated[str, Field(min_length=1)] = DEFAULT_ALLOWED_SIGNERS
    codeowners: Annotated[str, Field(min_length=1)] = DEFAULT_CODEOWNERS
    members: dict[str, list[Annotated[str, Field(pattern=EMAIL)]]] = {}

    def teams_of(self, principal: str) -> list[str]:
        """The teams whose ``members`` list ``principal`` (e-mails compared case-insensitively),
        sorted."""
        who = principal.lower()
        return sorted(t for t, people in self.members.items() if who in {p.lower() for p in people})


def approvals_problems(config: ApprovalsConfig, teams: Collection[str], root: Path) -> list[str]:
    """Problems of ``approvals:`` against the rest of ``release.yaml`` and the repository at
    ``root``, one ``approvals.<field>: <what is wrong>`` line each: a ``members`` team that is
    not in ``owners.teams`` (``teams``), a principal listed twice for one team, a path written
    in the file that points outside the repository or does not exist."""
    problems: list[str] = []
    known = ", ".join(sorted(teams)) or "(none declared)"
    for team, people in config.members.items():
        if team not in teams:
            problems.append(
                f"approvals.members: {team!r} is not a team in owners.teams ({known}); "
                "add it there or remove it here"
            )
        lowered = [p.lower() for p in people]
        for person in sorted({p for p in lowered if lowered.count(p) > 1}):
            problems.append(f"approvals.members.{team}: {person!r} is listed more than once")
    resolved = root.resolve()
    for field in ("allowed_signers", "codeowners"):
        if field not in config.model_fields_set:
            continue
        rel = getattr(config, field)
        target = (resolved / rel).resolve()
        if not target.is_relative_to(resolved):
            problems.append(f"approvals.{field}: {rel!r} points outside the repository")
        elif not target.is_file():
            problems.append(f"approvals.{field}: {rel!r} is not a file in {resolved}")
    return problems
