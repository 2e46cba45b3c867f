"""The evidence a step needs before it may change an environment, read from the audit trail.

Every release step appends its outcome to the hash-chained audit trail (``core/audit.py``);
a step that changes an environment first reads the release's own records back and refuses
unless each earlier step it depends on passed, for this release, on the artifact digest it is
about to deploy. The evidence is the audit trail, not Dagster's event log: a materialization
or check result reported by hand in the UI (or through the GraphQL API) does not count, and a
re-run that passes after a failure does (the latest record of a step wins).

The order of the steps is the release graph's (docs/release-graph.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from release_assets.core.audit import AuditRecord

GATES_STEP = "validation_gates"
"""The step name under which the validation gates' verdicts are recorded (one record per run
of the gates, ``gates`` mapping each gate to its verdict)."""

RELEASE_STEPS: tuple[str, ...] = (
    GATES_STEP,
    "release_artifact",
    "staging_deployment",
    "staging_integration_run",
    "canary_publish",
    "regression_check",
    "approval",
    "prod_swap",
)
"""The release graph in order; each step needs every step before it to have passed."""

STEP_ACTIONS = frozenset({"step", "gate"})


class EvidenceMissing(Exception):
    """A step was asked to change an environment for a release whose earlier evidence is
    missing, failed or was made with another artifact. ``str()`` is one line naming the step,
    the release and each missing or failed piece of evidence."""

    def __init__(self, step: str, release: str, problems: Sequence[str]) -> None:
        self.step = step
        self.release = release
        self.problems = list(problems)
        super().__init__(
            f"{step} refused for release {release}: "
            + "; ".join(self.problems)
            + "; nothing was changed"
        )


@dataclass(frozen=True)
class Evidence:
    """The latest record of each step of one release (step name -> record)."""

    release: str
    latest: dict[str, AuditRecord]

    def passed(self, step: str) -> bool:
        """Whether the latest record of ``step`` is a pass."""
        rec = self.latest.get(step)
        return rec is not None and rec.event.outcome == "passed"


def release_evidence(records: Sequence[AuditRecord], release: str) -> Evidence:
    """The latest step/gate record per step of ``release`` (records in chain order)."""
    latest: dict[str, AuditRecord] = {}
    for rec in records:
        ev = rec.event
        if ev.release == release and ev.action in STEP_ACTIONS and ev.step:
            latest[ev.step] = rec
    return Evidence(release, latest)


def needed_before(step: str) -> tuple[str, ...]:
    """The steps whose pass ``step`` needs: every step before it in ``RELEASE_STEPS``.
    Raises KeyError for a step that is not part of the release graph."""
    return RELEASE_STEPS[: RELEASE_STEPS.index(step)]


def short_digest(digest: str) -> str:
    """``sha256:<64 hex>`` -> ``sha256:<first 12 hex>`` (other digests: their first 12)."""
    algo, _, value = digest.rpartition(":")
    return f"{algo}:{value[:12]}" if algo else value[:12]


RECORD_KEY = "record"
"""``AuditEvent.data`` key holding the fingerprint of the release record a step ran with."""


def _problem(
    evidence: Evidence, step: str, commit: str, digest: str | None, fingerprint: str | None
) -> str | None:
    rec = evidence.latest.get(step)
    if rec is None:
        return f"{step} has not run for this release"
    ev = rec.event
    when = rec.time.strftime("%Y-%m-%d %H:%M:%S UTC")
    if ev.outcome != "passed":
        failed = [f"{g} {v}" for g, v in sorted(ev.gates.items()) if v not in ("passed", "skipped")]
        what = f" ({', '.join(failed)})" if failed else (f" ({ev.detail})" if ev.detail else "")
        return f"{step} {ev.outcome} at {when}{what}"
    if ev.commit and ev.commit != commit:
        return f"{step} passed for commit {ev.commit[:10]}, but the release is {commit[:10]}"
    made_for = ev.data.get(RECORD_KEY)
    if fingerprint is not None and made_for is not None and made_for != fingerprint:
        return (
            f"{step} passed for an earlier release record (release_candidate was "
            "re-materialized since: its base or change set differ)"
        )
    if digest is not None and ev.digest and ev.digest != digest:
        return f"{step} passed with artifact {short_digest(ev.digest)}"
    return None


def require_evidence(
    records: Sequence[AuditRecord],
    release: str,
    commit: str,
    digest: str | None,
    step: str,
    needs: Sequence[str] | None = None,
    early: Sequence[str] = (),
    fingerprint: str | None = None,
) -> Evidence:
    """Refuse ``step`` for ``release`` unless every needed step passed.

    ``needs`` defaults to every step before ``step`` in the release graph, plus ``early``
    (the deployment steps of environments before integration) for every step after the
    artifact. With ``fingerprint`` (``ReleaseRecord.fingerprint``), a pass recorded for
    another version of the release record does not count. A needed step must
    have passed in its latest record, for ``commit`` (the release's commit) and, where it
    recorded one, for ``digest`` (the artifact about to be deployed; None skips that
    comparison). Returns the evidence; raises ``EvidenceMissing`` naming every problem.
    """
    evidence = release_evidence(records, release)
    wanted = needed_before(step) if needs is None else tuple(needs)
    if needs is None and RELEASE_STEPS.index(step) > RELEASE_STEPS.index("release_artifact"):
        wanted = (*wanted[:2], *early, *wanted[2:])
    problems = [
        p for s in wanted if (p := _problem(evidence, s, commit, digest, fingerprint)) is not None
    ]
    other = [
        p.split(" passed with artifact ")[0] for p in problems if " passed with artifact " in p
    ]
    if other:
        was = next(p for p in problems if " passed with artifact " in p).rsplit(" ", 1)[1]
        problems = [p for p in problems if " passed with artifact " not in p]
        problems.append(
            f"{', '.join(other)} passed with artifact {was}, but the artifact is now "
            f"{short_digest(digest or '')}"
        )
    if problems:
        raise EvidenceMissing(step, release, problems)
    return evidence
