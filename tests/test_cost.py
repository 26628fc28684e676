"""The cost model (attrib.cost): its defaults mirror the registries, its forward counts match what
the code runs, its resources grow with the work and the attempt, and gradient chunks fit the GPU."""

import inspect

import pytest
import torch
import torch.nn as nn
from test_mus import VectorModel

import attrib.cost as cost
from attrib import catalogue
from attrib.attribution import METHODS, build_method
from attrib.attribution.scores import attribution_scores
from attrib.data import DATASETS
from attrib.models.base import ImageClassifier
from attrib.mus.experiments import e1_attack_table, e1_certified_table, e3_sparsity_table


def test_defaults_mirror_the_registries():
    for name, defaults in cost.METHOD_DEFAULTS.items():
        for key, value in defaults.items():
            assert METHODS[name].defaults[key] == value, (name, key)
    for name, defaults in cost.MASK_METHOD_DEFAULTS.items():
        assert all(catalogue.MASK_METHODS[name][k] == v for k, v in defaults.items()), name
    assert set(cost.MASK_METHOD_DEFAULTS) == set(catalogue.MASK_METHODS)
    for source, defaults in cost.DATASET_DEFAULTS.items():
        parameters = inspect.signature(DATASETS[source]).parameters
        assert all(parameters[k].default == v for k, v in defaults.items()), source
    assert set(cost.MODELS) == set(catalogue.MODELS)


class Counting(nn.Module):
    """A model wrapper that counts forward-equivalents: inputs through a forward pass, ×3 for
    passes that build a graph (a backward follows)."""

    def __init__(self, model):
        super().__init__()
        self.model, self.forwards = model, 0.0
        for name in ("modality", "default_removal", "patch", "num_classes", "num_features", "feature_mask"):
            if hasattr(model, name):
                setattr(self, name, getattr(model, name))

    def forward(self, x, keep=None, removal=None):
        self.forwards += x.shape[0] * (cost.BACKWARD if torch.is_grad_enabled() else 1)
        return self.model(x, keep=keep, removal=removal)


class CountingNet(nn.Module):
    """A network that counts forward-equivalents as ``Counting`` does (for callers of ``net``)."""

    def __init__(self, net):
        super().__init__()
        self.net, self.forwards = net, 0.0

    def forward(self, x):
        self.forwards += x.shape[0] * (cost.BACKWARD if torch.is_grad_enabled() else 1)
        return self.net(x)


def image_config(methods, **extra):
    return {"datasets": {"d": {"source": "digits", "options": {"placements": 1, "image_size": 8, "patch": 2}}},
            "attribute": {"methods": methods, "curves": {"steps": 4, "baseline": "black"}}, **extra}


@pytest.mark.parametrize("label, entry", [
    ("saliency", {}), ("smoothgrad", {"nt_samples": 4}), ("gradshap", {"n_samples": 3}),
    ("intgrad_uniform", {"bg_size": 2, "n_points": 3}), ("occlusion", {}), ("lime", {"n_samples": 24}),
])
def test_attribute_forwards_count_what_the_method_and_its_scores_run(label, entry):
    torch.manual_seed(0)
    net = CountingNet(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3)))
    model = ImageClassifier(net, num_classes=3, image_size=8, patch=2)
    x = torch.rand(5, 3, 8, 8)
    config = image_config({label: entry})
    target = model(x).argmax(1)  # the script's prediction pass
    result = build_method(label, model, chunk_size=16, **entry).attribute(x, target=target)
    attribution_scores(model, x, result.features.detach(), (result.map if result.map is not None else
                       torch.rand(5, 3, 8, 8)).abs().sum(1).detach(), target, curve_steps=4, curve_baseline="black",
                       chunk_size=16)
    estimate = 5 * cost.attribute_forwards(config, "d", label)
    assert estimate / 2 <= net.forwards <= estimate * 1.2, (net.forwards, estimate)


