"""download_tweeteval against a real HTTP server on 127.0.0.1 that can misbehave on purpose."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from attrib.data.download import MANIFEST, DownloadError, download_tweeteval, read_manifest

FILES = {
    "train_text.txt": "@user I love it http\nso bad\n".encode(),
    "train_labels.txt": b"2\n0\n",
}


class Handler(BaseHTTPRequestHandler):
    """Paths are /<mode>/<name>; mode: ok, flaky (500 on the first request per file),
    truncated (Content-Length larger than the body), or anything else (404)."""

    def do_GET(self):
        _, mode, name = self.path.split("/", 2)
        hits = self.server.hits
        hits[self.path] = hits.get(self.path, 0) + 1
        body = FILES.get(name)
        if body is None or mode not in ("ok", "flaky", "truncated"):
            self.send_error(404)
            return
        if mode == "flaky" and hits[self.path] == 1:
            self.send_error(500)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + (10 if mode == "truncated" else 0)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.hits = {}
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(path):
    return sorted(p.name for p in path.iterdir() if p.name.endswith(".part"))


def test_success_writes_files_and_manifest(server, tmp_path):
    srv, url = server
    sums = {name: sha(body) for name, body in FILES.items()}
    digests = download_tweeteval(f"{url}/ok", tmp_path, files=tuple(FILES), checksums=sums, backoff=0)
    assert digests == sums
    for name, body in FILES.items():
        assert (tmp_path / name).read_bytes() == body
    assert read_manifest(tmp_path) == sums
    assert (tmp_path / MANIFEST).read_text().splitlines()[0] == f"{sums['train_text.txt']}  train_text.txt"
    assert leftovers(tmp_path) == []
    # A second run trusts the manifest and fetches nothing.
    download_tweeteval(f"{url}/ok", tmp_path, files=tuple(FILES), backoff=0)
    assert all(v == 1 for v in srv.hits.values())


def test_changed_file_is_fetched_again(server, tmp_path):
    srv, url = server
    download_tweeteval(f"{url}/ok", tmp_path, files=tuple(FILES), backoff=0)
    (tmp_path / "train_labels.txt").write_bytes(b"corrupt")
    download_tweeteval(f"{url}/ok", tmp_path, files=tuple(FILES), backoff=0)
    assert (tmp_path / "train_labels.txt").read_bytes() == FILES["train_labels.txt"]
    assert srv.hits["/ok/train_labels.txt"] == 2 and srv.hits["/ok/train_text.txt"] == 1


def test_server_error_is_retried(server, tmp_path):
    srv, url = server
    download_tweeteval(f"{url}/flaky", tmp_path, files=("train_text.txt",), backoff=0)
    assert (tmp_path / "train_text.txt").read_bytes() == FILES["train_text.txt"]
    assert srv.hits["/flaky/train_text.txt"] == 2


def test_truncated_response_retried_then_fails(server, tmp_path):
    srv, url = server
    with pytest.raises(DownloadError, match=r"truncated|IncompleteRead") as err:
        download_tweeteval(f"{url}/truncated", tmp_path, files=("train_text.txt",), retries=2, backoff=0)
    assert f"{url}/truncated/train_text.txt" in str(err.value)
    assert srv.hits["/truncated/train_text.txt"] == 3
    assert not (tmp_path / "train_text.txt").exists()
    assert leftovers(tmp_path) == []


def test_not_found_names_url_without_retrying(server, tmp_path):
    srv, url = server
    with pytest.raises(DownloadError, match="404") as err:
        download_tweeteval(f"{url}/ok", tmp_path, files=("missing.txt",), backoff=0)
    assert f"{url}/ok/missing.txt" in str(err.value)
    assert srv.hits["/ok/missing.txt"] == 1
    assert list(tmp_path.iterdir()) == []


def test_checksum_mismatch(server, tmp_path):
    _, url = server
    wrong = "0" * 64
    with pytest.raises(DownloadError, match="checksum") as err:
        download_tweeteval(
            f"{url}/ok", tmp_path, files=("train_text.txt",), checksums={"train_text.txt": wrong}, backoff=0
        )
    message = str(err.value)
    assert "train_text.txt" in message and wrong in message and sha(FILES["train_text.txt"]) in message
    assert not (tmp_path / "train_text.txt").exists()
    assert leftovers(tmp_path) == []


def test_unreachable_host_names_url(tmp_path):
    with pytest.raises(DownloadError, match="http://127.0.0.1:9/x/train_text.txt"):
        download_tweeteval("http://127.0.0.1:9/x", tmp_path, files=("train_text.txt",), retries=1, backoff=0, timeout=2)
