"""An import error inside the release bundle is explained from the repository: the missing
module or file is named where it is, with what the bundle ships."""

from __future__ import annotations

from pathlib import Path

from release_assets.config import load_release_config
from release_assets.validation.inputs.bundle_imports import explain

_TRACE = 'Traceback (most recent call last):\n  File "dags/x.py", line 8, in <module>\n'


def test_a_module_outside_the_bundle_is_named_with_what_the_bundle_ships(
    northstar_copy: Path,
) -> None:
    (northstar_copy / "lib").mkdir()
    (northstar_copy / "lib" / "helpers.py").write_text("X = 1\n")
    config = load_release_config(northstar_copy)

    missed = explain(
        northstar_copy, config, _TRACE + "ModuleNotFoundError: No module named 'helpers'\n"
    )

    assert missed is not None
    assert "No module named 'helpers'" in missed.message
    assert "lib/helpers.py is not part of it" in missed.message
    assert "dags/, dbt/" in missed.message and "spark/" in missed.message
    assert "dags/" in missed.fix
    # A package folder at the repository root (tools/, no __init__.py) is named as a folder.
    tools = explain(
        northstar_copy,
        config,
        _TRACE + "ModuleNotFoundError: No module named 'tools.generate_sources'\n",
    )
    assert tools is not None and "tools/ is not part of it" in tools.message


def test_files_read_outside_the_bundle_and_relative_paths_are_explained(
    northstar_copy: Path,
) -> None:
    (northstar_copy / "config").mkdir()
    (northstar_copy / "config" / "x.yaml").write_text("a: 1\n")
    config = load_release_config(northstar_copy)
    err = "FileNotFoundError: [Errno 2] No such file or directory: '{}'\n"

    outside = explain(northstar_copy, config, _TRACE + err.format("config/x.yaml"))
    relative = explain(northstar_copy, config, _TRACE + err.format("../config/x.yaml"))

    assert outside is not None and "reads config/x.yaml" in outside.message
    assert "config/x.yaml is not part of it" in outside.message
    assert relative is not None and "working directory" in relative.message
    assert "Path(__file__).parent" in relative.fix


def test_an_error_the_repository_cannot_explain_is_left_as_it_is(northstar_copy: Path) -> None:
    config = load_release_config(northstar_copy)
    for last in (
        "ModuleNotFoundError: No module named 'not_anywhere'",
        "SyntaxError: invalid syntax",
        "FileNotFoundError: [Errno 2] No such file or directory: '/etc/nothing.yaml'",
    ):
        assert explain(northstar_copy, config, _TRACE + last) is None
