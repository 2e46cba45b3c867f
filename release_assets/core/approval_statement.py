"""What an approver signs, and signing and verifying it (docs/approvals.md). No Dagster.

An :class:`ApprovalStatement` has one canonical text (:meth:`ApprovalStatement.text`); it is
signed with ``ssh-keygen -Y sign`` in the namespace :data:`SIGNATURE_NAMESPACE` and verified
with ``ssh-keygen -Y verify`` against the pipelines repository's allowed-signers file, as git
signs and verifies tags with SSH keys (``release_assets.core.ssh_signatures``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from release_assets.core.ssh_signatures import BadSignature, sign, verify

SIGNATURE_NAMESPACE = "release-assets-approval"
"""The ssh-keygen namespace of approval signatures: a signature made for anything else (a git
commit or tag, a file) never counts as an approval; allowed-signers lines may restrict a key to
it with ``namespaces="release-assets-approval"``."""

HEADER = "release-assets approval statement v1"


class ApprovalRefused(ValueError):
    """An approval does not count; ``str()`` is the reason in one line."""


_FIELDS = ("project", "release", "digest", "environment", "approver", "signed_at")


class ApprovalStatement(BaseModel):
    """What an approver signs: ``approver`` (a principal of the allowed-signers file, an
    e-mail) approves artifact ``digest`` (``sha256:<hex>``) of ``release`` of ``project`` for
    ``environment``, at ``signed_at`` (UTC, whole seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str
    release: str
    digest: str
    environment: str
    approver: str
    signed_at: datetime

    @field_validator("project", "release", "digest", "environment", "approver")
    @classmethod
    def _one_word(cls, value: str) -> str:
        if not value or any(ch.isspace() for ch in value):
            raise ValueError(f"must be one non-empty word, got {value!r}")
        return value

    @field_validator("signed_at")
    @classmethod
    def _utc_seconds(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a time zone")
        return value.astimezone(UTC).replace(microsecond=0)

    def text(self) -> str:
        """The canonical text that is signed: a header line, then ``field: value`` lines in a
        fixed order, ``signed_at`` as ``YYYY-MM-DDTHH:MM:SSZ``, ending with a newline."""
        values = self.model_dump()
        values["signed_at"] = self.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return HEADER + "\n" + "".join(f"{name}: {values[name]}\n" for name in _FIELDS)

    @classmethod
    def parse(cls, text: str) -> ApprovalStatement:
        """The statement of a signed text; raises :class:`ApprovalRefused` unless ``text`` is
        exactly the canonical text of a statement (so what was signed is what is read)."""
        lines = text.split("\n")
        if lines[:1] != [HEADER] or len(lines) != len(_FIELDS) + 2 or lines[-1] != "":
            raise ApprovalRefused(f"the signed text is not an approval statement ({HEADER})")
        values: dict[str, str] = {}
        for name, line in zip(_FIELDS, lines[1:-1], strict=True):
            key, sep, value = line.partition(": ")
            if key != name or not sep:
                raise ApprovalRefused(f"the signed statement has {line!r} where {name} belongs")
            values[name] = value
        try:
            statement = cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise ApprovalRefused(
                f"the signed statement's {first['loc'][0]} is invalid: {first['msg']}"
            ) from None
        if statement.text() != text:
            raise ApprovalRefused("the signed statement is not in canonical form")
        return statement


def sign_statement(statement: ApprovalStatement, key: Path) -> str:
    """The armored SSH signature of ``statement.text()`` made with the private key ``key``
    (``ssh-keygen -Y sign -f KEY -n release-assets-approval``). Raises ``SigningError``
    (ssh-keygen missing or failing: no such key, a passphrase it cannot ask for)."""
    return sign(statement.text(), key, SIGNATURE_NAMESPACE)


def verify_signature(
    statement_text: str, signature: str, allowed_signers: str, principal: str
) -> None:
    """Check that ``signature`` is ``principal``'s signature of ``statement_text`` under the
    allowed-signers file's text (``ssh-keygen -Y verify ... -n release-assets-approval``).
    Raises :class:`ApprovalRefused` naming why not; ``SigningError`` when ssh-keygen cannot
    run."""
    try:
        verify(statement_text, signature, allowed_signers, principal, SIGNATURE_NAMESPACE)
    except BadSignature as exc:
        raise ApprovalRefused(f"bad signature: {exc}") from None
