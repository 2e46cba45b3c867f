"""The dbt gate builds the selected models on a scratch warehouse whose sources have their
declared schemas (issue 10, kind 8), and a project dbt cannot load is a finding naming the
models from dbt's own lines (kind 4). Slow tests run the repository's own dbt."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from release_assets.config import ReleaseConfigError, load_release_config
from release_assets.core.dbt_cli import DbtError, error_entries, run_dbt
from release_assets.validation.inputs.dbt_results import outcome_of
from release_assets.validation.inputs.dbt_runs import DbtProject
from release_assets.validation.runner import run_gate
from tests.validation.conftest import MakeContext

STG_ORDERS = "dbt/models/staging/stg_orders.sql"
STAGING_YML = "dbt/models/staging/_staging.yml"
DISABLED_LINE = (
    "Model 'model.northstar.fct_orders' (models/marts/fct_orders.sql) depends on a node named "
    "'stg_orders' which is disabled"
)
BINDER = (
    "Runtime Error in model stg_orders (models/staging/stg_orders.sql)\n"
    '  Binder Error: Referenced column "amout" not found in FROM clause!\n'
    '  Candidate bindings: "amount"\n\n  LINE 28:     amout / 100 as amount,\n'
)
# The repository's synthetic data as a release.yaml command: generated extracts loaded with
# the DAGs' own loaders, and a stand-in for the Spark job's lake output.
LOADER = '''"""Fill a warehouse with two days of generated sources (the ingestion DAGs' loaders)."""
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_sources import generate
from northstar_common.loaders import (
    LoadRun, load_inventory_drop, load_orders_extract, upsert_customers,
)
from northstar_common.warehouse import connect

warehouse, sources, lake = (Path(a) for a in sys.argv[1:4])
generate(sources, date(2026, 11, 1), 2, 40, seed=11)
with connect(warehouse) as con:
    for day in (1, 2):
        run = LoadRun(date(2026, 11, day), "synthetic", "validation", "synthetic", "run")
        load_orders_extract(con, sources, run)
        load_inventory_drop(con, sources, run)
    upsert_customers(con, sources, run)
    out = lake / "inventory_positions" / "as_of=2026-11-02"
    out.mkdir(parents=True)
    con.execute(
        "COPY (SELECT store_id, sku, sum(quantity)::BIGINT AS on_hand_qty, 0::BIGINT AS units_in,"
        " 0::BIGINT AS units_out, count(*)::BIGINT AS movement_count,"
        " max(movement_ts) AS last_movement_ts, 'synthetic' AS _release_id"
        " FROM raw.inventory_movements GROUP BY ALL)"
        f" TO '{out / 'part-0.parquet'}' (FORMAT parquet)"
    )
'''
SYNTHETIC = (
    "  synthetic_data:\n"
    "    command: python tools/load_synthetic.py {warehouse_path} {source_root} {lake_root}\n"
)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _disable_stg_orders(repo: Path) -> None:
    _edit(
        repo / STAGING_YML,
        "  - name: stg_orders\n",
        "  - name: stg_orders\n    config:\n      enabled: false\n",
    )


# -- fast ------------------------------------------------------------------------------------


def test_dbt_error_keeps_dbt_own_lines(tmp_path: Path) -> None:
    """dbt's line naming both models used to be dropped (it does not say "error")."""
    log = tmp_path / "logs" / "dbt.log"
    log.parent.mkdir()
    log.write_text(
        "14:27:14.886 [info ] [MainThread]: Running with dbt=1.7.9\n"
        "14:27:25.635 [error] [MainThread]: Encountered an error:\n"
        f"Compilation Error\n  {DISABLED_LINE}\n"
        "14:27:25.641 [debug] [MainThread]: Command `dbt parse` failed\n"
    )
    [entry] = error_entries(log)
    assert DISABLED_LINE in entry
    fake_dbt = tmp_path / "dbt"
    fake_dbt.write_text(f"#!/bin/sh\necho 'x'\nmkdir -p {log.parent}\nexit 2\n")
    fake_dbt.chmod(0o755)
    with pytest.raises(DbtError) as caught:
        run_dbt(["parse"], tmp_path, tmp_path, "duckdb", {}, tmp_path, dbt=fake_dbt)
    assert caught.value.errors == [entry] and caught.value.dbt_version == "1.7.9"
    assert DISABLED_LINE in str(caught.value).splitlines()[0]


def test_dbt_crashing_with_a_traceback_is_one_entry_naming_the_exception(tmp_path: Path) -> None:
    # dbt-core 1.7 with a protobuf it cannot work with crashes before logging an error entry.
    fake_dbt = tmp_path / "dbt"
    fake_dbt.write_text(
        "#!/bin/sh\necho 'Traceback (most recent call last):'\n"
        "echo '  File \"dbt/cli/main.py\", line 9, in <module>'\necho '    ^^^^^^'\n"
        "echo \"TypeError: MessageToJson() got an unexpected keyword argument 'x'\"\nexit 1\n"
    )
    fake_dbt.chmod(0o755)
    with pytest.raises(DbtError) as caught:
        run_dbt(["parse"], tmp_path, tmp_path, "duckdb", {}, tmp_path, dbt=fake_dbt)
    assert caught.value.errors == [
        "dbt crashed: TypeError: MessageToJson() got an unexpected keyword argument 'x'"
    ]


def test_binder_error_names_model_column_and_source_line(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "dbt/models/staging").mkdir(parents=True)
    (repo / STG_ORDERS).write_text("select\n    order_id,\n    amout / 100 as amount\nfrom src\n")
    node = {"name": "stg_orders", "original_file_path": "models/staging/stg_orders.sql"}
    manifest: dict[str, Any] = {"nodes": {"model.p.stg_orders": node}}
    results = [{"unique_id": "model.p.stg_orders", "status": "error", "message": BINDER}]
    origins = {"model.p.stg_orders": {"commerce.orders": "contracts/orders.yaml"}}
    [finding] = outcome_of(manifest, results, DbtProject(repo, "dbt"), {}, origins).findings
    assert (finding.file, finding.line, finding.obj) == (STG_ORDERS, 3, "column:stg_orders.amout")
    assert 'Referenced column "amout" not found' in finding.message
    assert "in model stg_orders (models/staging/stg_orders.sql)" in finding.message
    assert "LINE 28" not in finding.message
    assert finding.fix and "contracts/orders.yaml" in finding.fix


def test_synthetic_data_setting_is_checked(northstar_copy: Path) -> None:
    release = northstar_copy / "release.yaml"
    _edit(release, "  env:\n", SYNTHETIC + "  env:\n")
    config = load_release_config(northstar_copy)
    assert config.dbt is not None and config.dbt.synthetic_data is not None
    assert config.dbt.synthetic_data.render(
        {"warehouse_path": "/w", "source_root": "/s", "lake_root": "/l"}
    )[2:] == ["/w", "/s", "/l"]
    _edit(release, "{lake_root}", "{lake}")
    with pytest.raises(ReleaseConfigError, match="unknown placeholder"):
        load_release_config(northstar_copy)


# -- slow: the repository's dbt --------------------------------------------------------------


@pytest.mark.slow
def test_a_disabled_model_still_referenced_names_both_models(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    """Kind 4, full mode and PR mode (dbt could not list state:modified: every model)."""
    _disable_stg_orders(northstar_copy)
    sql = (northstar_copy / "dbt/models/marts/fct_orders.sql").read_text().splitlines()
    ref_line = next(n for n, text in enumerate(sql, 1) if "ref('stg_orders')" in text)
    full = run_gate("dbt", make_context(northstar_copy))
    pull = run_gate("dbt", make_context(northstar_copy, changed_files=[STAGING_YML]))
    for result in (full, pull):
        assert result.crashed is None
        [finding] = result.findings
        assert (finding.file, finding.obj, finding.rule) == (
            "dbt/models/marts/fct_orders.sql",
            "model:fct_orders",
            "dbt-parse",
        )
        assert DISABLED_LINE in finding.message
        assert finding.line == ref_line and finding.fix and "enable stg_orders" in finding.fix
        assert any(n.startswith("dbt 1.11.16 ran (") for n in result.notes), result.notes
    # Other gates reading the manifest get dbt's lines, not a traceback.
    ctx = make_context(northstar_copy)
    with pytest.raises(DbtError, match="which is disabled"):
        ctx.manifest()


@pytest.mark.slow
def test_an_unknown_column_fails_the_build_naming_model_and_column(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    """Kind 8 in PR mode (a misspelled column), and its sibling in full mode (a column the
    source contract no longer has, still selected by a staging model)."""
    base = tmp_path / "base"
    shutil.copytree(northstar_copy, base)
    _edit(
        northstar_copy / STG_ORDERS,
        "    shipping_amount,",
        "    shiping_amount as shipping_amount,",
    )
    downstream = ["stg_orders", "fct_orders", "dim_customers", "fct_daily_revenue"]
    pull = run_gate(
        "dbt",
        make_context(northstar_copy, [STG_ORDERS], base_repo=base, dbt_modified=downstream),
    )
    [finding] = pull.errors
    assert (finding.file, finding.line, finding.obj) == (
        STG_ORDERS,
        27,
        "column:stg_orders.shiping_amount",
    )
    assert 'Binder Error: Referenced column "shiping_amount" not found' in finding.message
    assert any("not built because a node above failed" in n for n in pull.notes)

    shutil.copy(base / STG_ORDERS, northstar_copy / STG_ORDERS)
    _edit(
        northstar_copy / "contracts/orders.yaml",
        '  - {name: shipping_amount, type: "decimal(10,2)", nullable: false}\n',
        "",
    )
    full = run_gate("dbt", make_context(northstar_copy))
    [finding] = full.errors
    assert (finding.file, finding.obj) == (STG_ORDERS, "column:stg_orders.shipping_amount")
    assert finding.fix and "contracts/orders.yaml" in finding.fix
    assert any("no synthetic data configured" in n for n in full.notes)


@pytest.mark.slow
def test_data_tests_run_on_the_repository_synthetic_data(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    """A change that only shows with rows: accepted_values on stg_orders.channel."""
    (northstar_copy / "tools/load_synthetic.py").write_text(LOADER)
    _edit(northstar_copy / "release.yaml", "  env:\n", SYNTHETIC + "  env:\n")
    _edit(northstar_copy / STG_ORDERS, "lower(channel) as channel", "upper(channel) as channel")
    result = run_gate("dbt", make_context(northstar_copy))
    found = {f.obj: f for f in result.errors}
    assert set(found) == {"column:stg_orders.channel"}, result.errors
    channel = found["column:stg_orders.channel"]
    assert (channel.file, channel.rule) == (STAGING_YML, "dbt-data-test")
    assert channel.line is not None and "accepted_values" in channel.message
    assert any("ran on the synthetic data" in n for n in result.notes), result.notes
    assert any("node above failed: " in n and "fct_orders" in n for n in result.notes)
    assert not any("cannot be created offline" in n for n in result.notes), result.notes
