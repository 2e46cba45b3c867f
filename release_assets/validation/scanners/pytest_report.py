"""A pytest run's junit XML report (``junit_family=xunit1``, which records each test's file
and line) read back as failed tests, with credentials masked out of the failure text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from release_assets.validation.scanners.redaction import mask_secrets

MAX_LINES = 8


@dataclass(frozen=True)
class FailedTest:
    nodeid: str
    file: str | None
    line: int | None
    kind: str  # "failure" or "error"
    summary: str


def _nodeid(case: ET.Element) -> tuple[str, str | None]:
    classname = case.get("classname", "")
    name = case.get("name", "")
    file = case.get("file")
    if not classname:  # a collection error: name is the module
        file = file or (name.replace(".", "/") + ".py" if name else None)
        return file or name, file
    if not file:
        file = classname.replace(".", "/") + ".py"
    module = PurePosixPath(file).with_suffix("").as_posix().replace("/", ".")
    rest = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
    parts = [file, *(rest.split(".") if rest else []), name]
    return "::".join(p for p in parts if p), file


def _summary(element: ET.Element) -> str:
    text = element.text or ""
    errors = [ln.strip() for ln in text.splitlines() if ln.startswith("E ")]
    lines = errors or [ln for ln in (element.get("message") or text).splitlines() if ln.strip()]
    short = "\n".join(ln[2:].strip() if ln.startswith("E ") else ln for ln in lines[:MAX_LINES])
    return mask_secrets(short or element.tag)


def _failure_line(element: ET.Element, file: str | None) -> int | None:
    if not file:
        return None
    found = None
    for match in re.finditer(rf"^{re.escape(file)}:(\d+):", element.text or "", re.M):
        found = int(match.group(1))
    return found


def failed_tests(junit: Path) -> tuple[list[FailedTest], int]:
    """Failed and erroring tests of a junit report, and the number of tests it ran."""
    root = ET.parse(junit).getroot()
    out: list[FailedTest] = []
    total = 0
    for case in root.iter("testcase"):
        total += 1
        for tag in ("failure", "error"):
            element = case.find(tag)
            if element is None:
                continue
            nodeid, file = _nodeid(case)
            line = _failure_line(element, file)
            if line is None and case.get("line", "").isdigit():
                line = int(case.get("line", "0")) + 1
            out.append(FailedTest(nodeid, file, line, tag, _summary(element)))
            break
    return out, total
