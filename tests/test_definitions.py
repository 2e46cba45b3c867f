import dagster as dg

from release_assets.defs.definitions import defs
from release_assets.settings import settings


def test_definitions_load_and_validate() -> None:
    loaded = defs()
    dg.Definitions.validate_loadable(loaded)
    assert loaded.resources is not None
    expected = {"artifact_store"}
    for env in settings().environments:
        expected |= {f"airflow_{env.name}", f"warehouse_{env.name}"}
    assert expected <= set(loaded.resources)


def test_workspace_entry_point_loads_the_same_definitions() -> None:
    import definitions as entry

    assert entry.defs is defs
