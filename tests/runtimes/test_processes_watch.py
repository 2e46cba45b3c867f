"""`processes.watch`: a wait that says where it is at least every 15 s and, when it runs out,
what it waited for and what it saw. A fake clock: no real waiting, no timing asserted."""

from __future__ import annotations

import itertools

import pytest

from release_assets.runtimes import processes


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "a wait must never spin"
        self.now += seconds


def test_a_long_unchanged_wait_says_where_it_is_at_least_every_15_seconds() -> None:
    clock = FakeClock()
    said: list[tuple[float, str]] = []

    def observe() -> tuple[bool, str]:
        return clock.now >= 100, "run 1a2b3c4d STARTED, step prod_swap"

    seen = processes.watch(
        observe,
        600,
        "the v2 release to finish",
        lambda line: said.append((clock.now, line)),
        interval_s=5,
        clock=clock,
        sleep=clock.sleep,
    )
    assert seen == "run 1a2b3c4d STARTED, step prod_swap"
    times = [0.0] + [t for t, _ in said] + [100.0]
    assert max(b - a for a, b in itertools.pairwise(times)) <= 15
    assert said[0][1] == (
        "  waiting for the v2 release to finish (0s of 600s): run 1a2b3c4d STARTED, step prod_swap"
    )


def test_each_change_of_what_is_seen_is_said_once() -> None:
    clock = FakeClock()
    states = iter(["QUEUED", "QUEUED", "STARTED", "STARTED", "SUCCESS"])
    said: list[str] = []
    processes.watch(
        lambda: (clock.now >= 8, next(states)),
        60,
        "a run",
        said.append,
        interval_s=2,
        clock=clock,
        sleep=clock.sleep,
    )
    assert [line.rsplit(": ", 1)[1] for line in said] == ["QUEUED", "STARTED"]


def test_a_wait_that_runs_out_names_what_it_waited_for_and_what_it_saw() -> None:
    clock = FakeClock()
    with pytest.raises(processes.TimeoutExpired) as exc:
        processes.watch(
            lambda: (False, "no Dagster daemon has reported to this instance"),
            300,
            "merged_tag_sensor to launch v2",
            lambda line: None,
            interval_s=5,
            clock=clock,
            sleep=clock.sleep,
        )
    assert str(exc.value) == (
        "gave up after 300s waiting for merged_tag_sensor to launch v2; "
        "last seen: no Dagster daemon has reported to this instance"
    )
    assert clock.now == 300


def test_ancestors_start_with_this_process_and_reach_its_parent() -> None:
    import os

    chain = processes.ancestors()
    assert chain[0] == os.getpid()
    assert chain[1] == os.getppid()
    assert processes.start_ticks(os.getpid()) is not None