def test_mus_forwards_count_what_e1_e3_and_the_attack_run():
    p, n, q = 16, 4, 8
    model = Counting(VectorModel(p=p, num_classes=3, seed=2))
    gen = torch.Generator().manual_seed(0)
    x = 2 * torch.randn(n, p, generator=gen)
    scores = {"a": torch.rand(n, p, generator=gen), "b": torch.rand(n, p, generator=gen)}
    config = {"datasets": {"d": {"source": "digits", "options": {"placements": 1, "image_size": 8, "patch": 2}}},
              "certify": {"q": q, "top_fractions": [0.25, 0.5], "methods": scores, "sparsity": {"max_lambda": 0.5},
                          "attack": {"top_fraction": 0.25, "iterations": 5, "candidates": 6, "modes": ["voting"],
                                     "with_mu": [False]}}}
    with torch.no_grad():
        e1_certified_table(model, x, torch.zeros(n, dtype=torch.long), scores, [0.25, 0.5], 0.5, q=q, seed=0,
                           chunk_size=4096)
    per_forward = cost.MODELS["resnet50"].forward_s
    assert model.forwards == pytest.approx(cost.certify_stability_seconds(config, "d", "resnet50", 0.5, n, 0)
                                           / per_forward)  # E1 exactly
    model.forwards = 0
    with torch.no_grad():
        e3_sparsity_table(model, x, scores, 0.5, q=q, seed=0, chunk_size=4096)
    e3 = (cost.certify_stability_seconds(config, "d", "resnet50", 0.5, n, n)
          - cost.certify_stability_seconds(config, "d", "resnet50", 0.5, n, 0)) / per_forward
    assert 0 < model.forwards <= e3  # at most: the binary search runs only for certified inputs
    model.forwards = 0
    e1_attack_table(model, x, scores["a"], 0.25, 0.5, q=q, seed=0, chunk_size=4096, modes=["voting"], iterations=5,
                    candidates=6)
    estimate = n * cost.attack_forwards(config, "d", 0.5)
    assert estimate / 3 <= model.forwards <= estimate * 1.2, (model.forwards, estimate)


def test_resources_grow_with_the_work_and_the_attempt():
    assert cost.runtime_minutes(0) == 5 and cost.runtime_minutes(3600, attempt=2) == 2 * (5 + 90)
    assert cost.memory_mb(2**30) == 4000 + 1024 and cost.memory_mb(0, attempt=3, base_mb=2000) == 6000
    config = image_config({"lime": {"n_samples": 100}, "saliency": {}})
    lime, saliency = (cost.attribute_seconds(config, "d", "vit_b_16", m, 1000) for m in ("lime", "saliency"))
    assert lime > saliency > 0
    assert cost.attribute_seconds(config, "d", "vit_b_16", "lime", 2000) == pytest.approx(2 * lime)
    assert cost.attribute_seconds(config, "d", "resnet50", "lime", 1000) < lime


def test_gradient_chunk_fits_the_gpu_memory():
    config = {"chunk_size": 256}
    assert cost.gradient_chunk(config, "vit_b_16") == 256  # no budget: the config's chunk
    chunk = cost.gradient_chunk({**config, "gpu_memory_gb": 40}, "vit_b_16")
    model = cost.MODELS["vit_b_16"]
    assert 64 < chunk < 256 and chunk * model.grad_gib + model.weights_gib + 1 <= 40e9 / 2**30
    assert cost.gradient_chunk({**config, "gpu_memory_gb": 40}, "resnet50") == 256
    assert cost.gradient_chunk({**config, "gpu_memory_gb": 0.5}, "vit_b_16") == 1
    # a model of your own is sized as the costliest known one
    assert cost.gradient_chunk({**config, "gpu_memory_gb": 40}, "vgg16") <= chunk


def test_gpu_hour_table_sums_work_by_rule():
    jobs = [("attribute", {"gpu": 1, "work_s": 3600, "runtime": 95}), ("attribute", {"gpu": 1, "work_s": 1800,
            "runtime": 50}), ("smug", {"gpu": 1, "work_s": 36, "solver_s": 7200, "runtime": 185}),
            ("prepare", {"work_s": 360, "runtime": 14}), ("figure_smug", {"runtime": 30})]
    table = cost.gpu_hour_table(jobs)
    assert "| attribute | GPU | 2 | 1.5 |  | 1.00 | 95 |" in table
    assert "| smug | GPU | 1 | 0.0 | 2.0 | 2.01 | 185 |" in table
    assert "| **total** | GPU | 3 | **1.5** |" in table and "figure_smug" not in table


def test_your_own_sources_get_sizes_and_a_conservative_cost():
    config = {"datasets": {"mine": {"source": "imagefolder", "options": {"root": "/x", "patch": 32}},
                           "notes": {"source": "csv", "options": {"path": "/x.csv"}}}}
    assert cost.is_image(config, "mine") and cost.num_features(config, "mine") == 49  # 224 px / 32
    assert not cost.is_image(config, "notes") and cost.input_bytes(config, "notes") == 8 * 64
    unknown = cost.model_cost("convnext")
    assert unknown.forward_s == max(m.forward_s for m in cost.MODELS.values())
    assert unknown.grad_gib >= cost.model_cost("vit_b_16").grad_gib
