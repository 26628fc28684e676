"""attrib.runtime's writers and readers: atomic writes, sweeping what killed writers left,
and loading pipeline files with errors that name the file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from attrib.runtime import atomic_save, atomic_write_text, load_torch_file, sweep_temp, temp_path

CHECKPOINT_KEYS = ("name", "options", "meta", "state_dict", "extra")  # what save_checkpoint writes


def test_sweep_removes_only_the_temporaries_of_its_target(tmp_path):
    target = tmp_path / "lam1.pt"
    stale = ["lam1.pt.tmp", "lam1.pt.tmp4711", ".lam1.pt.abc123.part", "lam1.pt.part", "lam1.pt.partial",
             f"lam1.pt.{'0123456789abcdef' * 2}.partial"]
    kept = ["lam1.pt", "lam1.pt.state", "lam10.pt.tmp1", "lam1.pt.tmpl", "other.pt.tmp1", "xlam1.pt.part"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"")
    assert sorted(p.name for p in sweep_temp(target)) == sorted(stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    assert sweep_temp(tmp_path / "missing" / "x.pt") == []


def test_atomic_writers_replace_whole_files_or_nothing(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "meta.json"
    atomic_write_text(path, "old")
    (path.parent / "meta.json.tmp99").write_text("left by a killed job")
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and [p.name for p in path.parent.iterdir()] == ["meta.json"]

    def dies(obj, target, *args, **kwargs):
        Path(target).write_bytes(b"torn")
        raise KeyboardInterrupt

    atomic_save({"a": 1}, tmp_path / "x.pt")
    monkeypatch.setattr(torch, "save", dies)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"a": 2}, tmp_path / "x.pt")
    monkeypatch.undo()
    assert torch.load(tmp_path / "x.pt") == {"a": 1}
    assert not temp_path(tmp_path / "x.pt").exists()


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


CHECKPOINT = saved({"name": "resnet", "options": {}, "meta": {}, "state_dict": {"w": torch.zeros(3)}, "extra": None})


@pytest.mark.parametrize(
    "content, message",
    [
        (CHECKPOINT[:-40], "not a readable model checkpoint"),
        (b"", "not a readable model checkpoint"),
        (b"PK\x03\x04 garbage" * 20, "not a readable model checkpoint"),
        (saved({"x": torch.zeros(1), "y": torch.zeros(1)}), r"not a model checkpoint: it lacks \['name', .*'x', 'y'"),
        (saved(torch.zeros(2)), "holds a Tensor, not a dict"),
    ],
    ids=["truncated", "empty", "garbage", "a-data-split", "a-tensor"],
)
def test_load_torch_file_names_the_file_and_what_it_expected(tmp_path, content, message):
    path = tmp_path / "lam0.5.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        load_torch_file(path, what="model checkpoint", keys=CHECKPOINT_KEYS, remedy="rerun rule finetune")
    assert str(path) in str(err.value) and str(err.value).endswith("rerun rule finetune")


def test_load_torch_file_reads_a_good_file_and_names_a_missing_one(tmp_path):
    path = tmp_path / "lam1.pt"
    with pytest.raises(FileNotFoundError, match=f"model checkpoint not found: {path} \\(rerun rule finetune\\)"):
        load_torch_file(path, what="model checkpoint", keys=CHECKPOINT_KEYS, remedy="rerun rule finetune")
    path.write_bytes(CHECKPOINT)
    assert load_torch_file(path, what="model checkpoint", keys=CHECKPOINT_KEYS, remedy="")["name"] == "resnet"


def test_load_checkpoint_names_a_damaged_or_mismatched_checkpoint(tmp_path):
    from attrib.models import build_model, load_checkpoint, save_checkpoint

    meta = {"modality": "image", "num_classes": 10, "image_size": 32, "patch": 4, "mean": [0.3, 0.4, 0.5]}
    path = tmp_path / "lam1.pt"
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match=f"{path}: not a readable model checkpoint.*finetune"):
        load_checkpoint(path)
    save_checkpoint(build_model("resnet", meta, {"width": 8}), path)
    payload = torch.load(path, weights_only=True)
    payload["options"] = {"width": 16}  # weights of a narrower network under a wider one's options
    torch.save(payload, path)
    with pytest.raises(ValueError, match=f"{path}: its weights do not fit model 'resnet'"):
        load_checkpoint(path)
