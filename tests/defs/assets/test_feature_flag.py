"""`feature_flag`: one declared flag turned on or off in one environment, on the record; each
refusal says why, changes nothing, and is in the audit trail."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from release_assets.core.audit import AuditEvent
from release_assets.core.flags import FLAG_CANARY_STEP
from release_assets.defs.assets.feature_flag import NODE, build_feature_flag
from release_assets.defs.audit_log import ACTOR_TAG
from release_assets.defs.partitions import feature_flags
from release_assets.runtimes.flags.local_file import LocalFileFlags
from tests.fakes import PROD, STAGING, FakeWorld, bundle_files, failure_of, refusal_of

FLAG = "order_size_band"
ASSET = build_feature_flag([STAGING, PROD])
TABLES = {"marts.fct_orders": 10}
RELEASE_YAML = f"""
version: 1
project: northstar
owners: {{default: data@northstar.example, teams: {{commerce: commerce@northstar.example}}}}
airflow: {{version: "2.11.2"}}
feature_flags:
  - {{name: {FLAG}, description: fct_orders gains order_size_band, owner: commerce}}
"""


@pytest.fixture
def live(world: FakeWorld) -> FakeWorld:
    """v1 (declaring FLAG) live in staging and prod; each environment's flags in a JSON file
    of the test."""
    record = world.add_release("v1", bundle=False)
    files = {**bundle_files("v1", record.dag_ids), "release.yaml": RELEASE_YAML.encode()}
    world.store().put_files("v1", files)
    for env in (STAGING, PROD):
        world.seed_live(env, "v1", TABLES)
    for env in (STAGING, PROD):
        bound = world.environment(env).model_copy(update={"flags": flags(world, env)})
        world.overrides[f"env_{env}"] = bound
        if env == PROD:
            world.overrides["production"] = bound
    return world


def flags(world: FakeWorld, env: str) -> LocalFileFlags:
    return LocalFileFlags(environment=env, path=str(world.root / "flags" / f"{env}.json"))


def set_flag(
    world: FakeWorld,
    instance: dg.DagsterInstance,
    environment: str,
    state: str,
    reason: str = "shipping the size band",
    flag: str = FLAG,
) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions(feature_flags.name or "", [flag])
    config = {"environment": environment, "state": state, "reason": reason}
    return dg.materialize(
        [ASSET],
        partition_key=flag,
        instance=instance,
        resources=world.resources(),
        raise_on_error=False,
        tags={ACTOR_TAG: "olivia"},
        run_config={"ops": {NODE: {"config": config}}},
    )


def canary_passed(world: FakeWorld, environment: str = PROD, release: str = "v1") -> None:
    """What the lead's flag canary appends when it passes (core.flags docstring)."""
    manifest = world.store().manifest(release)
    assert manifest is not None
    world.audit.append(
        AuditEvent(
            action="step",
            outcome="passed",
            actor="test",
            step=FLAG_CANARY_STEP,
            environment=environment,
            release=release,
            digest=manifest.digest,
            data={"flag": FLAG},
        )
    )


