"""The added attribution methods against captum, by hand, and for seed/chunk invariance."""

import warnings

import captum.attr
import pytest
import torch
import torch.nn as nn
from captum._utils.models.linear_model import SkLearnRidge
from helpers import ImageStub, TextStub
from test_attribution import conv_model, images

from attrib.attribution import build_method, METHODS
from attrib.attribution.surrogate import bernoulli_masks, shapley_masks
from attrib.seeding import sample_generator

TEXT_IDS = torch.tensor([[3, 5, 7, 9, 0, 0], [4, 4, 11, 2, 1, 0]])


def patch_mask_by_hand():
    """Patch index per pixel of an 8x8 image with 2x2 patches, row-major."""
    return torch.arange(16).view(1, 1, 4, 4).repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def linear_model(num_classes=3, seed=0):
    torch.manual_seed(seed)
    return ImageStub(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, num_classes)), num_classes=num_classes).eval()


# --- captum-backed methods ----------------------------------------------------------------------


def test_inputxgrad_equals_captum():
    model, x = conv_model(), images()
    want = captum.attr.InputXGradient(model).attribute(x, target=1)
    for chunk in (2, 64):
        got = build_method("inputxgrad", model, chunk_size=chunk).attribute(x, target=1)
        assert torch.allclose(got.map, want, atol=1e-7)
    assert torch.allclose(got.features, want.abs().mean(1).unfold(1, 2, 2).unfold(2, 2, 2).mean((-1, -2)).flatten(1))


def test_smoothgrad_is_captum_saliency_averaged_over_noise_keyed_per_input():
    model, x = conv_model(), images()
    got = build_method("smoothgrad", model, nt_samples=6, seed=7, chunk_size=4).attribute(x, target=0)
    want = []
    for i in range(len(x)):  # captum's Saliency at the noisy copies each input's keyed generator draws
        noise = torch.randn(6, *x.shape[1:], generator=sample_generator(7, "smoothgrad", i)) * 0.15
        want.append(captum.attr.Saliency(model).attribute(x[i] + noise, target=0).mean(0))
    assert torch.allclose(got.map, torch.stack(want), atol=1e-7)
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    again = build_method("smoothgrad", model, nt_samples=6, seed=7).attribute(x, target=0)
    assert torch.allclose(again.map, got.map, atol=1e-7) and torch.equal(torch.rand(3), before)  # stream untouched
    other = build_method("smoothgrad", model, nt_samples=6).attribute(x, target=0, seed=8)
    assert not torch.allclose(other.map, got.map)
    # a shard of the set (inputs 2.. at their indices) gets the whole set's rows
    part = build_method("smoothgrad", model, nt_samples=6, seed=7).attribute(x[2:], target=0, index=range(2, len(x)))
    assert torch.allclose(part.map, got.map[2:], atol=1e-7)


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_smoothgrad_without_noise_equals_captum_noise_tunnel(nt_type):
    model, x = conv_model(), images()
    got = build_method("smoothgrad", model, nt_samples=3, stdevs=0.0, nt_type=nt_type).attribute(x, target=1)
    want = captum.attr.NoiseTunnel(captum.attr.Saliency(model)).attribute(
        x, nt_type=nt_type, nt_samples=3, stdevs=0.0, target=1)
    assert torch.allclose(got.map, want, atol=1e-7)
    with pytest.raises(ValueError, match="nt_type"):
        build_method("smoothgrad", model, nt_type="smooth").attribute(x)


def test_gradshap_equals_captum_on_a_linear_model_and_its_formula_with_keyed_draws():
    model, x = linear_model(), images()
    # one black baseline, no noise: every sample's gradient is w, so captum's random α drop out
    got = build_method("gradshap", model, n_samples=5, bg_size=1).attribute(x, target=2)
    want = captum.attr.GradientShap(model).attribute(x, baselines=torch.zeros(1, 3, 8, 8), n_samples=5, target=2)
    assert torch.allclose(got.map, want, atol=1e-6)
    model, x = conv_model(), images()
    got = build_method("gradshap", model, n_samples=5, bg_size=4, stdevs=0.05, seed=2).attribute(x, target=2)
    baselines = torch.cat([torch.zeros(1, 3, 8, 8), torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(2))])
    for i in range(len(x)):
        g = sample_generator(2, "gradshap", i)
        noisy = x[i] + torch.randn(5, *x.shape[1:], generator=g) * 0.05
        b = baselines[torch.randint(4, (5,), generator=g)]
        alpha = torch.rand(5, 1, 1, 1, generator=g)
        grad = captum.attr.Saliency(model).attribute(b + alpha * (noisy - b), target=2, abs=False)
        assert torch.allclose(got.map[i], (grad * (noisy - b)).mean(0), atol=1e-6)
    part = build_method("gradshap", model, n_samples=5, bg_size=4, stdevs=0.05, seed=2).attribute(
        x[3:], target=2, index=[3, 4])
    assert torch.allclose(part.map, got.map[3:], atol=1e-6)


