"""Feature flags after production goes back to other code (a rollback or a redeploy).

A flag turned on in production was judged (its flag canary) with the code live at the time. When
production goes back to other code, that judgement does not cover it: every flag that is on
without a passed flag canary for the release now live (on its artifact digest) is turned off,
each recorded in the audit trail as a ``feature_flag`` change by the same actor, so production
returns to the state its code was judged in (flags off: the path every release's own canary
compared). Turning a flag on again takes a passed ``flag canary`` for the release now live.
"""

import dagster as dg

from release_assets.core.audit import AuditEvent
from release_assets.core.flags import FLAG_KEY, FLAG_STEP, flag_canary_passed
from release_assets.defs.audit_log import actor_of, one_line
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment


def flags_off_without_canary(
    context: dg.AssetExecutionContext,
    audit: AuditStore,
    env: Environment,
    live: str,
    digest: str | None,
    why: str,
) -> list[str]:
    """Turn off (and record) each flag on in ``env`` whose canary has not passed for ``live``
    on ``digest``; returns the flags turned off, or one ``unreadable: ...`` line when the
    store cannot be read (logged as an error: the step that switched is done either way)."""
    try:
        states = env.flags.flags()
    except Exception as exc:  # the store's own one-line error names the store
        line = one_line(str(exc)) or type(exc).__name__
        context.log.error(f"feature flags of {env.name} not checked after the switch: {line}")
        return [f"unreadable: {line}"]
    records = audit.records()
    turned_off = []
    for flag, on in sorted(states.items()):
        if not on or flag_canary_passed(records, flag, env.name, live, digest):
            continue
        env.flags.set_flag(flag, False)
        detail = f"{flag} turned off: {why}; no flag canary has passed for {live}"
        audit.append(
            AuditEvent(
                action="step",
                outcome="off",
                actor=actor_of(context),
                release=live,
                step=FLAG_STEP,
                environment=env.name,
                digest=digest,
                run_id=context.run.run_id,
                detail=one_line(detail)[:1000],
                data={FLAG_KEY: flag, "from": "on", "to": "off", "reason": why},
            )
        )
        context.log.warning(detail)
        turned_off.append(flag)
    return turned_off
