"""Weight downloads against a local HTTP server (no network): torchvision files through the
project's fetch, the Hugging Face snapshot through huggingface_hub, both recorded and verified."""

import hashlib
import io
import json
import time

import pytest
import torch
from fault_server import Route, serve

from attrib.download import ChecksumError, DownloadError, read_manifest
from attrib.models import download_weights
from attrib.models.text import ROBERTA_REPO
from attrib.models.vision import weights_path
from attrib.models.weights import torchvision_keys, verify_weights, weights_manifest
from attrib.resources import hf_model_dir


def state_bytes(state) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


# The keys of torchvision's ViT-B/16 with one-number tensors: a valid file, 1000x smaller.
PAYLOAD = state_bytes({key: torch.zeros(1) for key in sorted(torchvision_keys("vit_b_16"))})
PREFIX = hashlib.sha256(PAYLOAD).hexdigest()[:8]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def leftovers(resources) -> list[str]:
    folder = weights_path("vit_b_16", resources).parent
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def get(url, resources, **kwargs):
    return download_weights("vit_b_16", resources, url=url, sha256_prefix=PREFIX, backoff=0, **kwargs)


def test_torchvision_weights_land_where_torchvision_looks_and_are_recorded(tmp_path):
    resources = tmp_path / "resources"
    with serve({"/w.pth": Route(PAYLOAD, content_type="application/octet-stream")}) as (server, url):
        path = get(f"{url}/w.pth", resources)
        assert path == resources / "torch" / "hub" / "checkpoints" / "vit_b_16-c867db91.pth"
        assert path == weights_path("vit_b_16", resources) and path.read_bytes() == PAYLOAD
        manifest = weights_manifest("vit_b_16", resources)
        assert read_manifest(manifest) == {path.name: hashlib.sha256(PAYLOAD).hexdigest()}
        assert verify_weights("vit_b_16", resources) == manifest
        assert get(f"{url}/w.pth", resources) == path  # recorded: verified, not fetched again
    assert server.hits == {"/w.pth": 1}
    assert leftovers(resources) == [path.name, manifest.name]