def test_occlusion_equals_captum_feature_ablation_on_the_patch_grid():
    """Patch windows at patch strides remove exactly one grid cell each: captum's Occlusion and
    FeatureAblation with a patch feature mask compute the same, so one name serves both."""
    model, x = conv_model(), images()
    target = model(x).argmax(1)
    want = captum.attr.FeatureAblation(model).attribute(x, target=target, baselines=0.0,
                                                        feature_mask=patch_mask_by_hand())
    occluded = captum.attr.Occlusion(model).attribute(x, sliding_window_shapes=(3, 2, 2), strides=(3, 2, 2),
                                                      baselines=0.0, target=target)
    assert torch.allclose(want, occluded, atol=1e-6)
    for chunk in (3, 64):
        got = build_method("occlusion", model, chunk_size=chunk).attribute(x)
        assert torch.allclose(got.map, want, atol=1e-6)
        # native signed score per patch: the value every pixel of the patch carries
        assert torch.allclose(got.features, want[:, 0, ::2, ::2].flatten(1), atol=1e-6)
    assert (want < 0).any() and (want > 0).any()
    assert "feature_ablation" not in METHODS


def test_text_occlusion_removes_one_token_at_a_time():
    model = TextStub()
    got = build_method("occlusion", model, chunk_size=4).attribute(TEXT_IDS, target=1)
    ones = torch.ones(2, 6, dtype=torch.double)
    full = model(TEXT_IDS, keep=ones)[:, 1]
    for i in range(6):
        keep = ones.clone()
        keep[:, i] = 0
        want = (full - model(TEXT_IDS, keep=keep)[:, 1]) * (TEXT_IDS[:, i] != 0)
        assert torch.allclose(got.features[:, i].double(), want, atol=1e-6)
    assert got.map is None and (got.features[0, 4:] == 0).all()


def test_gradient_methods_run_on_text():
    model = TextStub()
    for name in ("inputxgrad", "smoothgrad", "gradshap", "occlusion"):
        got = build_method(name, model, chunk_size=8).attribute(TEXT_IDS)
        assert got.map is None and got.features.shape == (2, 6) and (got.features[0, 4:] == 0).all()
    saliency = build_method("saliency", model).attribute(TEXT_IDS, target=0)
    assert torch.allclose(build_method("inputxgrad", model).attribute(TEXT_IDS, target=0).features, saliency.features)


# --- LIME and Kernel SHAP against captum ---------------------------------------------------------


def captum_surrogate(model, x, target, masks, method):
    """captum's own per-example loop on the same perturbations: the keep-mask is captum's input
    (baseline 0, one feature per entry), and the forward applies it as keep."""
    p = masks.shape[1]

    def perturb(original, **kwargs):
        yield from (row[None].long() for row in masks)

    def forward(keep, xi):
        return model(xi, keep=keep).softmax(dim=1)

    if method == "lime":
        def similarity(original, perturbed, z, **kwargs):
            z = z.double()
            distance = 1 - (z.sum() / (z.norm() * p**0.5)).nan_to_num()
            return torch.exp(-distance**2 / 0.25**2).sqrt()

        explainer = captum.attr.Lime(forward, interpretable_model=SkLearnRidge(alpha=1.0),
                                     similarity_func=similarity, perturb_func=perturb)
    else:
        explainer = captum.attr.KernelShap(forward)
        explainer.perturb_func = perturb
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return explainer.attribute(torch.ones(x.shape[0], p), baselines=0.0, target=target,
                                   additional_forward_args=(x,), feature_mask=torch.arange(p)[None],
                                   n_samples=len(masks), perturbations_per_eval=16, return_input_shape=False)


