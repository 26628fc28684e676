"""Fetch the TweetEval sentiment files into ``resources/`` (the download rule's job).

A split counts as downloaded only when both its files arrived complete (``attrib.download.fetch``),
parse (one label in 0..2 per line, UTF-8 text that is no HTML page) and agree (one label per
text line); only then are their sha256 recorded in ``SHA256SUMS``, the rule's output. A rerun
verifies recorded files instead of fetching them again. The base URL is a parameter so tests
and mirrors can point it at any server.
"""

from __future__ import annotations

from pathlib import Path

from attrib.download import MANIFEST, DownloadError, fetch, read_manifest, verify_file, write_manifest

TWEETEVAL_BASE_URL = "https://raw.githubusercontent.com/cardiffnlp/tweeteval/main/datasets/sentiment"
SPLITS = ("train", "val", "test")
TWEETEVAL_FILES = tuple(f"{split}_{kind}.txt" for split in SPLITS for kind in ("text", "labels"))
LABELS = ("0", "1", "2")  # negative, neutral, positive


def _lines(path: Path) -> list[str]:
    """Records as ``attrib.data.text`` reads them: '\\n'-terminated lines (a tweet may hold
    U+2028, which str.splitlines would split on)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text ({e})") from e
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError("the file is empty")
    return lines


def check_text(path: Path) -> None:
    """Tweets, one per line: UTF-8 and not an HTML page (an error page served as text/plain)."""
    head = _lines(path)[0].lstrip().lower()
    if head.startswith(("<!doctype html", "<html")):
        raise ValueError(f"it is an HTML page, not tweets (line 1: {head[:60]!r})")


def check_labels(path: Path) -> None:
    """One label per line, each 0, 1 or 2."""
    for number, line in enumerate(_lines(path), 1):
        if line.strip() not in LABELS:
            raise ValueError(f"line {number} is {line[:60]!r}, not a label ({', '.join(LABELS)})")


def download_tweeteval(
    base_url: str,
    dest_dir: str | Path,
    *,
    checksums: dict[str, str] | None = None,
    retries: int = 3,
    timeout: float = 30,
    deadline: float = 600,
    backoff: float = 0.5,
) -> dict[str, str]:
    """Fetch ``base_url/<name>`` for every TweetEval file into ``dest_dir``; returns {name: sha256}.

    A file already recorded in ``SHA256SUMS`` (or given in ``checksums``) is verified, not
    fetched; one that differs is removed and reported. A split whose files fail to download,
    parse or agree is removed entirely and reported with its URLs.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {name: digest.lower() for name, digest in (checksums or {}).items()}
    unknown = sorted(set(wanted) - set(TWEETEVAL_FILES))
    if unknown:
        raise ValueError(f"checksums given for {unknown}, which are no TweetEval files; known: {list(TWEETEVAL_FILES)}")
    manifest = dest / MANIFEST
    recorded = read_manifest(manifest)
    digests = {}
    for split in SPLITS:
        text, labels = dest / f"{split}_text.txt", dest / f"{split}_labels.txt"
        fetched = []
        try:
            for path, validate in ((text, check_text), (labels, check_labels)):
                expected = wanted.get(path.name) or recorded.get(path.name)
                source = "asked for by the download's checksums" if path.name in wanted else f"recorded in {manifest}"
                if expected and path.exists():
                    digests[path.name] = verify_file(path, expected, source=source, remove=True)
                    continue
                url = f"{base_url.rstrip('/')}/{path.name}"
                digests[path.name] = fetch(
                    url, path, sha256=expected, validate=validate, retries=retries, timeout=timeout,
                    deadline=deadline, backoff=backoff,
                )
                fetched.append(path)
            counts = {path.name: len(_lines(path)) for path in (text, labels)}
            if len(set(counts.values())) > 1:
                raise DownloadError(
                    f"{base_url.rstrip('/')}/{{{text.name},{labels.name}}}: {text.name} has {counts[text.name]} "
                    f"lines but {labels.name} {counts[labels.name]}; TweetEval has one label per text line"
                )
        except BaseException:
            for path in fetched:
                path.unlink(missing_ok=True)
            raise
        recorded.update({name: digests[name] for name in (text.name, labels.name)})
        write_manifest(manifest, recorded)
    return digests
