"""A pytest run's junit XML report (``junit_family=xunit1``, which records each test's file
and line) read back as failed tests, with credentials masked out of the failure text.

Each failure is read the way pytest prints it: the statement that raised (the ``>`` line of the
innermost frame, e.g. ``assert slow == {}``) and the exception lines after it (``E ...``, e.g.
``AssertionError: assert {...} == {}``), so a report can lead with the test's name, the
assertion as written and its outcome before any detail."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from release_assets.validation.scanners.redaction import mask_secrets

MAX_LINES = 8
MAX_LINE_CHARS = 240
MAX_STATEMENT_CHARS = 160


@dataclass(frozen=True)
class FailedTest:
    nodeid: str
    file: str | None
    line: int | None
    kind: str  # "failure" or "error"
    summary: str  # the exception lines, first the exception itself (at most MAX_LINES lines)
    statement: str | None = None  # the source statement that raised, as written


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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(element: ET.Element) -> str:
    text = element.text or ""
    errors = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
    lines = errors or (element.get("message") or text).splitlines()
    kept = [_clip(ln.strip(), MAX_LINE_CHARS) for ln in lines if ln.strip()]
    short = "\n".join(kept[:MAX_LINES])
    return mask_secrets(short or element.tag)


def _statement(element: ET.Element) -> str | None:
    """The statement pytest marks with ``>`` in the frame that raised: the last ``>`` line
    before the first exception line, with its continuation lines (a multi-line call)."""
    found: list[str] = []
    current: list[str] | None = None
    for line in (element.text or "").splitlines():
        if line.startswith("E "):
            if current is not None:
                found = current
            break
        if line.startswith(">"):
            current = [line[1:].strip()]
        elif current is not None and line.strip() and line.startswith(" "):
            current.append(line.strip())
        elif current is not None:
            found, current = current, None
    statement = " ".join(found).strip()
    return mask_secrets(_clip(statement, MAX_STATEMENT_CHARS)) if statement else None


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
            summary, statement = _summary(element), _statement(element)
            out.append(FailedTest(nodeid, file, line, tag, summary, statement))
            break
    return out, total
