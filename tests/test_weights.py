"""Weight downloads against a local HTTP server (no network)."""

import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

import attrib.models.weights as weights
from attrib.models import download_weights
from attrib.models.text import ROBERTA_REPO
from attrib.models.vision import weights_path
from attrib.resources import hf_model_dir

PAYLOAD = b"not really resnet50 weights\n" * 100


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Serves tmp_path/www on 127.0.0.1; ``fail_first`` requests answer 500; ``requests`` counts."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    www = tmp_path / "www"
    www.mkdir()
    (www / "fake.pth").write_bytes(PAYLOAD)
    state = {"requests": 0, "fail_first": 0}

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            state["requests"] += 1
            if state["requests"] <= state["fail_first"]:
                self.send_error(500)
            else:
                super().do_GET()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{httpd.server_address[1]}/fake.pth"
    yield state
    httpd.shutdown()
    httpd.server_close()


def test_torchvision_weights_land_where_torchvision_looks(server, tmp_path):
    resources = tmp_path / "resources"
    prefix = hashlib.sha256(PAYLOAD).hexdigest()[:8]
    path = download_weights("vit_b_16", resources, url=server["url"], sha256_prefix=prefix, progress=False)
    assert path == resources / "torch" / "hub" / "checkpoints" / "vit_b_16-c867db91.pth"
    assert path == weights_path("vit_b_16", resources) and path.read_bytes() == PAYLOAD
    # present: nothing is fetched again
    assert download_weights("vit_b_16", resources, url=server["url"], progress=False) == path
    assert server["requests"] == 1


def test_hash_mismatch_leaves_nothing(server, tmp_path):
    with pytest.raises(RuntimeError, match="invalid hash"):
        download_weights("resnet50", tmp_path, url=server["url"], progress=False)
    folder = weights_path("resnet50", tmp_path).parent
    assert list(folder.iterdir()) == []
    assert server["requests"] == 1  # a wrong file is not retried


def test_transient_errors_are_retried(server, tmp_path, monkeypatch):
    monkeypatch.setattr(weights.time, "sleep", lambda s: None)
    server["fail_first"] = 2
    prefix = hashlib.sha256(PAYLOAD).hexdigest()[:8]
    path = download_weights("resnet50", tmp_path, url=server["url"], sha256_prefix=prefix, progress=False)
    assert path.read_bytes() == PAYLOAD and server["requests"] == 3

    server["requests"], server["fail_first"] = 0, 5
    with pytest.raises(OSError):
        download_weights("vit_b_16", tmp_path, url=server["url"], progress=False, retries=2)
    assert server["requests"] == 2


def test_roberta_snapshot_goes_to_resources(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo, **kw: calls.append((repo, kw)))
    path = download_weights("roberta", tmp_path, url="http://127.0.0.1:1")
    assert path == hf_model_dir(tmp_path, "twitter-roberta-base-sentiment")
    (repo, kwargs), = calls
    assert repo == ROBERTA_REPO and kwargs["local_dir"] == path and kwargs["endpoint"] == "http://127.0.0.1:1"
    assert "*.h5" not in kwargs["allow_patterns"]


def test_unknown_model_has_no_weights(tmp_path):
    with pytest.raises(ValueError, match="downloadable"):
        download_weights("resnet", tmp_path)
