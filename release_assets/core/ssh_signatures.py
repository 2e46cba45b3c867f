"""Signing and verifying text with OpenSSH keys, the way git signs and verifies tags with SSH
keys: ``ssh-keygen -Y sign`` / ``-Y verify`` / ``-Y find-principals`` (ssh-keygen(1), "-Y
sign"; the allowed-signers format is its ALLOWED SIGNERS section). Every call is a
subprocess with a timeout; data goes through standard input, the allowed-signers text and the
signature through files in a private temporary folder. No Dagster.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_S = 30.0
"""Seconds one verifying ``ssh-keygen`` call may take (it takes milliseconds)."""
SIGN_TIMEOUT_S = 120.0
"""Seconds signing may take: ssh-keygen may ask a person for the key's passphrase on the
terminal, or wait for a touch of a hardware key."""


class SigningError(RuntimeError):
    """``ssh-keygen`` is missing, failed or timed out; one line naming what and how to fix it."""


class BadSignature(ValueError):
    """A signature does not verify; ``str()`` says why in one line, read from ssh-keygen."""


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise SigningError(
            "ssh-keygen (OpenSSH 8.2 or later) is not on PATH; approvals are signed and "
            "verified with `ssh-keygen -Y`: install the OpenSSH client (Debian/Ubuntu: "
            "apt-get install openssh-client)"
        )
    return found


def _run(args: list[str], data: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [_ssh_keygen(), *args],
            input=data,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SigningError(
            f"ssh-keygen {' '.join(args[:2])} did not finish within {timeout_s:g}s"
            + (" (it may have waited for a passphrase or a key touch)" if args[1] == "sign" else "")
        ) from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _files(folder: Path, allowed_signers: str, signature: str) -> tuple[str, str]:
    """Write the allowed-signers text and the signature into ``folder``; their paths."""
    signers, sig = folder / "allowed_signers", folder / "data.sig"
    signers.write_text(allowed_signers)
    sig.write_text(signature)
    return str(signers), str(sig)


def sign(data: str, key: Path, namespace: str, timeout_s: float = SIGN_TIMEOUT_S) -> str:
    """The armored SSH signature (``-----BEGIN SSH SIGNATURE-----`` ...) of ``data`` (UTF-8)
    in ``namespace``, made with the private key file ``key`` (or its ``.pub`` when the private
    key is held by ssh-agent). Raises :class:`SigningError` naming the key when ssh-keygen
    fails (no such key, a passphrase it cannot ask for, a timeout)."""
    if not key.exists():
        raise SigningError(f"key {key} does not exist; pass the private key you sign with")
    done = _run(["-Y", "sign", "-f", str(key), "-n", namespace], data, timeout_s)
    if done.returncode != 0 or "BEGIN SSH SIGNATURE" not in done.stdout:
        raise SigningError(f"ssh-keygen could not sign with {key}: {_last_line(done.stderr)}")
    return done.stdout


def signers_of(signature: str, allowed_signers: str, timeout_s: float = TIMEOUT_S) -> list[str]:
    """The principals ``allowed_signers`` (the file's text) lists for the key that made
    ``signature`` (``ssh-keygen -Y find-principals``); empty when the key is not listed."""
    with tempfile.TemporaryDirectory(prefix="ssh-sig-") as tmp:
        signers, sig = _files(Path(tmp), allowed_signers, signature)
        done = _run(["-Y", "find-principals", "-f", signers, "-s", sig], "", timeout_s)
    return done.stdout.split() if done.returncode == 0 else []


def verify(
    data: str,
    signature: str,
    allowed_signers: str,
    principal: str,
    namespace: str,
    timeout_s: float = TIMEOUT_S,
) -> None:
    """Check that ``signature`` is ``principal``'s signature of ``data`` in ``namespace``
    under ``allowed_signers`` (the file's text: the principal's key listed, not expired, its
    ``namespaces=`` allowing ``namespace``). Raises :class:`BadSignature` with the reason: the
    key is not listed, it is listed for other principals, or ssh-keygen's own reason (an
    incorrect signature for this text, another namespace, an unreadable signature)."""
    with tempfile.TemporaryDirectory(prefix="ssh-sig-") as tmp:
        signers, sig = _files(Path(tmp), allowed_signers, signature)
        args = ["-Y", "verify", "-f", signers, "-I", principal, "-n", namespace, "-s", sig]
        done = _run(args, data, timeout_s)
    if done.returncode == 0:
        return
    reason = _last_line(done.stderr) if done.stderr.strip() else ""
    owners = signers_of(signature, allowed_signers, timeout_s)
    if "parse signature" in reason or "sshsig" in reason:
        raise BadSignature(f"the signature cannot be read (ssh-keygen: {reason})")
    if not owners:
        raise BadSignature("it is signed with a key that is not in the allowed signers file")
    if principal not in owners:
        raise BadSignature(
            f"it is signed with the key of {', '.join(owners)} in the allowed signers file, "
            f"not with a key of {principal}"
        )
    raise BadSignature(
        "the signature does not verify against the signed text"
        + (f" (ssh-keygen: {reason})" if reason else "")
    )
