"""Downloads against a real HTTP server on 127.0.0.1 that misbehaves on purpose: every fault
ends in an error naming the URL or the file, with nothing (no file, no temporary) left behind."""

from __future__ import annotations

import hashlib
import time

import pytest
from fault_server import Route, serve

from attrib.data.download import TWEETEVAL_FILES, download_tweeteval
from attrib.download import MANIFEST, ChecksumError, DownloadError, fetch, read_manifest, verify_manifest

TEXTS = {split: f"@user {split} one http\n{split} two\u2028still two\n{split} three\n".encode() for split in ("train", "val", "test")}
LABELS = b"2\n0\n1\n"
FILES = {name: TEXTS[name.split("_")[0]] if name.endswith("_text.txt") else LABELS for name in TWEETEVAL_FILES}
HTML = b"<!DOCTYPE html>\n<html><body>Rate limit exceeded</body></html>\n"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def routes(**faults: Route) -> dict[str, Route]:
    """Every TweetEval file served correctly, but the ones given (name without '.txt')."""
    table = {f"/{name}": Route(body) for name, body in FILES.items()}
    table.update({f"/{name}.txt": route for name, route in faults.items()})
    return table


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def fetch_all(url, folder, **kwargs):
    return download_tweeteval(url, folder, backoff=0, **kwargs)


# --- TweetEval: success and reuse ------------------------------------------------------------


def test_success_records_every_file_and_reuse_fetches_nothing(tmp_path):
    with serve(routes()) as (server, url):
        digests = fetch_all(url, tmp_path)
        assert digests == {name: sha(body) for name, body in FILES.items()}
        assert read_manifest(tmp_path / MANIFEST) == digests
        assert files_in(tmp_path) == sorted([*FILES, MANIFEST])
        for name, body in FILES.items():
            assert (tmp_path / name).read_bytes() == body
        assert verify_manifest(tmp_path / MANIFEST) == digests
        fetch_all(url, tmp_path)
        assert set(server.hits.values()) == {1}


def test_checksum_mismatch_on_reuse_removes_the_file_and_a_rerun_restores_it(tmp_path):
    with serve(routes()) as (server, url):
        fetch_all(url, tmp_path)
        (tmp_path / "val_labels.txt").write_bytes(b"2\n0\n0\n")  # damaged, still parses
        with pytest.raises(ChecksumError, match="differs from") as err:
            fetch_all(url, tmp_path)
        assert str(tmp_path / "val_labels.txt") in str(err.value) and MANIFEST in str(err.value)
        assert "val_labels.txt" not in files_in(tmp_path)
        with pytest.raises(ChecksumError, match="val_labels.txt: missing"):
            verify_manifest(tmp_path / MANIFEST)  # what a compute job reading the files sees
        fetch_all(url, tmp_path)
        assert (tmp_path / "val_labels.txt").read_bytes() == LABELS
        assert server.hits["/val_labels.txt"] == 2 and server.hits["/val_text.txt"] == 1


def test_a_changed_source_does_not_replace_the_recorded_file(tmp_path):
    with serve(routes()) as (_, url):
        fetch_all(url, tmp_path)
    (tmp_path / "test_labels.txt").unlink()
    with serve(routes(test_labels=Route(b"0\n0\n0\n"))) as (_, url):
        with pytest.raises(ChecksumError, match=f"expected sha256 {sha(LABELS)}") as err:
            fetch_all(url, tmp_path)
    assert f"{url}/test_labels.txt" in str(err.value)
    assert "test_labels.txt" not in files_in(tmp_path) and "test_text.txt" in files_in(tmp_path)


def test_given_checksum_mismatch(tmp_path):
    wrong = "0" * 64
    with serve(routes()) as (_, url):
        with pytest.raises(ChecksumError, match="checksum") as err:
            fetch_all(url, tmp_path, checksums={"train_text.txt": wrong})
    message = str(err.value)
    assert f"{url}/train_text.txt" in message and wrong in message and sha(FILES["train_text.txt"]) in message
    assert files_in(tmp_path) == []


def test_checksums_for_unknown_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="'train.txt'.*no TweetEval files"):
        download_tweeteval("http://127.0.0.1:9", tmp_path, checksums={"train.txt": "0" * 64})


def test_temporary_files_of_a_killed_run_are_swept(tmp_path):
    stale = ["train_text.txt.tmp4242", ".train_labels.txt.x1y2.part", "val_text.txt.partial"]
    for name in stale:
        (tmp_path / name).write_bytes(b"half")
    with serve(routes()) as (_, url):
        fetch_all(url, tmp_path)
    assert files_in(tmp_path) == sorted([*FILES, MANIFEST])


# --- TweetEval: faults -------------------------------------------------------------------------


def assert_split_absent(folder, split="train"):
    """No file of the split, and no temporary file at all."""
    left = files_in(folder)
    assert not [n for n in left if n.startswith(split) or ".tmp" in n or ".part" in n], left


def test_truncated_without_content_length_is_refused(tmp_path):
    cut = Route(LABELS, length="none", cut=4)  # "2\n0\n": a whole line lost, nothing to detect but parsing
    with serve(routes(train_labels=cut)) as (server, url):
        with pytest.raises(DownloadError, match="train_text.txt has 3 lines but train_labels.txt 2") as err:
            fetch_all(url, tmp_path)
    assert f"{url}/{{train_text.txt,train_labels.txt}}" in str(err.value)
    assert_split_absent(tmp_path)
    assert files_in(tmp_path) == []


