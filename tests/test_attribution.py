import captum.attr
import pytest
import torch
import torch.nn as nn

from attrib.attribution import Attribution, build_method, METHODS
from helpers import ImageStub, TextStub


def conv_model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    return ImageStub(net).eval()


def images(n=5):
    return torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(3)).requires_grad_()


def test_saliency_equals_captum_and_is_chunk_invariant():
    model, x = conv_model(), images()
    target = model(x).argmax(dim=1)
    want = captum.attr.Saliency(model).attribute(x, target=target, abs=True)
    for chunk in (2, 64):
        got = build_method("saliency", model, chunk_size=chunk).attribute(x)
        assert torch.allclose(got.map, want, atol=1e-7)
        assert got.features.shape == (5, 16)
    signed = build_method("saliency", model).attribute(x, target=1, abs=False)
    assert torch.allclose(signed.map, captum.attr.Saliency(model).attribute(x, target=1, abs=False))


def test_intgrad_equals_captum():
    model, x = conv_model(), images()
    want = captum.attr.IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=2, n_steps=32)
    got = build_method("intgrad", model, chunk_size=3).attribute(x, target=2)
    assert torch.allclose(got.map, want, atol=1e-6)
    got8 = build_method("intgrad", model).attribute(x, target=torch.full((5,), 2), n_steps=8)
    want8 = captum.attr.IntegratedGradients(model).attribute(x, baselines=0 * x, target=2, n_steps=8)
    assert torch.allclose(got8.map, want8, atol=1e-6)


def test_features_are_patch_means_of_abs_map_by_hand():
    m = torch.tensor([[1.0, -2, 0, 0], [3, 0, 0, 4], [0, 0, -1, -1], [0, 0, -1, -1]])
    weight = torch.zeros(2, 3, 4, 4)
    weight[0, 0], weight[0, 1] = m, 2 * m  # channel mean of |W_0| is |m|
    linear = nn.Linear(48, 2, bias=False)
    linear.weight.data = weight.flatten(1)
    model = ImageStub(nn.Sequential(nn.Flatten(), linear), patch=2, num_classes=2)
    x = torch.ones(1, 3, 4, 4, requires_grad=True)
    sal = build_method("saliency", model).attribute(x, target=0)
    assert torch.equal(sal.map, weight[:1].abs())
    assert sal.features.tolist() == [[1.5, 1.0, 0.0, 1.0]]
    # integrated gradients of a linear model from black is exactly x * W
    ig = build_method("intgrad", model).attribute(0.5 * x, target=0)
    assert torch.allclose(ig.map, 0.5 * weight[:1], atol=1e-6)
    assert torch.allclose(ig.features, torch.tensor([[0.75, 0.5, 0.0, 0.5]]))


def test_default_target_is_predicted_class():
    model, x = conv_model(), images()
    pred = model(x).argmax(dim=1)
    method = build_method("saliency", model)
    assert torch.equal(method.attribute(x).map, method.attribute(x, target=pred).map)


def target_logit(model, ids, alpha, target):
    return model(ids, keep=alpha).gather(1, target[:, None]).squeeze(1)


def test_text_saliency_matches_finite_differences():
    model = TextStub()
    ids = torch.tensor([[3, 5, 7, 9, 0, 0], [4, 4, 11, 2, 1, 0]])
    target = model(ids).argmax(dim=1)
    got = build_method("saliency", model, chunk_size=1).attribute(ids)
    assert got.map is None and got.features.shape == (2, 6)
    h = 1e-6
    ones = torch.ones(2, 6, dtype=torch.double)
    for i in range(6):
        e = torch.zeros_like(ones)
        e[:, i] = h
        fd = (target_logit(model, ids, ones + e, target) - target_logit(model, ids, ones - e, target)) / (2 * h)
        fd = fd.abs() * (ids[:, i] != 0)
        assert torch.allclose(got.features[:, i].double(), fd, atol=1e-5)
    assert (got.features[0, 4:] == 0).all() and got.features[1, 5] == 0


