"""The layout ``terraform fmt`` enforces, checked without a terraform binary.

This mirrors hclwrite's formatter (what ``terraform fmt`` runs) for the rules that matter most:
two spaces of indentation per bracket nesting level, the ``=`` of consecutive single-line
attributes aligned one space after the longest name, one space after ``=``, no trailing
whitespace after code, no tabs, and a final newline. Like hclwrite, heredoc bodies and
comment text are left alone, and a "line" that holds a heredoc or a multi-line comment counts
as one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INDENT = 2
_HEREDOC = re.compile(r"<<-?([A-Za-z_][\w-]*)[ \t]*$")
_OPEN = {"{": "{", "[": "[", "(": "("}
_CLOSE = {"}": "{", "]": "[", ")": "("}


@dataclass(frozen=True)
class FormatIssue:
    line: int
    message: str


@dataclass
class _Phys:
    """One physical line and what the scan learned about it."""

    number: int
    text: str
    starts_logical: bool = True
    end_context: str = "code"  # where the line ends: code, comment, heredoc
    net: int = 0
    tabs: list[int] = field(default_factory=list)
    first_token: int | None = None
    eq: int | None = None  # column of the first assignment "=" (if a token precedes it)
    net_at_eq: int = 0
    heredoc: bool = False  # a heredoc opens on this line: brackets after it do not count


def _scan(text: str) -> list[_Phys]:
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    lines = [_Phys(i + 1, raw.removesuffix("\r")) for i, raw in enumerate(raw_lines)]
    stack: list[str] = []
    heredoc_marker: str | None = None
    in_block_comment = False
    for ln in lines:
        s = ln.text
        if heredoc_marker is not None:
            ln.starts_logical, ln.end_context = False, "heredoc"
            if s.strip() == heredoc_marker:
                heredoc_marker = None
            continue
        i = 0
        if in_block_comment:
            ln.starts_logical = False
            end = s.find("*/")
            if end < 0:
                ln.end_context = "comment"
                continue
            in_block_comment, i = False, end + 2
        while i < len(s):
            c = s[i]
            top = stack[-1] if stack else ""
            if top == '"':  # inside a quoted string
                if c == "\\":
                    i += 2
                    continue
                if s.startswith(("$${", "%%{"), i):
                    i += 3
                    continue
                if s.startswith(("${", "%{"), i):
                    stack.append("T")
                    ln.net += 0 if ln.heredoc else 1
                    i += 2
                    continue
                if c == '"':
                    stack.pop()
                i += 1
                continue
            if c in " \r":
                i += 1
                continue
            if c == "\t":
                ln.tabs.append(i)
                i += 1
                continue
            if ln.first_token is None:
                ln.first_token = i
            if c == "#" or s.startswith("//", i):
                ln.end_context = "comment"
                break
            if s.startswith("/*", i):
                end = s.find("*/", i + 2)
                if end < 0:
                    in_block_comment = True
                    ln.end_context = "comment"
                    break
                i = end + 2
                continue
            heredoc = _HEREDOC.match(s, i) if s.startswith("<<", i) else None
            if heredoc:
                heredoc_marker, ln.heredoc = heredoc.group(1), True
                break
            delta = 0
            if c == '"':
                stack.append('"')
            elif c in _OPEN:
                stack.append(_OPEN[c])
                delta = 1
            elif c in _CLOSE:
                if stack and stack[-1] in (_CLOSE[c], "T"):
                    stack.pop()
                delta = -1
            elif (c in "=!<>" and s.startswith("=", i + 1)) or s.startswith("=>", i):
                i += 2  # ==, !=, <=, >=, =>: operators, not an assignment
                continue
            elif c == "=" and ln.eq is None and ln.first_token != i:
                ln.eq, ln.net_at_eq = i, ln.net
            ln.net += delta
            i += 1
        else:
            if stack and stack[-1] == '"':  # a string cannot span lines: stop carrying it
                stack.pop()
    return lines


def _indent_levels(lines: list[_Phys]) -> dict[int, int]:
    """hclwrite's indentation: a line that opens brackets indents what follows by one level,
    however many it opens; closing them all returns to where that line was."""
    indents: list[int] = []
    expected: dict[int, int] = {}
    logical = _logical(lines)
    for head, net in logical:
        if head.first_token is None:
            continue
        if net > 0:
            expected[head.number] = INDENT * len(indents)
            indents.append(net)
            continue
        closed = -net
        while closed > 0 and indents:
            if closed >= indents[-1]:
                closed -= indents.pop()
            else:
                indents[-1] -= closed
                closed = 0
        expected[head.number] = INDENT * len(indents)
    return expected


def _logical(lines: list[_Phys]) -> list[tuple[_Phys, int]]:
    """Logical lines (a heredoc or multi-line comment joins physical lines): head, net brackets."""
    out: list[tuple[_Phys, int]] = []
    for ln in lines:
        if ln.starts_logical or not out:
            out.append((ln, ln.net))
        else:
            head, net = out[-1]
            out[-1] = (head, net + (0 if head.heredoc else ln.net))
    return out


def format_issues(text: str, limit: int = 10) -> list[FormatIssue]:
    """Where ``text`` departs from ``terraform fmt``'s layout, at most ``limit`` issues (the last
    one says how many more there are)."""
    lines = _scan(text)
    expected = _indent_levels(lines)
    issues: list[FormatIssue] = []
    misindented: set[int] = set()
    for ln in lines:
        if ln.end_context == "heredoc" or (not ln.starts_logical and ln.first_token is None):
            continue
        want = expected.get(ln.number)
        lead = ln.text[: ln.first_token] if ln.first_token is not None else ""
        if ln.tabs:
            issues.append(FormatIssue(ln.number, "tab character: indent and align with spaces"))
            misindented.add(ln.number)
        elif want is not None and len(lead) != want:
            misindented.add(ln.number)
            issues.append(FormatIssue(ln.number, f"indented {len(lead)} spaces; expected {want}"))
        if ln.end_context == "code" and ln.text != ln.text.rstrip(" \t"):
            issues.append(FormatIssue(ln.number, "trailing whitespace"))
    issues.extend(_alignment(lines, expected, misindented))
    if text and not text.endswith("\n"):
        issues.append(FormatIssue(len(lines), "no newline at the end of the file"))
    issues.sort(key=lambda i: i.line)
    if len(issues) > limit:
        more = len(issues) - limit + 1
        issues = [*issues[: limit - 1], FormatIssue(issues[limit - 1].line, f"... and {more} more")]
    return issues


def _alignment(
    lines: list[_Phys], expected: dict[int, int], misindented: set[int]
) -> list[FormatIssue]:
    """Consecutive single-line attributes align their "="; one space follows it."""
    issues: list[FormatIssue] = []
    chain: list[_Phys] = []

    def close() -> None:
        names = {ln.number: ln.text[ln.first_token : ln.eq].rstrip() for ln in chain}
        # 0-based index of the "=": one space after the longest name of the chain
        target = max(expected.get(ln.number, 0) + len(names[ln.number]) for ln in chain) + 1
        for ln in chain:
            if ln.number in misindented or ln.eq is None or ln.eq == target:
                continue
            name = names[ln.number]
            if len(chain) == 1:
                msg = f"put exactly one space before the `=` of `{name}`"
            else:
                msg = (
                    f"`=` of `{name}` is at column {ln.eq + 1}; align it with the attributes "
                    f"next to it at column {target + 1}"
                )
            issues.append(FormatIssue(ln.number, msg))
        chain.clear()

    for head, net in _logical(lines):
        if head.eq is None:
            if chain:
                close()
            continue
        name = head.text[head.first_token : head.eq].rstrip()
        after = head.text[head.eq + 1 : head.eq + 3]
        if after[:1] != " " or after[1:2] in (" ", "\t"):
            issues.append(
                FormatIssue(head.number, f"put exactly one space after the `=` of `{name}`")
            )
        if net - head.net_at_eq == 0:  # a single-line attribute: aligned with its neighbours
            chain.append(head)
            continue
        if chain:
            close()
        if head.text[: head.eq] != head.text[: head.eq].rstrip() + " ":
            issues.append(
                FormatIssue(head.number, f"put exactly one space before the `=` of `{name}`")
            )
    if chain:
        close()
    return issues