def test_truncated_text_without_content_length_is_refused(tmp_path):
    cut = Route(FILES["val_text.txt"], length="none", cut=10)
    with serve(routes(val_text=cut)) as (_, url):
        with pytest.raises(DownloadError, match="val_text.txt has 1 lines but val_labels.txt 3"):
            fetch_all(url, tmp_path)
    assert_split_absent(tmp_path, "val")
    assert read_manifest(tmp_path / MANIFEST).keys() == {"train_text.txt", "train_labels.txt"}  # earlier split kept


def test_body_shorter_than_content_length_is_retried_then_refused(tmp_path):
    with serve(routes(train_text=Route(FILES["train_text.txt"], length="claimed", cut=5))) as (server, url):
        with pytest.raises(DownloadError, match="truncated response: got 5 of") as err:
            fetch_all(url, tmp_path, retries=2)
    assert f"{url}/train_text.txt" in str(err.value) and "after 3 attempts" in str(err.value)
    assert server.hits["/train_text.txt"] == 3
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    "fault, message",
    [
        ({"train_text": Route(HTML, content_type="text/html; charset=utf-8")}, "HTML page \\(Content-Type text/html"),
        ({"train_text": Route(HTML)}, "train_text.txt: it is an HTML page, not tweets"),
        ({"train_labels": Route(HTML)}, "train_labels.txt: line 1 is '<!DOCTYPE html>', not a label"),
        ({"train_labels": Route(b"2\n7\n1\n")}, "line 2 is '7', not a label"),
        ({"train_text": Route(b"caf\xe9\n")}, "not UTF-8 text"),
    ],
)
def test_a_page_that_is_not_the_file_is_refused(tmp_path, fault, message):
    with serve(routes(**fault)) as (server, url):
        with pytest.raises(DownloadError, match=message) as err:
            fetch_all(url, tmp_path)
    (name,) = fault
    assert f"{url}/{name}.txt" in str(err.value)
    assert server.hits[f"/{name}.txt"] == 1  # the wrong content is not fetched again
    assert files_in(tmp_path) == []


def test_not_found_is_not_retried(tmp_path):
    with serve(routes(train_labels=Route(status=404))) as (server, url):
        with pytest.raises(DownloadError, match="HTTP 404") as err:
            fetch_all(url, tmp_path)
    assert f"{url}/train_labels.txt" in str(err.value)
    assert server.hits["/train_labels.txt"] == 1
    assert files_in(tmp_path) == []  # the split's text file, fetched first, is gone too


def test_server_error_is_retried(tmp_path):
    with serve(routes(train_text=Route(FILES["train_text.txt"], fail_first=2))) as (server, url):
        fetch_all(url, tmp_path)
    assert server.hits["/train_text.txt"] == 3
    assert (tmp_path / "train_text.txt").read_bytes() == FILES["train_text.txt"]


def test_persistent_server_error_gives_up(tmp_path):
    with serve(routes(train_text=Route(status=500))) as (server, url):
        with pytest.raises(DownloadError, match="failed after 2 attempts; last error: HTTP 500") as err:
            fetch_all(url, tmp_path, retries=1)
    assert f"{url}/train_text.txt" in str(err.value)
    assert server.hits["/train_text.txt"] == 2
    assert files_in(tmp_path) == []


def test_slow_drip_stops_at_the_deadline(tmp_path):
    drip = Route(FILES["train_text.txt"] * 20, drip=0.02)  # ~1 kB at 50 B/s: 20 s
    with serve(routes(train_text=drip)) as (_, url):
        started = time.monotonic()
        with pytest.raises(DownloadError, match="deadline") as err:
            fetch_all(url, tmp_path, deadline=1, timeout=5)
        took = time.monotonic() - started
    assert 1 <= took < 3
    assert f"{url}/train_text.txt" in str(err.value)
    assert files_in(tmp_path) == []


def test_silent_server_times_out_within_the_deadline(tmp_path):
    with serve(routes(train_text=Route(FILES["train_text.txt"], silent=True))) as (_, url):
        started = time.monotonic()
        with pytest.raises(DownloadError, match="timed out") as err:
            fetch_all(url, tmp_path, deadline=1.5, timeout=0.5)
        took = time.monotonic() - started
    assert took < 2.5
    assert f"{url}/train_text.txt" in str(err.value)
    assert files_in(tmp_path) == []


def test_unreachable_host_names_url(tmp_path):
    with pytest.raises(DownloadError, match="http://127.0.0.1:9/x/train_text.txt"):
        download_tweeteval("http://127.0.0.1:9/x", tmp_path, retries=1, backoff=0, timeout=2)
    assert files_in(tmp_path) == []


# --- fetch itself ------------------------------------------------------------------------------


def test_fetch_replaces_a_file_only_when_the_new_one_is_valid(tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"old")
    with serve({"/data.bin": Route(b"new bytes")}) as (_, url):
        def refuse(path):
            raise ValueError("not today")

        with pytest.raises(DownloadError, match=f"{url}/data.bin: the downloaded file is not a valid data.bin: not today"):
            fetch(f"{url}/data.bin", dest, validate=refuse, backoff=0)
        assert dest.read_bytes() == b"old" and files_in(tmp_path) == ["data.bin"]
        digest = fetch(f"{url}/data.bin", dest, sha256=sha(b"new bytes")[:8], backoff=0)
    assert digest == sha(b"new bytes") and dest.read_bytes() == b"new bytes"


def test_verify_manifest_without_a_manifest_says_the_download_never_finished(tmp_path):
    with pytest.raises(ChecksumError, match="no checksum manifest"):
        verify_manifest(tmp_path / MANIFEST)
    (tmp_path / MANIFEST).write_text("not a manifest\n")
    with pytest.raises(ChecksumError, match=f"{MANIFEST}, line 1"):
        verify_manifest(tmp_path / MANIFEST)