def test_checksum_mismatch_on_reuse_removes_the_file(tmp_path):
    with serve({"/w.pth": Route(PAYLOAD)}) as (server, url):
        path = get(f"{url}/w.pth", tmp_path)
        damaged = bytearray(PAYLOAD)
        damaged[len(damaged) // 2] ^= 1
        path.write_bytes(bytes(damaged))
        with pytest.raises(ChecksumError, match="differs from") as err:
            verify_weights("vit_b_16", tmp_path)  # what the fine-tuning job sees
        assert str(path) in str(err.value) and path.exists()
        with pytest.raises(ChecksumError, match="removed") as err:
            get(f"{url}/w.pth", tmp_path)
        assert str(path) in str(err.value)
        assert leftovers(tmp_path) == [weights_manifest("vit_b_16", tmp_path).name]
        get(f"{url}/w.pth", tmp_path)  # the rerun fetches it again, checked against the record
    assert path.read_bytes() == PAYLOAD and server.hits["/w.pth"] == 2


def test_a_file_without_record_is_checked_then_recorded(tmp_path):
    path = weights_path("vit_b_16", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(PAYLOAD)
    download_weights("vit_b_16", tmp_path, url="http://127.0.0.1:9/never", sha256_prefix=PREFIX)
    assert read_manifest(weights_manifest("vit_b_16", tmp_path)) == {path.name: hashlib.sha256(PAYLOAD).hexdigest()}
    # one that torchvision's name prefix refutes is removed, not trusted
    other = weights_path("resnet50", tmp_path)
    other.write_bytes(PAYLOAD)
    with pytest.raises(ChecksumError, match="sha256 prefix in its file name"):
        download_weights("resnet50", tmp_path, url="http://127.0.0.1:9/never")
    assert not other.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        (PAYLOAD[: len(PAYLOAD) // 2], "does not load as a torch file"),
        (b"", "does not load as a torch file"),
        (b"<html>not found</html>", "does not load as a torch file"),
        (state_bytes([torch.zeros(1)]), "loads as list, not as a state dict"),
        (state_bytes({"conv1.weight": torch.zeros(1)}), "keys do not fit torchvision's vit_b_16: 152 missing"),
    ],
    ids=["truncated", "empty", "garbage", "not-a-dict", "wrong-keys"],
)
def test_weights_that_do_not_load_are_refused(tmp_path, body, message):
    prefix = hashlib.sha256(body).hexdigest()[:8]
    with serve({"/w.pth": Route(body, length="none")}) as (server, url):
        with pytest.raises(DownloadError, match=message) as err:
            download_weights("vit_b_16", tmp_path, url=f"{url}/w.pth", sha256_prefix=prefix)
    assert f"{url}/w.pth" in str(err.value) and "vit_b_16-c867db91.pth" in str(err.value)
    assert server.hits["/w.pth"] == 1
    assert leftovers(tmp_path) == []


def test_hash_mismatch_leaves_nothing(tmp_path):
    with serve({"/w.pth": Route(PAYLOAD)}) as (server, url):
        with pytest.raises(ChecksumError, match="expected sha256 0676ba61") as err:
            download_weights("resnet50", tmp_path, url=f"{url}/w.pth")
    assert f"{url}/w.pth" in str(err.value)
    assert server.hits["/w.pth"] == 1  # a wrong file is not retried
    assert list(weights_path("resnet50", tmp_path).parent.iterdir()) == []


def test_server_errors_are_retried_but_not_found_is_not(tmp_path):
    with serve({"/w.pth": Route(PAYLOAD, fail_first=2), "/gone.pth": Route(status=404)}) as (server, url):
        assert get(f"{url}/w.pth", tmp_path).read_bytes() == PAYLOAD
        assert server.hits["/w.pth"] == 3
        with pytest.raises(DownloadError, match="HTTP 404") as err:
            download_weights("resnet50", tmp_path, url=f"{url}/gone.pth", backoff=0)
    assert f"{url}/gone.pth" in str(err.value)
    assert server.hits["/gone.pth"] == 1
    assert not weights_path("resnet50", tmp_path).exists()


def test_a_dripping_server_meets_the_deadline(tmp_path):
    with serve({"/w.pth": Route(PAYLOAD, drip=0.05)}) as (_, url):
        started = time.monotonic()
        with pytest.raises(DownloadError, match="deadline") as err:
            get(f"{url}/w.pth", tmp_path, deadline=1, timeout=5)
        assert time.monotonic() - started < 3
    assert f"{url}/w.pth" in str(err.value)
    assert leftovers(tmp_path) == []


# --- Hugging Face snapshots ----------------------------------------------------------------------


def fake_snapshot(files):
    """A stand-in for huggingface_hub.snapshot_download that writes ``files`` into local_dir."""
    calls = []

    def snapshot_download(repo, *, local_dir, **kwargs):
        calls.append((repo, local_dir, kwargs))
        for name, body in files.items():
            (local_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (local_dir / name).write_bytes(body)

    return snapshot_download, calls


SNAPSHOT = {
    "config.json": json.dumps({"model_type": "roberta"}).encode(),
    "vocab.json": b"{}",
    "merges.txt": b"#version: 0.2\n",
    "pytorch_model.bin": state_bytes({"roberta.embeddings.word_embeddings.weight": torch.zeros(2, 2),
                                      "classifier.out_proj.weight": torch.zeros(3, 2)}),
    ".cache/huggingface/download/config.json.metadata": b"etag",
}


def test_roberta_snapshot_goes_to_resources_with_a_manifest(tmp_path, monkeypatch):
    import huggingface_hub

    snapshot_download, calls = fake_snapshot(SNAPSHOT)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    path = download_weights("roberta", tmp_path, url="http://127.0.0.1:1")
    assert path == hf_model_dir(tmp_path, "twitter-roberta-base-sentiment")
    ((repo, local_dir, kwargs),) = calls
    assert repo == ROBERTA_REPO and local_dir == path and kwargs["endpoint"] == "http://127.0.0.1:1"
    assert "*.h5" not in kwargs["allow_patterns"]
    recorded = read_manifest(weights_manifest("roberta", tmp_path))
    assert sorted(recorded) == ["config.json", "merges.txt", "pytorch_model.bin", "vocab.json"]  # not HF's .cache
    verify_weights("roberta", tmp_path)
    assert download_weights("roberta", tmp_path) == path and len(calls) == 1  # recorded: not fetched again

    (path / "pytorch_model.bin").write_bytes(b"damaged")
    with pytest.raises(ChecksumError, match="pytorch_model.bin: sha256"):
        verify_weights("roberta", tmp_path)
    with pytest.raises(ChecksumError, match="removed"):
        download_weights("roberta", tmp_path)
    assert not (path / "pytorch_model.bin").exists()
    download_weights("roberta", tmp_path)  # a fresh snapshot
    assert len(calls) == 2 and verify_weights("roberta", tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"config.json": b"<html>"}, "config.json is missing or not JSON"),
        ({"pytorch_model.bin": b"\0" * 10}, "pytorch_model.bin does not load"),
        ({"pytorch_model.bin": state_bytes({"roberta.pooler.dense.weight": torch.zeros(1)})}, "no classifier"),
        ({"merges.txt": None}, "no tokenizer files"),
    ],
)
def test_an_unusable_snapshot_is_not_recorded(tmp_path, monkeypatch, change, message):
    import huggingface_hub

    files = {name: body for name, body in {**SNAPSHOT, **change}.items() if body is not None}
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot(files)[0])
    with pytest.raises(DownloadError, match=message) as err:
        download_weights("roberta", tmp_path)
    assert ROBERTA_REPO in str(err.value)
    assert not weights_manifest("roberta", tmp_path).exists()
    with pytest.raises(ChecksumError, match="no checksum manifest"):
        verify_weights("roberta", tmp_path)


def test_a_failed_snapshot_names_the_repo(tmp_path, monkeypatch):
    import huggingface_hub

    def offline(repo, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(DownloadError, match=f"Hugging Face repo {ROBERTA_REPO} .*connection refused"):
        download_weights("roberta", tmp_path, url="http://127.0.0.1:1")


def test_unknown_model_has_no_weights(tmp_path):
    with pytest.raises(ValueError, match="downloadable"):
        download_weights("resnet", tmp_path)
    with pytest.raises(ValueError, match="downloadable"):
        verify_weights("resnet", tmp_path)

