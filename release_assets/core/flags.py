"""Turning a feature flag on or off in one environment: the rules, and the evidence they read.

A release ships a transformation dark behind a flag (``release.yaml`` ``feature_flags:``); the
flag is turned on per environment by an audited action (``defs/assets/feature_flag.py``,
``release-assets flag set``). The rules (docs/feature-flags.md):

- the flag must be declared by the release live in the environment;
- a reason is required;
- setting a flag to the state it has is a no-op that says so;
- OFF is always allowed (the way back must never wait for evidence), also for a flag the
  store holds that the live release no longer declares;
- ON in an environment that judges releases (production) needs a passed flag canary for this
  flag, in that environment, for its live release and that release's artifact digest.

The flag canary (built by the lead in ``defs``) appends one audit record per run, of this shape::

    AuditEvent(action="step", step="flag_canary", outcome="passed" | "failed",
               environment=<environment>, release=<the live release>,
               digest=<that release's artifact digest>, data={"flag": <flag name>}, ...)

The latest such record for (flag, environment, release) wins, as for release steps
(``core/evidence.py``): a failed canary after a pass takes the pass back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from release_assets.core.audit import AuditRecord
from release_assets.core.evidence import short_digest

FLAG_CANARY_STEP = "flag_canary"
"""The audit step of a flag canary run (see the module docstring for the record's shape)."""

FLAG_STEP = "feature_flag"
"""The audit step of a flag change (or a refused one)."""

FLAG_KEY = "flag"
"""``AuditEvent.data`` key naming the flag of a ``flag_canary`` or ``feature_flag`` record."""

State = Literal["on", "off"]


def state_word(enabled: bool) -> State:
    """``True`` -> ``"on"``, ``False`` -> ``"off"``."""
    return "on" if enabled else "off"


def latest_flag_canary(
    records: Sequence[AuditRecord], flag: str, environment: str, live_release: str
) -> AuditRecord | None:
    """The latest ``flag_canary`` record for ``flag`` in ``environment`` for ``live_release``
    (records in chain order), or None when the canary never ran for them."""
    found: AuditRecord | None = None
    for rec in records:
        ev = rec.event
        if (
            ev.action == "step"
            and ev.step == FLAG_CANARY_STEP
            and ev.environment == environment
            and ev.release == live_release
            and ev.data.get(FLAG_KEY) == flag
        ):
            found = rec
    return found


def flag_canary_passed(
    records: Sequence[AuditRecord],
    flag: str,
    environment: str,
    live_release: str,
    digest: str | None,
) -> bool:
    """Whether the latest flag canary of ``flag`` in ``environment`` for ``live_release``
    passed on the artifact ``digest`` (a pass on another digest, or with no digest recorded,
    does not count; ``digest`` None never passes)."""
    rec = latest_flag_canary(records, flag, environment, live_release)
    return (
        rec is not None
        and digest is not None
        and rec.event.outcome == "passed"
        and rec.event.digest == digest
    )


def canary_state(
    records: Sequence[AuditRecord],
    flag: str,
    environment: str,
    live_release: str,
    digest: str | None,
) -> str:
    """For people: ``passed``, ``not run``, ``failed`` (the latest record's outcome) or
    ``passed on sha256:<12> (not the live artifact)``."""
    rec = latest_flag_canary(records, flag, environment, live_release)
    if rec is None:
        return "not run"
    if rec.event.outcome != "passed":
        return rec.event.outcome
    if digest is None or rec.event.digest != digest:
        was = short_digest(rec.event.digest) if rec.event.digest else "no artifact"
        return f"passed on {was} (not the live artifact)"
    return "passed"


@dataclass(frozen=True)
class FlagRequest:
    """A request to set ``flag`` to ``enabled`` in ``environment`` with ``reason``.

    ``declared``: the flags the release live there declares (empty when nothing is live);
    ``live_release``/``digest``: that release and its artifact digest (None: nothing live or
    no artifact); ``current``: the flag's state in the store (absent: off); ``judged``: whether
    the environment judges releases (production); ``stored``: whether the store holds the flag
    (OFF is allowed for a stored flag even when the live release no longer declares it).
    """

    flag: str
    environment: str
    enabled: bool
    reason: str
    declared: tuple[str, ...]
    live_release: str | None
    digest: str | None
    current: bool
    judged: bool
    stored: bool = False


Decision = tuple[Literal["refuse", "unchanged", "set"], str]


def decide(request: FlagRequest, records: Sequence[AuditRecord]) -> Decision:
    """What to do with ``request`` given the audit ``records`` (chain order): ``("refuse",
    why)``, ``("unchanged", what)`` or ``("set", what)``; each text is one line naming the
    flag and the environment."""
    r = request
    where = f"{r.flag} in {r.environment}"
    # OFF must never wait: a flag the store holds can be turned off whatever is live.
    stored_off = r.stored and not r.enabled
    if r.live_release is None and not stored_off:
        return "refuse", (
            f"nothing is live in {r.environment}: flag {r.flag} is declared by no release there"
        )
    if r.flag not in r.declared and not stored_off:
        declared = ", ".join(r.declared) or "none"
        return "refuse", (
            f"flag {r.flag} is not declared by release {r.live_release}, live in "
            f"{r.environment} (its release.yaml feature_flags: {declared})"
        )
    if not r.reason:
        return "refuse", f"setting {where} needs a reason (it goes into the audit trail)"
    want, have = state_word(r.enabled), state_word(r.current)
    if r.enabled == r.current:
        return "unchanged", f"{where} is already {have}; nothing changed"
    live = r.live_release or ""  # ON with nothing live was refused above
    if (
        r.enabled
        and r.judged
        and not flag_canary_passed(records, r.flag, r.environment, live, r.digest)
    ):
        state = canary_state(records, r.flag, r.environment, live, r.digest)
        return "refuse", (
            f"turning {where} on needs a passed flag canary for release {live} "
            f"(artifact {short_digest(r.digest) if r.digest else 'unknown'}) in "
            f"{r.environment}; its canary: {state}"
        )
    return "set", f"{where}: {have} -> {want}"
