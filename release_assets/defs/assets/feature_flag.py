"""`feature_flag`: turn one declared feature flag on or off in one environment, on the record.

Partitioned by flag name (the dynamic partitions ``feature_flags``), so the UI shows each flag's
history on its own partition: who set it, where, from what to what, and why. The run config
names the environment, the wanted state (``on``/``off``) and the reason. The rules are
``release_assets.core.flags.decide`` (docs/feature-flags.md): a flag the live release does not
declare, a missing reason, or ON in the production environment without a passed flag canary for
its live release and artifact is refused (audit trail, an observation, nothing changed); OFF is
always allowed; setting the state a flag already has is recorded as a no-op.

Partitions rather than one config-driven asset: a flag's own partition is where its state
over time is read in the UI; the run config still carries the environment, so one partition
holds the flag's history across environments (each materialization's metadata gives the state
in every environment after the change).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from release_assets.config.release_config import ReleaseConfigError, parse_release_config
from release_assets.core.audit import AuditEvent, verify_chain
from release_assets.core.flags import FLAG_KEY, FLAG_STEP, FlagRequest, decide, state_word
from release_assets.defs.audit_log import actor_of, one_line
from release_assets.defs.partitions import feature_flags
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

NODE = "on_call__feature_flag"
"""The op name of the asset (its key is ``on_call/feature_flag``); the job is `feature_flag`."""


class FlagConfig(dg.Config):
    """``environment``: where to set the flag; ``state``: ``on`` or ``off``; ``reason``: why
    (recorded in the audit trail; required)."""

    environment: str
    state: str
    reason: str = ""


@dataclass(frozen=True)
class LiveFlags:
    """What an environment serves, as the flag rules read it: ``live_release`` (None: nothing
    live), its artifact ``digest`` (None: not in the environment's artifact store), the flag
    names its ``release.yaml`` declares, and the store's flags (name -> on)."""

    environment: str
    live_release: str | None
    digest: str | None
    declared: tuple[str, ...]
    states: dict[str, bool]


def live_flags(env: Environment) -> LiveFlags:
    """Read ``env``'s live release, its artifact digest, its declared flags and the flag
    store. Raises ReleaseConfigError when the live release's release.yaml does not parse, and
    the flag store's error (naming the store) when it cannot be read."""
    live = env.airflow.live_release()
    digest: str | None = None
    declared: tuple[str, ...] = ()
    if live is not None:
        manifest = env.artifacts.manifest(live)
        digest = manifest.digest if manifest is not None else None
        if manifest is not None:
            text = env.artifacts.read_file(live, "release.yaml").decode()
            config = parse_release_config(text, Path(f"{live}/release.yaml"))
            declared = tuple(f.name for f in config.feature_flags)
    return LiveFlags(env.name, live, digest, declared, env.flags.flags())


def _environments(context: dg.AssetExecutionContext, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(context.resources, f"env_{name}") for name in names}


def _record(
    context: dg.AssetExecutionContext,
    audit: AuditStore,
    config: FlagConfig,
    outcome: str,
    detail: str,
    live: LiveFlags | None,
    data: dict[str, str],
) -> None:
    audit.append(
        AuditEvent(
            action="refusal" if outcome == "refused" else "step",
            outcome=outcome,
            actor=actor_of(context),
            release=live.live_release if live else None,
            step=FLAG_STEP,
            environment=config.environment,
            digest=live.digest if live else None,
            run_id=context.run.run_id,
            detail=one_line(detail)[:1000],
            data={FLAG_KEY: context.partition_key, **data},
        )
    )


def _observe(context: dg.AssetExecutionContext, status: str, text: str, env: str) -> None:
    key = "refused" if status == "refused" else "unchanged"
    context.log_event(
        dg.AssetObservation(
            asset_key=context.asset_key,
            partition=context.partition_key,
            description=f"{status}: {text}",
            metadata={"status": status, key: text, "environment": env},
        )
    )


def _refuse(
    context: dg.AssetExecutionContext,
    audit: AuditStore,
    config: FlagConfig,
    why: str,
    live: LiveFlags | None,
) -> None:
    _record(context, audit, config, "refused", why, live, {"reason": config.reason})
    context.log.error(f"feature_flag refused: {why}")
    _observe(context, "refused", why, config.environment)


def build_feature_flag(environments: Sequence[str]) -> dg.AssetsDefinition:
    """The `feature_flag` asset for the deployment's ``environments`` (names, each bound as
    the resource ``env_<name>``; ``production`` is the environment that judges releases)."""
    names = tuple(environments)

    @dg.asset(
        name="feature_flag",
        key_prefix="on_call",
        group_name="on_call",
        partitions_def=feature_flags,
        required_resource_keys={"audit", "production", *(f"env_{n}" for n in names)},
        output_required=False,
        description="Set one feature flag in one environment (config: environment, state, "
        "reason); ON in production needs the flag's canary to have passed there.",
    )
    def feature_flag(
        context: dg.AssetExecutionContext, config: FlagConfig
    ) -> Iterator[dg.MaterializeResult[None]]:
        audit: AuditStore = context.resources.audit
        envs = _environments(context, names)
        flag, reason = context.partition_key, one_line(config.reason)
        config = FlagConfig(environment=config.environment, state=config.state, reason=reason)
        if config.environment not in envs:
            known = ", ".join(names)
            why = f"unknown environment {config.environment!r} (environments: {known})"
            _refuse(context, audit, config, why, None)
            return
        if config.state not in ("on", "off"):
            why = f"state {config.state!r} for {flag} in {config.environment}: use on or off"
            _refuse(context, audit, config, why, None)
            return
        env: Environment = envs[config.environment]
        try:
            live = live_flags(env)
        except ReleaseConfigError as exc:
            why = f"{config.environment}: the live release's {exc}".replace("\n", "; ")
            _refuse(context, audit, config, why, None)
            return
        request = FlagRequest(
            flag=flag,
            environment=env.name,
            enabled=config.state == "on",
            reason=reason,
            declared=live.declared,
            live_release=live.live_release,
            digest=live.digest,
            current=live.states.get(flag, False),
            judged=env.name == context.resources.production.name,
            stored=flag in live.states,
        )
        broken = verify_chain(audit.entries()) if request.enabled and request.judged else []
        if broken:  # evidence from an edited trail does not count (as for release steps)
            why = (
                f"turning {flag} in {env.name} on reads the flag canary from the audit trail at "
                f"{audit.location}, which is not intact ({broken[0]}); run "
                "`release-assets audit verify`"
            )
            _refuse(context, audit, config, why, live)
            return
        verdict, text = decide(request, audit.records())
        if verdict == "refuse":
            _refuse(context, audit, config, text, live)
            return
        change = {"reason": reason, "from": state_word(request.current), "to": config.state}
        if verdict == "unchanged":
            _record(context, audit, config, "unchanged", f"{text}: {reason}", live, change)
            context.log.info(text)
            _observe(context, "unchanged", text, env.name)
            return
        try:
            env.flags.set_flag(flag, request.enabled)
        except Exception as exc:  # the store's own one-line error names the store
            line = one_line(str(exc)) or type(exc).__name__
            _record(context, audit, config, "failed", line, live, change)
            raise dg.Failure(f"setting {flag} in {env.name} failed: {line}") from None
        _record(context, audit, config, config.state, f"{text}: {reason}", live, change)
        yield dg.MaterializeResult(metadata=_metadata(flag, config, request, live, envs))

    return feature_flag


def _metadata(
    flag: str,
    config: FlagConfig,
    request: FlagRequest,
    live: LiveFlags,
    envs: dict[str, Environment],
) -> dict[str, Any]:
    """What the UI shows for one change: the change itself, then the flag's state in every
    environment (``state/<environment>``) after it."""
    out: dict[str, Any] = {
        "flag": flag,
        "environment": config.environment,
        "state": config.state,
        "previous": state_word(request.current),
        "reason": config.reason,
        "live_release": live.live_release or "-",
    }
    for name, env in envs.items():
        try:
            out[f"state/{name}"] = state_word(env.flags.flags().get(flag, False))
        except Exception as exc:  # shown, not raised: the change itself was made
            out[f"state/{name}"] = f"unreadable ({type(exc).__name__})"
    return out
