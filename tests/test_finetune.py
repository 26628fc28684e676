"""Masked fine-tuning: masks keep the right number of features; training resumes exactly."""

import logging

import pytest
import torch
import torch.nn as nn

from attrib.features import apply_removal
from attrib.finetune import Schedule, masking_levels, random_keep_masks, train


def test_keep_counts_follow_round_p_level_plus_u():
    gen = torch.Generator().manual_seed(0)
    valid = torch.ones(2000, 64, dtype=torch.bool)
    keep = random_keep_masks(valid, 0.25, gen)
    counts = keep.sum(1)
    assert set(counts.unique().tolist()) <= {15.0, 16.0, 17.0}
    assert abs(counts.mean().item() - 16) < 0.2
    # every feature equally likely
    assert (keep.mean(0) - 0.25).abs().max() < 0.05


def test_keep_masks_only_touch_real_features():
    gen = torch.Generator().manual_seed(1)
    valid = torch.zeros(500, 10, dtype=torch.bool)
    valid[:, 1:5] = True  # 4 real tokens; specials and pads elsewhere
    keep = random_keep_masks(valid, 0.5, gen)
    assert torch.all(keep[:, ~valid[0]] == 1)
    assert set(keep[:, 1:5].sum(1).unique().tolist()) <= {1.0, 2.0, 3.0}


def test_levels():
    assert masking_levels(1, [1, 0.5]) == [1.0]
    assert masking_levels(0.25, [1, 0.5]) == [0.25, 0.125]


class TinyImageModel(nn.Module):
    modality = "image"
    num_classes = 2

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))

    def feature_mask(self, x):
        return torch.ones(len(x), 16, dtype=torch.bool)

    def forward(self, x, keep=None, removal=None):
        if keep is not None:
            x = apply_removal(x, keep, 2)
        return self.net(x)


def _data(n, seed):
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=gen)
    x = (torch.rand(n, 3, 8, 8, generator=gen) * 0.3 * 255).to(torch.uint8)
    x[y == 1, 0] += 150  # class 1: red
    return x, y


KWARGS = dict(lam=0.5, levels=[1, 0.5], seed=0, device=torch.device("cpu"), progress=False)
SCHEDULE = Schedule(epochs=4, lr=0.05, batch_size=32)


def run(state, schedule=SCHEDULE, data=None, **changes):
    """A fresh model (same initial weights every time) trained on the test data."""
    torch.manual_seed(0)
    train_data, val_data = data or (_data(256, 0), _data(128, 1))
    return train(TinyImageModel(), train_data, val_data, state_path=state, schedule=schedule, **{**KWARGS, **changes})


def killed_at_epoch_3(monkeypatch, state, **changes):
    """A run killed while training its third epoch: the state holds epochs 1 and 2."""
    import attrib.finetune as ft

    real_record = ft._epoch_record

    def dies_at_epoch_3(model, epoch, *args):
        if epoch == 3:
            raise KeyboardInterrupt
        return real_record(model, epoch, *args)

    with monkeypatch.context() as m:
        m.setattr(ft, "_epoch_record", dies_at_epoch_3)
        with pytest.raises(KeyboardInterrupt):
            run(state, **changes)
    assert torch.load(state, weights_only=False)["state"].epoch == 2


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_training_learns_and_resume_is_exact(tmp_path, monkeypatch, caplog):
    full, history, seconds = run(tmp_path / "a.state")
    assert history[-1]["val_accuracy"] > 0.9 > history[0]["val_accuracy"]
    assert len(seconds) == 4 and all(s > 0 for s in seconds)
    assert not any("seconds" in record for record in history)  # wall-clock lives apart

    state = tmp_path / "b.state"
    killed_at_epoch_3(monkeypatch, state)
    with caplog.at_level(logging.INFO, logger="attrib.finetune"):
        resumed, resumed_history, resumed_seconds = run(state)
    assert f"resuming from {state} at epoch 2" in caplog.text
    assert resumed_history == history and len(resumed_seconds) == 4
    assert same_weights(full, resumed)


@pytest.mark.parametrize(
    "change, differs",
    [
        ({"schedule": Schedule(epochs=4, lr=0.1, batch_size=32)}, "lr: 0.05 -> 0.1"),
        ({"seed": 1}, "seed: 0 -> 1"),
        ({"data": (_data(256, 7), _data(128, 1))}, "data: "),
    ],
    ids=["lr", "seed", "data"],
)
def test_state_of_another_configuration_is_discarded(tmp_path, monkeypatch, caplog, change, differs):
    state = tmp_path / "c.state"
    killed_at_epoch_3(monkeypatch, state)  # saved under SCHEDULE, seed 0, the test data
    with caplog.at_level(logging.WARNING, logger="attrib.finetune"):
        edited, history, _ = run(state, **change)
    assert f"ignoring {state}: it was trained under another configuration" in caplog.text and differs in caplog.text
    uninterrupted, expected, _ = run(tmp_path / "fresh.state", **change)
    assert history == expected and same_weights(edited, uninterrupted)
    assert torch.load(state, weights_only=False)["state"].epoch == 4  # the new run's own state


@pytest.mark.parametrize("content", [b"torn", None], ids=["damaged", "no-config"])
def test_unusable_state_is_discarded(tmp_path, caplog, content):
    state = tmp_path / "d.state"
    if content is None:  # the format before configurations were recorded
        torch.save({"model": {}, "state": None}, state)
    else:
        state.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="attrib.finetune"):
        model, history, _ = run(state, schedule=Schedule(epochs=1, lr=0.05, batch_size=32))
    assert f"ignoring {state}: " in caplog.text and "starting over" in caplog.text
    assert len(history) == 2


def test_vit_with_the_drop_option_fine_tunes_by_dropping_tokens(tmp_path, monkeypatch):
    """``removal: drop`` reaches masked fine-tuning: every masked batch (training and validation)
    drops tokens, none is painted black."""
    from attrib.models import ViTClassifier, build_model

    meta = {"modality": "image", "num_classes": 2, "image_size": 8, "patch": 2}
    torch.manual_seed(0)
    model = build_model("vit", meta, {"num_layers": 1, "num_heads": 1, "hidden_dim": 8, "mlp_dim": 8,
                                      "removal": "drop"})
    kept_per_image = []
    dropping = ViTClassifier._forward_dropped

    def spy(self, x, keep):
        kept_per_image.extend(keep.sum(dim=1).tolist())
        assert ((keep == 0) | (keep == 1)).all()
        return dropping(self, x, keep)

    monkeypatch.setattr(ViTClassifier, "_forward_dropped", spy)
    monkeypatch.setattr(ViTClassifier, "remove", lambda *args: pytest.fail("pixel removal in a dropping ViT"))
    train(model, _data(32, 0), _data(16, 1), lam=0.5, levels=[1, 0.5], schedule=Schedule(epochs=1, lr=1e-3, batch_size=16),
          seed=0, device=torch.device("cpu"), state_path=tmp_path / "vit.state", progress=False)
    # 16 tokens at levels ½ and ¼: round(16·ℓ + u) kept, u ~ U(−1, 1)
    assert len(kept_per_image) == 2 * 32 + 2 * 2 * 16  # training: 32 images × 2 levels; validation: 2 evaluations
    assert set(kept_per_image) <= {3.0, 4.0, 5.0, 7.0, 8.0, 9.0}
