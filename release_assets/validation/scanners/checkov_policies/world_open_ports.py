"""checkov policy ``CKV_RA_1``: no security group opens a database or admin port to the world.

checkov's own rules cover ingress from ``0.0.0.0/0`` to port 22 (CKV_AWS_24), 3389
(CKV_AWS_25), 80 (CKV_AWS_260) and every port (CKV_AWS_277) only; a PostgreSQL or Redis port
open to the internet passes them. This policy covers the ports a data platform exposes by
mistake: databases and warehouses, caches, search, remote administration and the Airflow
webserver (the list is ``PORTS``; the port numbers are the services' registered defaults).

It reads the three ways the AWS provider declares an ingress rule: the ``ingress`` blocks of an
``aws_security_group``, an ``aws_security_group_rule`` of type ``ingress`` and an
``aws_vpc_security_group_ingress_rule``. A rule is an exposure when its source is the whole
IPv4 or IPv6 internet (``0.0.0.0/0``, ``::/0``), its protocol is TCP (``tcp``, ``6``) or every
protocol (``-1``, ``all``), and its port range holds one of ``PORTS``. A value Terraform only
knows at plan time (a variable checkov could not resolve) is not guessed: such a rule passes.

The failed check's ``details`` say what is open, e.g. ``port 5432 (PostgreSQL) to 0.0.0.0/0``;
the terraform gate prefixes the resource's address.
"""

from __future__ import annotations

from typing import Any

CHECK_ID = "CKV_RA_1"
CHECK_NAME = "Ensure no security group opens a database or admin port to the internet"
SUPPORTED = (
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
)
PORTS: dict[int, str] = {
    22: "SSH",
    3389: "RDP",
    5432: "PostgreSQL",
    3306: "MySQL",
    1433: "SQL Server",
    1521: "Oracle",
    5439: "Redshift",
    6379: "Redis",
    27017: "MongoDB",
    9200: "Elasticsearch",
    8080: "Airflow webserver",
}
WORLD = ("0.0.0.0/0", "::/0", "0000:0000:0000:0000:0000:0000:0000:0000/0")
_ALL_PROTOCOLS = ("-1", "all")
_TCP = ("tcp", "6")


def _one(value: Any) -> Any:
    """checkov wraps each attribute value in a list: the value itself."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _many(value: Any) -> list[str]:
    """A list attribute (``cidr_blocks``) or a single one (``cidr_ipv4``) as strings."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if v is not None]


def _port(value: Any) -> int | None:
    value = _one(value)
    if isinstance(value, int):
        return value
    text = str(value).strip() if value is not None else ""
    return int(text) if text.lstrip("-").isdigit() else None


def rule_exposure(rule: dict[str, Any], cidr_keys: tuple[str, ...]) -> str | None:
    """What one ingress rule opens to the world, e.g. ``port 5432 (PostgreSQL) to
    0.0.0.0/0``; None when it opens none of ``PORTS`` to the world (or cannot be known)."""
    sources = [c for key in cidr_keys for c in _many(rule.get(key)) if c in WORLD]
    if not sources:
        return None
    protocol = str(_one(rule.get("protocol", rule.get("ip_protocol"))) or "").lower()
    world = " and ".join(dict.fromkeys("::/0" if ":" in s else s for s in sources))
    if protocol in _ALL_PROTOCOLS:
        return f"every port (protocol {protocol}, database and admin ports included) to {world}"
    if protocol not in _TCP:
        return None
    low, high = _port(rule.get("from_port")), _port(rule.get("to_port"))
    if low is None or high is None:
        return None
    hit = [p for p in sorted(PORTS) if low <= p <= high]
    if not hit:
        return None
    if low == high:
        return f"port {low} ({PORTS[low]}) to {world}"
    named = ", ".join(f"{p} {PORTS[p]}" for p in hit)
    return f"ports {low}-{high} (including {named}) to {world}"


def exposures(resource_type: str, conf: dict[str, Any]) -> list[str]:
    """Every database or admin port ``conf`` (checkov's rendering of one resource) opens to
    the world, one string per ingress rule; empty when none."""
    if resource_type == "aws_security_group":
        out = []
        for block in conf.get("ingress") or []:
            for rule in block if isinstance(block, list) else [block]:
                if isinstance(rule, dict):
                    found = rule_exposure(rule, ("cidr_blocks", "ipv6_cidr_blocks"))
                    if found:
                        out.append(found)
        return out
    if resource_type == "aws_security_group_rule":
        if str(_one(conf.get("type"))).lower() != "ingress":
            return []
        found = rule_exposure(conf, ("cidr_blocks", "ipv6_cidr_blocks"))
        return [found] if found else []
    if resource_type == "aws_vpc_security_group_ingress_rule":
        found = rule_exposure(conf, ("cidr_ipv4", "cidr_ipv6"))
        return [found] if found else []
    return []


try:  # only inside checkov's own interpreter
    from checkov.common.models.enums import CheckCategories, CheckResult
    from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
except ImportError:  # imported by release_assets (the rule's tests): no check to register
    pass
else:

    class WorldOpenPorts(BaseResourceCheck):  # type: ignore[misc]
        """The checkov check; its ``details`` list what is open."""

        def __init__(self) -> None:
            super().__init__(
                name=CHECK_NAME,
                id=CHECK_ID,
                categories=(CheckCategories.NETWORKING,),
                supported_resources=SUPPORTED,
            )

        def scan_resource_conf(self, conf: dict[str, list[Any]]) -> Any:
            found = exposures(str(self.entity_type), conf)
            self.details = found
            return CheckResult.FAILED if found else CheckResult.PASSED

    check = WorldOpenPorts()
