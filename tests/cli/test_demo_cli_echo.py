"""The demo's on-call commands as it prints them: the command quoted as a shell would take
it, each line the command prints as it comes, and a command that does not end in time
stopped with one line saying so."""

from __future__ import annotations

import pytest

from release_assets.cli import demo_controls
from release_assets.settings import Settings


def test_a_command_is_echoed_quoted_and_its_lines_printed(isolated_settings: Settings) -> None:
    said: list[str] = []

    code = demo_controls.cli(isolated_settings, said.append, "redeploy", "--help")

    assert code == 0
    assert said[0] == "$ release-assets redeploy --help"
    assert said[1] == "  Usage: release-assets redeploy [OPTIONS] RELEASE"
    said.clear()
    demo_controls.cli(isolated_settings, said.append, "flag", "--help", "INC-7: a reason")
    assert said[0] == "$ release-assets flag --help 'INC-7: a reason'"


def test_a_command_that_does_not_end_in_time_is_stopped_with_one_line(
    isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_controls, "CLI_TIMEOUT_S", 0.2)
    said: list[str] = []

    code = demo_controls.cli(isolated_settings, said.append, "status")

    assert code == 124
    assert said[-1] == "  (stopped: no end after 0 s; see its run in the UI)"
