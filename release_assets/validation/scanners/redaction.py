"""Masking credentials out of tool output before it becomes a finding, a note or an error."""

from __future__ import annotations

import re

from release_assets.settings import inherited_environment

_SECRET_NAME = re.compile(r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|access[_-]?key|private)")
_ASSIGNED = re.compile(
    r"(?i)\b([\w.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)[\w.-]*"
    r"[\"']?\s*(?<![=<>!~])[=:](?!=)\s*[\"']?)([^\s\"',;]+)"
)
_URL_CREDENTIALS = re.compile(r"(://[^/\s:@]+:)([^@\s/]+)(@)")
_AWS_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
_MASK = "****"


def mask_secrets(text: str) -> str:
    """``text`` with credential-looking values (``password=...``, URL passwords, AWS key ids,
    values of this process's secret-named environment variables) replaced by ``****``."""
    for name, value in inherited_environment().items():
        if len(value) >= 6 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, _MASK)
    text = _ASSIGNED.sub(lambda m: m.group(1) + _MASK, text)
    text = _URL_CREDENTIALS.sub(lambda m: m.group(1) + _MASK + m.group(3), text)
    return _AWS_KEY.sub(_MASK, text)
