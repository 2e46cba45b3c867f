"""The FlagStore contract, run against every implementation that keeps flags outside the
process: the local JSON file and SSM Parameter Store (moto in server mode)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from release_assets.config.aws_service_specs import SsmFlagsSpec
from release_assets.runtimes.flags.base import FlagStore
from release_assets.runtimes.flags.local_file import LocalFileFlags
from release_assets.runtimes.flags.ssm import SsmFlagStore
from tests.aws_server import MotoServer


@dataclass(frozen=True)
class Backend:
    """``store(environment)`` makes a new store object over the same storage; ``plant(env,
    flag, raw)`` writes a raw value behind the store's back; ``location(env, flag)`` is how
    messages name that flag's place."""

    store: Callable[[str], FlagStore]
    plant: Callable[[str, str, str], None]
    location: Callable[[str, str], str]


def _local(tmp_path: Path) -> Backend:
    def path(env: str) -> Path:
        return tmp_path / "flags" / f"{env}.json"

    def plant(env: str, flag: str, raw: str) -> None:
        path(env).parent.mkdir(parents=True, exist_ok=True)
        path(env).write_text(json.dumps({flag: raw}))

    return Backend(
        store=lambda env: LocalFileFlags(environment=env, path=str(path(env))),
        plant=plant,
        location=lambda env, flag: str(path(env)),
    )


def _ssm(server: MotoServer) -> Backend:
    spec = SsmFlagsSpec(kind="ssm", aws=server.spec, prefix=f"/{server.unique('flags')}")
    ssm = server.clients.client("ssm")

    def plant(env: str, flag: str, raw: str) -> None:
        name = f"{spec.prefix}/{env}/{flag}"
        ssm.put_parameter(Name=name, Value=raw, Type="String", Overwrite=True)

    return Backend(
        store=lambda env: SsmFlagStore.of(spec, env),
        plant=plant,
        location=lambda env, flag: f"{spec.prefix}/{env}/{flag}",
    )


@pytest.fixture(params=["local_file", "ssm"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local_file":
        return _local(tmp_path)
    return _ssm(request.getfixturevalue("moto_server"))


def test_a_new_store_has_no_flags(backend: Backend) -> None:
    assert backend.store("prod").flags() == {}


def test_a_flag_set_is_read_back_by_another_store_object(backend: Backend) -> None:
    backend.store("prod").set_flag("new_revenue_model", True)
    backend.store("prod").set_flag("legacy_export", False)
    assert backend.store("prod").flags() == {"legacy_export": False, "new_revenue_model": True}


def test_setting_a_flag_overwrites_it_and_is_idempotent(backend: Backend) -> None:
    store = backend.store("prod")
    store.set_flag("new_revenue_model", True)
    store.set_flag("new_revenue_model", False)
    store.set_flag("new_revenue_model", False)
    assert store.flags() == {"new_revenue_model": False}


def test_environments_do_not_share_flags(backend: Backend) -> None:
    backend.store("staging").set_flag("new_revenue_model", True)
    assert backend.store("prod").flags() == {}
    assert backend.store("staging").flags() == {"new_revenue_model": True}


def test_more_flags_than_one_page_are_all_listed(backend: Backend) -> None:
    store = backend.store("prod")
    for i in range(12):  # SSM answers 10 parameters per page
        store.set_flag(f"flag_{i:02d}", i % 2 == 0)
    assert store.flags() == {f"flag_{i:02d}": i % 2 == 0 for i in range(12)}


def test_a_value_that_is_not_a_boolean_is_refused_naming_where_it_is(backend: Backend) -> None:
    backend.plant("prod", "new_revenue_model", "yes")
    with pytest.raises(ValueError) as info:
        backend.store("prod").flags()
    assert backend.location("prod", "new_revenue_model") in str(info.value)
    assert "\n" not in str(info.value)
