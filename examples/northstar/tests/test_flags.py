"""Feature flags as the DAGs and dbt read them: the store the platform names (a JSON file, SSM),
off when absent, a store that cannot be read fails naming it, a canary's overrides only with a
schema suffix, and fct_orders with the flag off (exactly as before) and on (one more column)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import duckdb
import pytest
from botocore.stub import Stubber
from support import Sources
from test_dbt_project import run_dbt, write_positions

from northstar_common.commands import dbt_env
from northstar_common.flags import (
    FlagConfError,
    FlagStoreError,
    feature_flags,
    flag_enabled,
)
from northstar_common.loaders import (
    LoadRun,
    load_inventory_drop,
    load_orders_extract,
    upsert_customers,
)
from northstar_common.settings import Settings, SettingsError
from northstar_common.warehouse import connect

VARIABLES = {
    "release_env": "prod",
    "warehouse_path": "/data/warehouse.duckdb",
    "source_root": "/data/sources",
    "lake_root": "/data/lake",
    "scratch_root": "/scratch",
}
FLAG = "order_size_band"


def settings(uri: str) -> Settings:
    return Settings.from_mapping({**VARIABLES, "feature_flags_uri": uri})


def context(conf: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"dag_run": SimpleNamespace(conf=conf or {})}


def file_store(tmp_path: Path, flags: dict[str, bool]) -> str:
    path = tmp_path / "prod" / "feature_flags.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(flags))
    return path.as_uri()


def test_the_file_store_is_read_and_an_absent_flag_is_off(tmp_path: Path) -> None:
    current = settings(file_store(tmp_path, {FLAG: True, "other": False}))

    assert feature_flags(context(), current) == {FLAG: True, "other": False}
    assert flag_enabled(context(), current, FLAG)
    assert not flag_enabled(context(), current, "never_declared")
    # no file yet (nothing was ever set), or no store named at all: every flag off
    assert feature_flags(context(), settings((tmp_path / "none.json").as_uri())) == {}
    assert feature_flags(context(), Settings.from_mapping(VARIABLES)) == {}


def test_an_unreadable_file_store_fails_naming_it(tmp_path: Path) -> None:
    uri = file_store(tmp_path, {})
    Path(uri.removeprefix("file://")).write_text("{not json")

    with pytest.raises(FlagStoreError) as info:
        feature_flags(context(), settings(uri))

    assert str(info.value).startswith(f"feature flag store {uri} cannot be read: ")
    assert "\n" not in str(info.value)


def test_a_store_uri_of_another_kind_is_refused_by_the_settings() -> None:
    with pytest.raises(SettingsError) as info:
        settings("s3://b/flags.json")

    assert str(info.value).startswith("feature_flags_uri='s3://b/flags.json' is neither")


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """boto3's SSM client with botocore's Stubber: the calls the helper makes, answered here."""
    client = boto3.client(
        "ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(boto3, "client", lambda service, **_: client)
    with Stubber(client) as stubber:
        yield stubber


def test_the_ssm_store_reads_every_flag_under_the_path(ssm: Stubber) -> None:
    ssm.add_response(
        "get_parameters_by_path",
        {
            "Parameters": [
                {"Name": f"/northstar/flags/prod/{FLAG}", "Type": "String", "Value": "true"},
                {"Name": "/northstar/flags/prod/other", "Type": "String", "Value": "false"},
            ]
        },
        {"Path": "/northstar/flags/prod", "Recursive": False},
    )

    flags = feature_flags(context(), settings("ssm:///northstar/flags/prod"))

    assert flags == {FLAG: True, "other": False}


def test_an_unreachable_ssm_store_fails_naming_it(ssm: Stubber) -> None:
    ssm.add_client_error(
        "get_parameters_by_path", "AccessDeniedException", "not allowed to read the flags"
    )

    with pytest.raises(FlagStoreError) as info:
        feature_flags(context(), settings("ssm:///northstar/flags/prod"))

    message = str(info.value)
    assert message.startswith("feature flag store ssm:///northstar/flags/prod cannot be read: ")
    assert "AccessDeniedException" in message


def test_conf_overrides_count_only_in_a_canary_run(tmp_path: Path) -> None:
    current = settings(file_store(tmp_path, {FLAG: False}))
    override = {"feature_flags": {FLAG: True}}

    # a live run triggered with the conf still reads the store
    assert feature_flags(context(override), current) == {FLAG: False}
    canary = {**override, "schema_suffix": "__flag_canary"}
    assert feature_flags(context(canary), current) == {FLAG: True}
    with pytest.raises(FlagConfError, match="must map flag names to true/false"):
        feature_flags(context({"feature_flags": {FLAG: "yes"}, "schema_suffix": "__c"}), current)


def test_dbt_gets_the_flags_with_the_suffix_in_one_vars_argument() -> None:
    env = dbt_env(Settings.from_mapping(VARIABLES), "__c", "dbt_build", "r1", {FLAG: True})

    assert json.loads(env["NORTHSTAR_DBT_VARS"]) == {
        "schema_suffix": "__c",
        "release_suffix": "",
        "source_suffix": "",
        "feature_flags": {FLAG: True},
    }


def test_fct_orders_holds_a_null_band_with_the_flag_off_and_the_band_with_it_on(
    sources: Sources, tmp_path: Path
) -> None:
    warehouse, lake = tmp_path / "warehouse.duckdb", tmp_path / "lake"
    with connect(warehouse) as con:
        run = LoadRun(date(2026, 11, 1), "v-test", "staging", "test", "run")
        load_orders_extract(con, sources.root, run)
        upsert_customers(con, sources.root, run)
        load_inventory_drop(con, sources.root, run)
        write_positions(lake, con)
    env = {"NORTHSTAR_DUCKDB_PATH": str(warehouse), "NORTHSTAR_LAKE_ROOT": str(lake)}
    select = ("--select", "+fct_orders", "--indirect-selection", "cautious")

    off = {"schema_suffix": "__off", "feature_flags": {}}
    run_dbt("build", tmp_path / "off", env, "--vars", json.dumps(off), *select)
    on = {"schema_suffix": "__on", "feature_flags": {FLAG: True}}
    run_dbt("build", tmp_path / "on", env, "--vars", json.dumps(on), *select)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = {
            schema: [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                    "AND table_name = 'fct_orders' ORDER BY ordinal_position",
                    [schema],
                ).fetchall()
            ]
            for schema in ("marts__off", "marts__on")
        }
        bands = {
            schema: con.execute(
                f"SELECT DISTINCT order_size_band FROM {schema}.fct_orders ORDER BY 1"
            ).fetchall()
            for schema in ("marts__off", "marts__on")
        }
        others = [c for c in columns["marts__off"] if c != FLAG]
        same = con.execute(
            f"SELECT count(*) FROM (SELECT {', '.join(others)} FROM marts__off.fct_orders EXCEPT "
            f"SELECT {', '.join(others)} FROM marts__on.fct_orders)"
        ).fetchone()
    # The contracted column is there either way (the contract stays enforced); dark = null.
    assert columns["marts__on"] == columns["marts__off"] and FLAG in columns["marts__off"]
    assert bands["marts__off"] == [(None,)]
    assert {b[0] for b in bands["marts__on"]} <= {"small", "medium", "large"}
    assert bands["marts__on"]
    assert same == (0,)