@pytest.mark.parametrize("name,masks", [("lime", bernoulli_masks), ("kernelshap", shapley_masks)])
def test_surrogates_equal_captum_on_the_same_perturbations(name, masks):
    model, x = conv_model(), images(4).detach()
    target = model(x).argmax(1)
    features = torch.ones(4, 16, dtype=torch.bool)
    z = masks(features, 60, 3)
    assert all(torch.equal(z[i], z[0]) for i in range(4))  # one mask set for every image
    want = captum_surrogate(model, x, target, z[0], name)
    got = build_method(name, model, n_samples=60, seed=3, chunk_size=50).attribute(x)
    assert torch.allclose(got.features, want, atol=1e-6)
    assert want.abs().max() > 1e-3
    spread = got.features.view(4, 1, 4, 4).repeat_interleave(2, 2).repeat_interleave(2, 3)
    assert torch.equal(got.map, spread.expand(-1, 3, -1, -1))


def test_kernelshap_is_efficient_and_lime_differs():
    model, x = conv_model(), images(3).detach()
    target = model(x).argmax(1)
    shap = build_method("kernelshap", model, n_samples=40).attribute(x, target=target)
    prob = model(x).softmax(1).gather(1, target[:, None]).squeeze(1)
    empty = model(x, keep=torch.zeros(3, 16)).softmax(1).gather(1, target[:, None]).squeeze(1)
    assert torch.allclose(shap.features.sum(1), prob - empty, atol=1e-4)
    lime = build_method("lime", model, n_samples=40).attribute(x, target=target)
    assert not torch.allclose(lime.features, shap.features, atol=1e-3)


def test_shapley_masks_follow_the_shapley_kernel_on_real_features():
    features = torch.tensor([[True, True, True, True, False], [True, False, True, True, True]])
    z = shapley_masks(features, 20000, 0)
    assert (z[:, 0] == 1).all() and (z[0, 1, :4] == 0).all() and (z[:, :, 4][0] == 1).all() and (z[1, :, 1] == 1).all()
    kept = (z * features[:, None]).sum(-1)[:, 2:]
    assert kept.min() >= 1 and kept.max() <= 3
    frequencies = torch.stack([(kept[0] == k).float().mean() for k in (1, 2, 3)])
    assert torch.allclose(frequencies, torch.tensor([1 / 3, 1 / 4, 1 / 3]) / (11 / 12), atol=0.015)  # ∝ 1/(k(4−k))
    assert torch.equal(kept[0], kept[1])  # the same draws give both inputs (M = 4) the same coalition sizes
    lime = bernoulli_masks(features, 20000, 0)
    assert abs(lime[0, :, :4].mean() - 0.5) < 0.01 and (lime[0, :, 4] == 1).all()


def test_surrogates_on_text_score_real_tokens_only():
    model = TextStub()
    shap = build_method("kernelshap", model, n_samples=64, chunk_size=50).attribute(TEXT_IDS, target=2)
    real = (TEXT_IDS != 0).double()
    full = model(TEXT_IDS).softmax(1)[:, 2]
    empty = model(TEXT_IDS, keep=1 - real).softmax(1)[:, 2]
    assert torch.allclose(shap.features.sum(1).double(), full - empty, atol=1e-4)
    assert shap.map is None and (shap.features[0, 4:] == 0).all() and shap.features[1, 5] == 0
    lime = build_method("lime", model, n_samples=64).attribute(TEXT_IDS, target=2)
    assert (lime.features[0, 4:] == 0).all() and (lime.features[0, :4] != 0).all()


def test_surrogates_pass_the_removal_mode():
    seen = []

    class Spy(ImageStub):
        def forward(self, x, keep=None, removal=None):
            seen.append(removal)
            return super().forward(x, keep, "black")

    model = Spy(conv_model().net)
    build_method("lime", model, n_samples=8, removal="drop").attribute(images(2).detach(), target=0)
    assert seen == ["drop"]  # 2 inputs x 8 masks in one pass


