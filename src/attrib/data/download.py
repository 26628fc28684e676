"""Fetch plain files over HTTP(S) robustly: retries, length and checksum checks, atomic writes.

Used by the download rule for TweetEval. The base URL is a parameter so tests (and mirrors)
can point it at any server. A file is only ever visible under its final name once complete
and verified; ``SHA256SUMS`` records what was fetched so re-runs skip verified files.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TWEETEVAL_BASE_URL = "https://raw.githubusercontent.com/cardiffnlp/tweeteval/main/datasets/sentiment"
TWEETEVAL_FILES = (
    "train_text.txt", "train_labels.txt",
    "val_text.txt", "val_labels.txt",
    "test_text.txt", "test_labels.txt",
)
MANIFEST = "SHA256SUMS"
CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A file could not be fetched or verified; the message names the URL."""


class _Transient(Exception):
    """A failure worth retrying (connection trouble, server error, truncated body)."""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(dest_dir: str | Path) -> dict[str, str]:
    path = Path(dest_dir) / MANIFEST
    if not path.is_file():
        return {}
    entries = (line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
    return {name.lstrip("*").strip(): digest for digest, name in entries}


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _fetch_once(url: str, tmp_path: str, timeout: float) -> str:
    """Stream ``url`` into ``tmp_path``; returns the sha256. Raises _Transient for retryable faults."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            expected = response.headers.get("Content-Length")
            digest, size = hashlib.sha256(), 0
            with open(tmp_path, "wb") as f:
                for block in iter(lambda: response.read(CHUNK), b""):
                    f.write(block)
                    digest.update(block)
                    size += len(block)
    except urllib.error.HTTPError as e:
        if e.code >= 500 or e.code == 429:
            raise _Transient(f"HTTP {e.code} {e.reason}") from e
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError) as e:
        raise _Transient(f"{type(e).__name__}: {e}") from e
    if expected is not None and size != int(expected):
        raise _Transient(f"truncated response: got {size} of {expected} bytes")
    return digest.hexdigest()


def fetch(url: str, dest: str | Path, *, sha256: str | None = None, retries: int = 3, timeout: float = 30,
          backoff: float = 0.5) -> str:
    """Download ``url`` to ``dest`` atomically; returns the file's sha256.

    Up to ``retries`` further attempts follow a transient failure, waiting ``backoff * 2**k``
    seconds. A checksum mismatch is not retried: it means the source changed, not the network.
    """
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        for attempt in range(retries + 1):
            try:
                digest = _fetch_once(url, tmp, timeout)
                break
            except _Transient as e:
                if attempt == retries:
                    raise DownloadError(f"{url}: failed after {retries + 1} attempts; last error: {e}") from e
                time.sleep(backoff * 2**attempt)
        if sha256 is not None and digest != sha256.lower():
            raise DownloadError(f"{url}: checksum mismatch for {dest.name}: expected sha256 {sha256}, got {digest}")
        os.replace(tmp, dest)
        return digest
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def download_tweeteval(
    base_url: str,
    dest_dir: str | Path,
    *,
    files=TWEETEVAL_FILES,
    checksums: dict[str, str] | None = None,
    retries: int = 3,
    timeout: float = 30,
    backoff: float = 0.5,
) -> dict[str, str]:
    """Fetch ``base_url/<name>`` for each name into ``dest_dir`` and write ``SHA256SUMS``.

    A file already present is kept if it matches ``checksums`` (or, without one, the digest
    recorded in an earlier manifest). Returns {name: sha256}.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    checksums = checksums or {}
    recorded = read_manifest(dest)
    digests = {}
    for name in files:
        path = dest / name
        wanted = checksums.get(name)
        known = wanted or recorded.get(name)
        if known is not None and path.is_file() and sha256_file(path) == known.lower():
            digests[name] = known.lower()
            continue
        url = f"{base_url.rstrip('/')}/{name}"
        digests[name] = fetch(url, path, sha256=wanted, retries=retries, timeout=timeout, backoff=backoff)
    manifest = {**recorded, **digests}
    _atomic_write_text(dest / MANIFEST, "".join(f"{digest}  {name}\n" for name, digest in manifest.items()))
    return digests
