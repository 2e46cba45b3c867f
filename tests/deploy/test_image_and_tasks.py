"""deploy/production's container image and ECS task definitions, checked offline: docker does
not run here, so the Dockerfile is read statically; the task definitions are validated against
botocore's RegisterTaskDefinition input shape and registered into moto's ECS."""

from __future__ import annotations

import importlib
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from release_assets.settings import CHECKOUT_ROOT
from tests.aws_server import MotoServer
from tests.deploy.ecs_tasks import (
    EXAMPLE_VALUES,
    placeholders,
    plain_credentials,
    rendered,
    task_files,
)

PRODUCTION = CHECKOUT_ROOT / "deploy" / "production"
DOCKERFILE = PRODUCTION / "Dockerfile"
CONSOLE_SCRIPTS = {e.name for e in entry_points(group="console_scripts")}


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def _runs(command: list[str]) -> None:
    """``command``'s executable is a console script installed with the package's
    dependencies, and a ``-m`` module it names imports and holds Dagster definitions."""
    assert command[0] in CONSOLE_SCRIPTS, f"{command[0]} is not an installed console script"
    if "-m" in command:
        module = importlib.import_module(command[command.index("-m") + 1])
        assert hasattr(module, "defs"), f"{module.__name__} has no `defs`"


def test_the_image_pins_its_base_runs_as_a_user_and_starts_the_code_location() -> None:
    steps = _instructions()
    (base,) = [args for op, args in steps if op == "FROM"]
    assert re.fullmatch(r"\S+@sha256:[0-9a-f]{64}|[^:@\s]+:\d+\.\d+\.\d+-\S+", base), base
    assert base.startswith("python:3.11.")
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in {"root", "0"}, users
    last_user = max(i for i, (op, _) in enumerate(steps) if op == "USER")
    assert all(op != "RUN" for op, _ in steps[last_user:]), "a RUN after USER runs as that user"
    (cmd,) = [args for op, args in steps if op == "CMD"]
    _runs(__import__("json").loads(cmd))
    copied = " ".join(args for op, args in steps if op == "COPY")
    for name in ("pyproject.toml", "release_assets", "dagster.yaml", "workspace.yaml"):
        assert name in copied
    for source in copied.split():
        if "/" in source and not source.startswith("/"):
            assert (CHECKOUT_ROOT / source).exists(), f"COPY {source}: not in the checkout"


def _shape() -> Any:
    model = botocore.session.get_session().get_service_model("ecs")
    return model.operation_model("RegisterTaskDefinition").input_shape


@pytest.mark.parametrize("path", task_files(), ids=lambda p: p.stem)
def test_each_task_definition_is_a_valid_fargate_task_with_secrets_from_secrets_manager(
    path: Path,
) -> None:
    assert placeholders(path) <= set(EXAMPLE_VALUES), placeholders(path) - set(EXAMPLE_VALUES)
    task = rendered(path)
    validate_parameters(task, _shape())
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    assert plain_credentials(task) == []
    (container,) = task["containerDefinitions"]
    assert container["user"] == "dagster"
    _runs(container["command"])
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert {"DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"} <= set(secrets)
    for value in secrets.values():
        assert value.startswith("arn:aws:secretsmanager:eu-west-1:111122223333:secret:"), value
    environment = {e["name"] for e in container["environment"]}
    instance_vars = set(re.findall(r"env: (\w+)", (PRODUCTION / "dagster.yaml").read_text()))
    workspace_vars = set(re.findall(r"env: (\w+)", (PRODUCTION / "workspace.yaml").read_text()))
    assert instance_vars | workspace_vars <= environment | set(secrets)


def test_the_three_processes_of_the_deployment_have_a_task_each() -> None:
    commands = {p.stem: rendered(p)["containerDefinitions"][0]["command"][0] for p in task_files()}
    assert commands == {
        "code-server": "dagster",
        "daemon": "dagster-daemon",
        "webserver": "dagster-webserver",
    }


def test_a_task_definition_that_botocore_would_refuse_is_caught() -> None:
    task = rendered(PRODUCTION / "ecs" / "daemon.json")
    task["containerDefinitions"][0]["portMappings"] = [{"containerPort": "4000"}]
    with pytest.raises(ParamValidationError, match="containerPort"):
        validate_parameters(task, _shape())


def test_a_password_in_plain_environment_is_named() -> None:
    task = rendered(PRODUCTION / "ecs" / "webserver.json")
    task["containerDefinitions"][0]["environment"].append(
        {"name": "DAGSTER_PG_PASSWORD", "value": "hunter2"}
    )
    (line,) = plain_credentials(task)
    assert "release-assets-webserver" in line and "DAGSTER_PG_PASSWORD" in line
    assert "hunter2" not in line


def test_the_task_definitions_register_in_ecs(moto_server: MotoServer) -> None:
    ecs = moto_server.clients.client("ecs")
    for path in task_files():
        task = rendered(path)
        registered = ecs.register_task_definition(**task)["taskDefinition"]
        assert registered["family"] == task["family"]
        (container,) = registered["containerDefinitions"]
        assert container["secrets"] == task["containerDefinitions"][0]["secrets"]
        described = ecs.describe_task_definition(taskDefinition=task["family"])
        assert described["taskDefinition"]["taskRoleArn"].endswith(
            ":role/release-assets-orchestrator"
        )