@pytest.mark.parametrize("name", ["lime", "kernelshap"])
def test_surrogates_are_seeded_and_chunk_invariant(name):
    model, x = conv_model(), images(5).detach()
    a = build_method(name, model, n_samples=30, chunk_size=7).attribute(x)
    b = build_method(name, model, n_samples=30, chunk_size=1000).attribute(x)
    c = build_method(name, model, n_samples=30, seed=1).attribute(x)
    assert torch.allclose(a.features, b.features, atol=1e-6)
    assert not torch.allclose(a.features, c.features, atol=1e-4)


# --- path family -------------------------------------------------------------------------------


def test_intgrad_path_equals_captum_riemann_middle():
    model, x = conv_model(), images()
    want = captum.attr.IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=1,
                                                            n_steps=4, method="riemann_middle")
    for chunk in (3, 64):
        got = build_method("intgrad_path", model, n_points=4, chunk_size=chunk).attribute(x, target=1)
        assert torch.allclose(got.map, want, atol=1e-6)



def test_intgrad_integration_option_is_captums_rule():
    model, x = conv_model(), images()
    want = build_method("intgrad_path", model, n_points=4).attribute(x, target=1).map
    got = build_method("intgrad", model, n_steps=4, integration="riemann_middle").attribute(x, target=1).map
    assert torch.allclose(got, want, atol=1e-6)
    default = build_method("intgrad", model, n_steps=4).attribute(x, target=1).map  # Gauss-Legendre
    assert not torch.allclose(default, want, atol=1e-6)

def test_text_intgrad_path_equals_captum_on_the_keep_mask():
    model = TextStub()
    alpha = torch.ones(2, 6)
    want = captum.attr.IntegratedGradients(lambda a, ids: model(ids, keep=a)).attribute(
        alpha, baselines=0 * alpha, target=0, additional_forward_args=(TEXT_IDS,), n_steps=3, method="riemann_middle")
    got = build_method("intgrad_path", model, n_points=3, chunk_size=4).attribute(TEXT_IDS, target=0)
    assert torch.allclose(got.features, (want.abs() * (TEXT_IDS != 0)).float(), atol=1e-6)
    with pytest.raises(NotImplementedError, match="intgrad_path"):
        build_method("intgrad_sg", model).attribute(TEXT_IDS)


class Quadratic(nn.Module):
    """Logit 0 = Σ a (x − c)² over the pixels of a 2x2 image (one patch), logit 1 = 0."""

    modality, patch, num_classes = "image", 2, 2

    def __init__(self, a, c):
        super().__init__()
        self.a, self.c = a, c

    def num_features(self, x):
        return 1

    def feature_mask(self, x):
        return torch.ones(x.shape[0], 1, dtype=torch.bool)

    def forward(self, x, keep=None, removal=None):
        f = (self.a * (x - self.c) ** 2).flatten(1).sum(1)
        return torch.stack([f, torch.zeros_like(f)], dim=1)


def test_recalibration_by_hand():
    # Black reference, k = 2: α ∈ {1/4, 3/4}, s = α x, g = 2a(s − c), t = g (x − s).
    # pixel A (a=1, c=.5, x=1):   g = −.5, .5;   t = −.375 (dropped), .125  -> recal .125, vanilla 1 · 0 = 0
    # pixel B (a=−1, c=0, x=.8):  g = −.4, −1.2; t = −.24, −.24 (dropped)  -> recal 0, vanilla .8 · −.8 = −.64
    # pixel C (a=1, c=0, x=.4):   g = .2, .6;    t = .06, .06             -> recal .06, vanilla .4 · .4 = .16
    # pixel D (a=0): g = 0, t = 0 counts as kept                          -> recal 0, vanilla 0
    # pixel E (a=1, c=.25, x=1):  g = 0, 1;      t = 0 (kept, counted), .25 -> recal .125, vanilla 1 · .5 = .5
    a = torch.zeros(1, 3, 2, 2)
    c = torch.zeros(1, 3, 2, 2)
    x = torch.zeros(1, 3, 2, 2)
    a[0, 0, 0, 0], c[0, 0, 0, 0], x[0, 0, 0, 0] = 1, 0.5, 1
    a[0, 0, 0, 1], x[0, 0, 0, 1] = -1, 0.8
    a[0, 0, 1, 0], x[0, 0, 1, 0] = 1, 0.4
    a[0, 1, 0, 0], c[0, 1, 0, 0], x[0, 1, 0, 0] = 1, 0.25, 1
    model = Quadratic(a.double(), c.double())
    x = x.double()
    vanilla = build_method("intgrad_path", model, n_points=2).attribute(x, target=0)
    recal = build_method("intgrad_path", model, n_points=2, recalibrate=True).attribute(x, target=0)
    assert torch.allclose(vanilla.map[0, 0], torch.tensor([[0.0, -0.64], [0.16, 0.0]], dtype=torch.double))
    assert torch.allclose(recal.map[0, 0], torch.tensor([[0.125, 0.0], [0.06, 0.0]], dtype=torch.double))
    assert vanilla.map[0, 1, 0, 0] == 0.5 and recal.map[0, 1, 0, 0] == 0.125
    assert (recal.map[0, 2] == 0).all()
    assert torch.allclose(recal.features, torch.tensor([[0.31 / 12]], dtype=torch.double))


