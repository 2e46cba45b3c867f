"""Reading deploy/production/ecs/*.json as a platform engineer renders them: ``${NAME}``
placeholders filled (``envsubst``), one task definition per file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template
from typing import Any

from release_assets.settings import CHECKOUT_ROOT

ECS = CHECKOUT_ROOT / "deploy" / "production" / "ecs"
EXAMPLE_VALUES = {
    "AWS_REGION": "eu-west-1",
    "AWS_ACCOUNT_ID": "111122223333",
    "IMAGE": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/release-assets:1.4.0",
    "DAGSTER_PG_HOST": "dagster.cluster-abc.eu-west-1.rds.amazonaws.com",
    "DAGSTER_PG_SECRET": "release-assets/dagster-postgres-AbCdEf",
    "DAGSTER_COMPUTE_LOGS_BUCKET": "northstar-dagster-logs",
    "PIPELINES_GIT_URL": "https://git.example.com/northstar/pipelines.git",
}
"""Values for every placeholder the files use (docs/production.md lists them)."""


def task_files() -> list[Path]:
    return sorted(ECS.glob("*.json"))


def placeholders(path: Path) -> set[str]:
    """The ``${NAME}`` placeholders ``path`` uses."""
    return {
        m.group("braced") for m in Template.pattern.finditer(path.read_text()) if m.group("braced")
    }


def rendered(path: Path, values: dict[str, str] | None = None) -> dict[str, Any]:
    """The task definition of ``path`` with its placeholders filled (``EXAMPLE_VALUES`` by
    default); KeyError names a placeholder without a value."""
    text = Template(path.read_text()).substitute(values or EXAMPLE_VALUES)
    data: dict[str, Any] = json.loads(text)
    return data


def container_command(name: str, port: int | None = None) -> list[str]:
    """The command of ``ecs/<name>.json``'s container, bound to 127.0.0.1 (and ``port`` when
    given) instead of every interface, to run it on this machine."""
    command = list(rendered(ECS / f"{name}.json")["containerDefinitions"][0]["command"])
    for flag, value in (("-h", "127.0.0.1"), ("-p", str(port) if port else None)):
        if value is not None and flag in command:
            command[command.index(flag) + 1] = value
    return command


CREDENTIAL_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_KEY", re.I)
CREDENTIAL_VALUE = re.compile(
    r"AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|-----BEGIN|://[^/\s:@]+:[^/\s@]+@"  # keys, PEM, url:pw@
)


def plain_credentials(task: dict[str, Any]) -> list[str]:
    """One line per ``environment`` entry of ``task`` that looks like a credential (by its name
    or its value), naming the container and the variable; secrets belong in ``secrets``."""
    found = []
    for container in task["containerDefinitions"]:
        for item in container.get("environment", []):
            if CREDENTIAL_NAME.search(item["name"]) or CREDENTIAL_VALUE.search(item["value"]):
                found.append(
                    f"{task['family']}: container {container['name']}: {item['name']} is a plain "
                    "environment value; pass it in `secrets` (a Secrets Manager ARN)"
                )
    return found
