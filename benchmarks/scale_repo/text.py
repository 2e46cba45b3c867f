"""Small text helpers: template placeholders, Python literals and imports, YAML dumps."""

from __future__ import annotations

import json
import re
import textwrap

import yaml


def fill(template: str, **values: str) -> str:
    """``<<name>>`` placeholders replaced (no clash with Python, Jinja or HCL braces)."""
    out = template
    for name, value in values.items():
        out = out.replace(f"<<{name}>>", value)
    leftover = re.search(r"<<\w+>>", out)
    if leftover:
        raise KeyError(f"template placeholder {leftover.group(0)} has no value")
    return out


def quote(text: str) -> str:
    """A double-quoted Python string literal (ruff format's quote style)."""
    return json.dumps(text)


def wrap(text: str, width: int = 96) -> str:
    return textwrap.fill(" ".join(text.split()), width, break_on_hyphens=False)


def unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate


def import_line(module: str, names: list[str]) -> str:
    """An import line as ruff's isort writes it: constants, classes, then functions."""

    def order(name: str) -> tuple[int, str]:
        kind = 0 if name.isupper() else (1 if name[0].isupper() else 2)
        return kind, name

    ordered = sorted(set(names), key=order)
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= 100:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in ordered) + ")"


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key, as hand-written dbt YAML usually is."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: object) -> bool:
        return True


def dump_yaml(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