def test_text_intgrad_matches_path_integral():
    model = TextStub()
    ids = torch.tensor([[3, 5, 7, 9, 0, 0], [4, 4, 11, 2, 1, 0]])
    got = build_method("intgrad", model).attribute(ids, target=1)
    steps = 400
    total = torch.zeros(2, 6, dtype=torch.double)
    for t in (torch.arange(steps, dtype=torch.double) + 0.5) / steps:
        alpha = torch.full((2, 6), t.item(), dtype=torch.double, requires_grad=True)
        total += torch.autograd.grad(target_logit(model, ids, alpha, torch.tensor([1, 1])).sum(), alpha)[0]
    want = (total / steps).abs() * (ids != 0)
    assert torch.allclose(got.features.double(), want, atol=1e-4)


def test_random_is_seeded_and_masked():
    model = TextStub()
    ids = torch.tensor([[3, 5, 0], [4, 1, 2]])
    a = build_method("random", model, seed=4).attribute(ids)
    b = build_method("random", model, seed=4).attribute(ids)
    c = build_method("random", model).attribute(ids, seed=5)
    assert isinstance(a, Attribution) and a.map is None
    assert torch.equal(a.features, b.features) and not torch.equal(a.features, c.features)
    assert a.features[0, 2] == 0 and (a.features[1] > 0).all()
    assert build_method("random", conv_model()).attribute(images()).features.shape == (5, 16)
    # a shard (the second input, at its index) gets the row the whole set gets
    assert torch.equal(build_method("random", model, seed=4).attribute(ids[1:], index=[1]).features, a.features[1:])


def test_registry_errors():
    assert set(METHODS) >= {"saliency", "intgrad", "random"}
    with pytest.raises(ValueError, match="intgrad"):
        build_method("nope", conv_model())
    with pytest.raises(TypeError):
        build_method("saliency", conv_model(), n_steps=3)


def test_stored_maps_sum_channels_and_spread_feature_scores_by_hand():
    from attrib.attribution.base import Attribution, stored_maps

    model = conv_model()  # patch 2 on 8 px: a 4 × 4 grid
    pixel = torch.zeros(1, 3, 8, 8)
    pixel[0, 0, 0, 0], pixel[0, 1, 0, 0], pixel[0, 2, 7, 7] = 1.0, -3.0, 2.0
    signed, magnitude = stored_maps(Attribution(pixel, torch.zeros(1, 16)), model, 8)
    assert signed[0, 0, 0] == -2.0 and magnitude[0, 0, 0] == 4.0 and magnitude[0, 7, 7] == 2.0
    assert magnitude.sum() == 6.0

    features = torch.zeros(1, 16)
    features[0, 5] = -0.5  # grid cell (1, 1): pixels 2..3 × 2..3
    signed, magnitude = stored_maps(Attribution(None, features), model, 8)
    assert signed is None
    assert magnitude[0, 2:4, 2:4].eq(0.5).all() and magnitude.sum() == 2.0

    assert stored_maps(Attribution(None, torch.ones(1, 5)), TextStub(), 8) == (None, None)


def test_labelled_puts_the_label_columns_first_in_order():
    import pandas as pd

    from attrib.tables import labelled

    table = labelled(pd.DataFrame({"value": [1, 2]}), dataset="d", model="m", lam=0.5)
    assert list(table.columns) == ["dataset", "model", "lam", "value"]
    assert table["model"].tolist() == ["m", "m"]


def test_stored_magnitude_keeps_float32_ranks():
    """DiffID ranks the stored magnitude's pixels: float16 would tie values 1e-4 apart near 1."""
    from attrib.attribution.base import stored_maps

    model = conv_model()
    pixel_map = (1 + 1e-4 * torch.arange(2 * 8 * 8, dtype=torch.float32)).view(2, 1, 8, 8).expand(-1, 3, -1, -1)
    signed, magnitude = stored_maps(Attribution(-pixel_map, torch.zeros(2, 16)), model, 8)
    assert magnitude.dtype == torch.float32 and torch.equal(magnitude, pixel_map.abs().sum(dim=1))
    assert magnitude.unique().numel() == 128  # every pixel its own rank
    assert signed.dtype == torch.float16 and signed.shape == (2, 8, 8)
    features = torch.linspace(-1, 1, 32).view(2, 16)
    signed, magnitude = stored_maps(Attribution(None, features), model, 8)
    assert signed is None and magnitude.dtype == torch.float32 and magnitude[0, :2, :2].eq(1.0).all()
