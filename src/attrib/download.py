"""Fetch files over HTTP(S) so that they end up complete and checked, or absent.

Shared by the download rules (TweetEval, pretrained weights). A download counts as done only
when its length equals the Content-Length the server sent, it parses as what it should be
(the caller's ``validate``), its sha256 matches what is expected (when something is), and
that sha256 is recorded in a manifest beside it; reuse then verifies the file against the
manifest. The file appears under its final name only after all of that, so a failed or
killed download leaves nothing a later job could mistake for data.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from attrib.runtime import atomic_write_text, sweep_temp, temp_path

MANIFEST = "SHA256SUMS"
CHUNK = 1 << 16
SHA256_PREFIX_MIN = 8  # torchvision names weight files by the first hex digits of their sha256

log = logging.getLogger("attrib.download")


class DownloadError(RuntimeError):
    """A file could not be fetched or verified; the message names the URL or the file."""


class ChecksumError(DownloadError):
    """A file differs from the sha256 recorded or asked for; the message names the file."""


class _Transient(Exception):
    """A failure worth retrying (connection trouble, server error, truncated body)."""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(path: str | Path) -> dict[str, str]:
    """{relative file name: sha256} from a ``sha256sum``-format file; empty when absent."""
    path = Path(path)
    if not path.is_file():
        return {}
    entries = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 64 or not name:
            raise ChecksumError(f"{path}, line {number}: expected '<sha256>  <file name>', got {line!r}")
        entries[name] = digest.lower()
    return entries


def write_manifest(path: str | Path, digests: dict[str, str]) -> None:
    """Write {name: sha256} atomically, sorted, in ``sha256sum -c`` format."""
    atomic_write_text(path, "".join(f"{digests[name]}  {name}\n" for name in sorted(digests)))


def verify_file(path: str | Path, expected: str, *, source: str, remove: bool = False) -> str:
    """``path``'s sha256 (``expected`` may be a prefix of it), or ChecksumError naming the file
    and ``source`` (where ``expected`` came from). ``remove`` deletes a file that differs, so a
    rerun of its download rule fetches it again instead of trusting it."""
    path = Path(path)
    if not path.is_file():
        raise ChecksumError(f"{path}: missing, but {source} lists it; run its download rule again")
    actual = sha256_file(path)
    if not actual.startswith(expected.lower()):
        if remove:
            path.unlink()
            remedy = "it was removed, rerun its download rule to fetch it again"
        else:
            remedy = "force its download rule to run again (snakemake --forcerun download_tweeteval or download_weights)"
        raise ChecksumError(
            f"{path}: sha256 {actual} differs from {expected} ({source}); the file is damaged or was replaced: {remedy}"
        )
    return actual


def verify_manifest(path: str | Path, *, remove: bool = False) -> dict[str, str]:
    """Check every file that the manifest at ``path`` lists (relative to its folder) against
    its recorded sha256; returns the manifest. A missing manifest means the download never
    finished, so it is an error too."""
    path = Path(path)
    if not path.is_file():
        raise ChecksumError(
            f"{path}: no checksum manifest, so the files beside it were never completely downloaded; "
            f"run the download rule that writes it"
        )
    digests = read_manifest(path)
    for name, digest in digests.items():
        verify_file(path.parent / name, digest, source=f"recorded in {path}", remove=remove)
    return digests


def _fetch_once(url: str, tmp: Path, timeout: float, at: float) -> tuple[str, int]:
    """Stream ``url`` into ``tmp``; returns (sha256, size). Raises _Transient for retryable
    faults and DownloadError for the others."""
    try:
        with urllib.request.urlopen(url, timeout=min(timeout, max(at - time.monotonic(), 0.01))) as response:
            content_type = response.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip().lower() == "text/html":
                raise DownloadError(f"{url}: the server sent an HTML page (Content-Type {content_type}), not the file")
            expected = response.headers.get("Content-Length")
            digest, size = hashlib.sha256(), 0
            with open(tmp, "wb") as f:
                # read1 returns what the socket has: a server that drips bytes meets the deadline
                # between blocks, and the socket timeout bounds each wait for one.
                while block := response.read1(CHUNK):
                    f.write(block)
                    digest.update(block)
                    size += len(block)
                    if time.monotonic() > at:
                        raise TimeoutError(f"deadline passed after {size} bytes")
    except urllib.error.HTTPError as e:
        if e.code >= 500 or e.code in (408, 429):
            raise _Transient(f"HTTP {e.code} {e.reason}") from e
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason} (not retried)") from e
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError) as e:
        raise _Transient(f"{type(e).__name__}: {e}") from e
    if expected is not None and size != int(expected):
        raise _Transient(f"truncated response: got {size} of {expected} bytes")
    return digest.hexdigest(), size


def fetch(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    validate: Callable[[Path], None] | None = None,
    retries: int = 3,
    timeout: float = 30,
    deadline: float = 1800,
    backoff: float = 0.5,
) -> str:
    """Download ``url`` to ``dest``; returns the file's sha256.

    ``sha256`` is the expected digest or a prefix of it (at least 8 hex digits).
    ``validate(path)`` raises ValueError when the bytes do not parse as the file they should
    be (an error page served with status 200, a body cut short without Content-Length).
    ``timeout`` bounds each wait for the server, ``deadline`` the whole download, retries and
    their pauses included (exceeded by at most one ``timeout``). Up to ``retries`` further
    attempts follow a transient failure (connection trouble, HTTP 5xx, 408, 429, a body
    shorter than its Content-Length), waiting ``backoff * 2**k`` seconds. Other HTTP errors,
    a wrong checksum and a failed validation are final: they mean the source is wrong, not
    the network. Whatever happens, ``dest`` is either the verified file or untouched, and no
    temporary file remains.
    """
    if sha256 is not None and len(sha256) < SHA256_PREFIX_MIN:
        raise ValueError(f"{url}: expected sha256 {sha256!r} is shorter than {SHA256_PREFIX_MIN} hex digits")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_temp(dest)
    tmp = temp_path(dest)
    started = time.monotonic()
    at = started + deadline
    try:
        for attempt in range(retries + 1):
            try:
                digest, size = _fetch_once(url, tmp, timeout, at)
                break
            except _Transient as e:
                pause = backoff * 2**attempt
                if attempt == retries or time.monotonic() + pause > at:
                    limit = "" if attempt == retries else f" (stopped by its {deadline:g} s deadline)"
                    raise DownloadError(f"{url}: failed after {attempt + 1} attempts{limit}; last error: {e}") from e
                log.warning("%s: %s; retrying in %.1f s", url, e, pause)
                time.sleep(pause)
        if sha256 is not None and not digest.startswith(sha256.lower()):
            raise ChecksumError(f"{url}: checksum mismatch for {dest}: expected sha256 {sha256}, got {digest}")
        if validate is not None:
            try:
                validate(tmp)
            except ValueError as e:
                raise DownloadError(f"{url}: the downloaded file is not a valid {dest.name}: {e}") from e
        os.replace(tmp, dest)
        log.info("%s: %d bytes in %.1f s -> %s (sha256 %s)", url, size, time.monotonic() - started, dest, digest)
        return digest
    finally:
        tmp.unlink(missing_ok=True)