def test_log_softmax_objective_by_hand_on_a_linear_model():
    model, x = linear_model(), images(3).detach()
    got = build_method("intgrad_path", model, n_points=1, objective="log_softmax").attribute(x, target=2)
    w = model.net[1].weight  # (3, 192); one point at α = ½: A = x · ∇ log p_2(x/2) = x · (W_2 − Σ_c p_c W_c)
    p = model(x / 2).softmax(1).detach()
    want = x * (w[2] - p @ w).view(3, 3, 8, 8)
    assert torch.allclose(got.map, want, atol=1e-6)


def test_contrastive_objective_equals_autograd_of_the_formula():
    model, x = conv_model(), images(3).detach()
    target = torch.tensor([0, 1, 2])
    got = build_method("intgrad_path", model, n_points=1, objective="contrastive").attribute(x, target=target)
    s = (x / 2).requires_grad_()
    z = model(s)
    total = 0
    for i, t in enumerate(target.tolist()):
        others = [c for c in range(3) if c != t]
        weights = torch.exp(z[i, others]) / torch.exp(z[i, others]).sum()
        total = total + z[i, t] - (weights * z[i, others]).sum()
    want = x * torch.autograd.grad(total, s)[0]
    assert torch.allclose(got.map, want, atol=1e-6)
    logit = build_method("intgrad_path", model, n_points=1).attribute(x, target=target)
    assert not torch.allclose(got.map, logit.map, atol=1e-4)
    with pytest.raises(ValueError, match="objective"):
        build_method("intgrad_path", model, objective="margin").attribute(x)


def test_expgrad_with_black_references_is_x_times_weights_on_a_linear_model():
    model, x = linear_model(), images(2).detach()
    w = model.net[1].weight[1].view(1, 3, 8, 8)
    for got in (build_method("expgrad", model, references=torch.zeros(4, 3, 8, 8)).attribute(x, target=1),
                build_method("expgrad", model).attribute(x, target=1, baselines=torch.zeros(1, 3, 8, 8))):
        assert torch.allclose(got.map, x * w, atol=1e-6)
    with pytest.raises(ValueError, match="references"):
        build_method("expgrad", model).attribute(x)


class Recording(ImageStub):
    """Records every batch of images it is evaluated on."""

    def __init__(self, net):
        super().__init__(net)
        self.seen = []

    def forward(self, x, keep=None, removal=None):
        self.seen.append(x.detach())
        return super().forward(x, keep, removal)


def test_path_points_sg_noise_is_clamped_and_expgrad_alphas_are_random():
    model, x = Recording(conv_model().net), images(2).detach()
    build_method("intgrad_sg", model, bg_size=4, n_points=2, sigma=0.0).attribute(x, target=0)
    assert all(torch.equal(points, x.repeat_interleave(8, 0)) for points in model.seen)  # σ = 0: the path is x
    model.seen.clear()
    build_method("intgrad_sg", model, bg_size=4, n_points=2, sigma=2.0).attribute(x, target=0)
    points = torch.cat(model.seen)
    assert 0 <= points.min() and points.max() <= 1 and points.std() > 0.25
    model.seen.clear()
    build_method("expgrad", model, bg_size=3, n_points=4, references=torch.zeros(1, 3, 8, 8)).attribute(x, target=0)
    alphas = (torch.cat(model.seen) / x.repeat_interleave(12, 0))[:, 0, 0, 0]
    assert len(alphas.unique()) == 24 and 0 < alphas.min() and alphas.max() < 1


