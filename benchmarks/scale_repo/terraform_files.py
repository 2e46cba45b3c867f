"""The Terraform modules: northstar's landing bucket, once per planned module."""

from __future__ import annotations

from .model import DOMAINS, NORTHSTAR, PROJECT, Plan
from .text import unique

_PURPOSES = {
    "landing": '["postgres/", "s3/", "kafka/"]',
    "exports": '["exports/"]',
    "archive": '["archive/"]',
}


def plan_modules(count: int) -> list[tuple[str, str, str]]:
    used: set[str] = set()
    out = []
    for k in range(count):
        domain = DOMAINS[k % len(DOMAINS)].name
        purpose = list(_PURPOSES)[(k // len(DOMAINS)) % len(_PURPOSES)]
        out.append((unique(f"{domain}_{purpose}_bucket", used), domain, purpose))
    return out


def terraform_files(plan: Plan) -> dict[str, str]:
    """northstar's landing_bucket module (known to pass checkov), with names varied only."""
    source = NORTHSTAR / "terraform" / "modules" / "landing_bucket"
    files: dict[str, str] = {}
    for folder, domain, purpose in plan.modules:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            text = (source / name).read_text().replace("northstar", PROJECT)
            text = text.replace('"landing-bucket"', f'"{domain}-{purpose}-bucket"')
            text = text.replace('["postgres/", "s3/", "kafka/"]', _PURPOSES[purpose])
            text = text.replace("landing", purpose)
            files[f"terraform/modules/{folder}/{name}"] = text
    return files