def last_canary_failed(world: FakeWorld) -> AuditEvent:
    event = world.audit.records()[-1].event
    return AuditEvent(
        action="step",
        outcome="failed",
        actor="test",
        step=FLAG_CANARY_STEP,
        environment=PROD,
        release="v1",
        digest=event.digest,
        data={"flag": FLAG},
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    (mat,) = result.asset_materializations_for_node(NODE)
    return {k: v.value for k, v in mat.metadata.items()}


def last_event(world: FakeWorld) -> AuditEvent:
    return world.audit.records()[-1].event


def test_on_in_staging_is_set_recorded_and_shown_per_environment(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    result = set_flag(live, instance, STAGING, "on")

    assert result.success
    assert flags(live, STAGING).flags() == {FLAG: True}
    assert flags(live, PROD).flags() == {}
    meta = metadata(result)
    assert (meta["environment"], meta["previous"], meta["state"]) == (STAGING, "off", "on")
    assert (meta[f"state/{STAGING}"], meta[f"state/{PROD}"]) == ("on", "off")
    ev = last_event(live)
    assert (ev.action, ev.step, ev.outcome, ev.actor, ev.environment, ev.release) == (
        "step",
        "feature_flag",
        "on",
        "olivia",
        STAGING,
        "v1",
    )
    assert (ev.data["flag"], ev.data["from"], ev.data["to"]) == (FLAG, "off", "on")
    assert ev.data["reason"] == "shipping the size band"


def test_on_in_prod_without_a_passed_flag_canary_is_refused(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    result = set_flag(live, instance, PROD, "on")

    why = refusal_of(result, NODE)
    assert why.startswith(
        f"turning {FLAG} in prod on needs a passed flag canary for release v1 (artifact "
    )
    assert why.endswith("in prod; its canary: not run")
    assert flags(live, PROD).flags() == {}
    ev = last_event(live)
    assert (ev.action, ev.outcome, ev.step, ev.environment, ev.data["flag"]) == (
        "refusal",
        "refused",
        "feature_flag",
        PROD,
        FLAG,
    )


def test_a_canary_passed_in_staging_does_not_open_prod(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    canary_passed(live, environment=STAGING)

    assert "its canary: not run" in refusal_of(set_flag(live, instance, PROD, "on"), NODE)


def test_on_then_off_in_prod_round_trip_off_needs_no_canary(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    canary_passed(live)

    assert set_flag(live, instance, PROD, "on").success
    assert flags(live, PROD).flags() == {FLAG: True}
    # a later failed canary does not hold back the way back
    live.audit.append(last_canary_failed(live))
    off = set_flag(live, instance, PROD, "off", reason="late orders look wrong")

    assert metadata(off)["state"] == "off"
    assert flags(live, PROD).flags() == {FLAG: False}
    outcomes = [
        (r.event.outcome, r.event.data.get("reason"))
        for r in live.audit.records()
        if r.event.step == "feature_flag"
    ]
    assert outcomes == [("on", "shipping the size band"), ("off", "late orders look wrong")]


def test_setting_the_state_a_flag_has_is_a_recorded_no_op(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    result = set_flag(live, instance, STAGING, "off")

    assert result.success and not result.asset_materializations_for_node(NODE)
    assert last_event(live).outcome == "unchanged"
    assert "already off; nothing changed" in last_event(live).detail
    assert flags(live, STAGING).flags() == {}


def test_a_flag_the_live_release_does_not_declare_is_refused(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    result = set_flag(live, instance, STAGING, "on", flag="faster_joins")

    assert refusal_of(result, NODE) == (
        "flag faster_joins is not declared by release v1, live in staging "
        f"(its release.yaml feature_flags: {FLAG})"
    )
    assert flags(live, STAGING).flags() == {}


def test_a_missing_reason_is_refused(live: FakeWorld, instance: dg.DagsterInstance) -> None:
    result = set_flag(live, instance, STAGING, "on", reason="  ")

    assert refusal_of(result, NODE) == (
        f"setting {FLAG} in staging needs a reason (it goes into the audit trail)"
    )


def test_an_unknown_environment_is_refused_naming_the_known_ones(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    result = set_flag(live, instance, "qa", "on")

    assert refusal_of(result, NODE) == "unknown environment 'qa' (environments: staging, prod)"


def test_nothing_live_is_refused(world: FakeWorld, instance: dg.DagsterInstance) -> None:
    result = set_flag(world, instance, STAGING, "on")

    assert refusal_of(result, NODE) == (
        f"nothing is live in staging: flag {FLAG} is declared by no release there"
    )


def test_an_unreadable_flag_store_fails_naming_the_file(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    store = Path(flags(live, STAGING).path)
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("{not json")

    result = set_flag(live, instance, STAGING, "on")

    assert not result.success
    assert f"{store}: not valid JSON" in failure_of(result, NODE)


def test_a_flag_canary_forged_in_an_edited_trail_does_not_open_prod(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    canary_passed(live)
    live.audit.append(last_canary_failed(live))
    # Someone with write access to the store turns the failed canary record into a pass.
    (record,) = [p for p in Path(live.audit.root).glob("*.json") if '"failed"' in p.read_text()]
    os.chmod(record, 0o644)
    data = json.loads(record.read_text())
    data["event"]["outcome"] = "passed"
    record.write_text(json.dumps(data))

    why = refusal_of(set_flag(live, instance, PROD, "on"), NODE)

    assert "not intact" in why and why.startswith(f"turning {FLAG} in prod on reads the flag")
    assert flags(live, PROD).flags() == {}