@pytest.mark.parametrize("name", ["intgrad_sg", "intgrad_uniform", "expgrad"])
def test_random_path_methods_are_seeded_chunk_and_shard_invariant(name):
    model, x = conv_model(), images(3).detach()
    pool = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(9))
    options = {"references": pool} if name == "expgrad" else {}
    for recalibrate in (False, True):
        method = build_method(name, model, bg_size=3, n_points=2, recalibrate=recalibrate, **options)
        a = method.attribute(x, target=0, chunk_size=5)
        b = method.attribute(x, target=0, chunk_size=100)
        c = method.attribute(x, target=0, seed=1)
        part = method.attribute(x[1:], target=0, index=[1, 2], chunk_size=5)  # a shard: inputs 1, 2
        assert torch.allclose(a.map, b.map, atol=1e-6) and torch.allclose(part.map, a.map[1:], atol=1e-6)
        assert not torch.allclose(a.map, c.map, atol=1e-4)


def test_recalibration_changes_path_methods_and_options_are_checked():
    model, x = conv_model(), images(2).detach()
    vanilla = build_method("intgrad_uniform", model, bg_size=2, n_points=3).attribute(x)
    recal = build_method("intgrad_uniform", model, bg_size=2, n_points=3, recalibrate=True).attribute(x)
    assert not torch.allclose(vanilla.map, recal.map, atol=1e-4)
    with pytest.raises(TypeError):
        build_method("intgrad_path", model, bg_size=3)
    with pytest.raises(TypeError):
        build_method("lime", model, nt_samples=3)


def test_every_method_is_registered_and_runs_on_images():
    assert set(METHODS) == {"saliency", "inputxgrad", "smoothgrad", "gradshap", "intgrad", "intgrad_path",
                            "intgrad_sg", "intgrad_uniform", "expgrad", "occlusion",
                            "lime", "kernelshap", "random", "smug_base", "smug"}
    model, x = conv_model(), images(2).detach()
    small = {"smoothgrad": {"nt_samples": 2}, "gradshap": {"n_samples": 2}, "lime": {"n_samples": 8},
             "kernelshap": {"n_samples": 8}, "expgrad": {"references": x, "bg_size": 2},
             "intgrad_sg": {"bg_size": 2}, "intgrad_uniform": {"bg_size": 2}}
    for name in sorted(set(METHODS) - {"smug_base", "smug"}):  # ResNet / TextCNN only: tests/test_smug.py
        got = build_method(name, model, chunk_size=16, **small.get(name, {})).attribute(x)
        assert got.features.shape == (2, 16) and torch.isfinite(got.features).all(), name
        assert got.map is None or got.map.shape == x.shape, name


def test_weighted_fit_cholesky_equals_the_pseudo_inverse_and_falls_back_when_rank_deficient():
    from attrib.attribution.surrogate import weighted_linear_fit

    gen = torch.Generator().manual_seed(0)
    z = (torch.rand(3, 40, 6, generator=gen) < 0.5).float()
    y = torch.rand(3, 40, generator=gen)
    w = torch.rand(3, 40, generator=gen) + 0.1
    features = torch.ones(3, 6, dtype=torch.bool)
    features[2, 4:] = False  # zeroed columns: a singular Gram matrix for the third input
    z[1, :, 3] = z[1, :, 2]  # two identical columns: rank-deficient as well

    def reference(i):
        zi = z[i].double() * features[i]
        zc = zi - (w[i, :, None] * zi).sum(0) / w[i].sum()
        yc = y[i].double() - (w[i] * y[i]).sum() / w[i].sum()
        gram = zc.T @ (w[i, :, None].double() * zc)
        return torch.linalg.pinv(gram, hermitian=True) @ (zc.T @ (w[i].double() * yc))

    slopes = weighted_linear_fit(z, y, w, features, ridge=0.0)
    for i in range(3):
        torch.testing.assert_close(slopes[i], reference(i), rtol=1e-8, atol=1e-10)
    assert slopes[2, 4:].eq(0).all() and torch.isclose(slopes[1, 2], slopes[1, 3])
