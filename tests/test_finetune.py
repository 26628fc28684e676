"""Masked fine-tuning: masks keep the right number of features; training resumes exactly."""

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


def test_training_learns_and_resume_is_exact(tmp_path, monkeypatch):
    import attrib.finetune as ft

    train_data, val_data = _data(256, 0), _data(128, 1)
    schedule = Schedule(epochs=4, lr=0.05, batch_size=32)
    kwargs = dict(lam=0.5, levels=[1, 0.5], schedule=schedule, seed=0, device=torch.device("cpu"), progress=False)

    torch.manual_seed(0)
    full, history = train(TinyImageModel(), train_data, val_data, state_path=tmp_path / "a.state", **kwargs)
    assert history[-1]["val_accuracy"] > 0.9 > history[0]["val_accuracy"]

    # kill a second run during epoch 3, then resume it from its state file
    real_record = ft._epoch_record

    def dies_at_epoch_3(model, epoch, *args):
        if epoch == 3:
            raise KeyboardInterrupt
        return real_record(model, epoch, *args)

    torch.manual_seed(0)
    state = tmp_path / "b.state"
    monkeypatch.setattr(ft, "_epoch_record", dies_at_epoch_3)
    try:
        train(TinyImageModel(), train_data, val_data, state_path=state, **kwargs)
    except KeyboardInterrupt:
        pass
    assert torch.load(state, weights_only=False)["state"].epoch == 2
    monkeypatch.setattr(ft, "_epoch_record", real_record)
    resumed, resumed_history = train(TinyImageModel(), train_data, val_data, state_path=state, **kwargs)
    drop_time = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert drop_time(resumed_history) == drop_time(history)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_vit_with_the_drop_option_fine_tunes_by_dropping_tokens(tmp_path, monkeypatch):
    """``removal: drop`` reaches masked fine-tuning: every masked batch (training and validation)
    drops tokens, none is painted black."""
    import pytest

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
