"""The CUDA path of every stage against the same computation on the CPU.

Skipped where no GPU is visible (CI has none); run it on a GPU machine with
`python -m pytest tests/test_cuda.py`. Deterministic computations must agree to float
tolerance; methods that draw captum's noise from the device's generator (whose CUDA stream
differs from the CPU's) must run, stay on the device and give finite maps of the same shape.
"""

import pytest
import torch

from attrib.missingness.ablation import patch_ablation, random_orderings
from attrib.attribution import build_method, METHODS
from attrib.catalogue import method_modalities
from attrib.finetune import Schedule, train
from attrib.attribution.scores import diffid
from attrib.models import build_model
from attrib.mus.smoothing import SmoothedClassifier
from attrib.mus.attack import box_attack
from attrib.runtime import resolve_device

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible")

META = {"modality": "image", "num_classes": 10, "classes": [str(i) for i in range(10)], "image_size": 32,
        "patch": 4, "mean": [0.45, 0.43, 0.42]}
MODEL_OPTIONS = {"resnet": {"width": 8}, "vit": {"num_layers": 2, "num_heads": 2, "hidden_dim": 32, "mlp_dim": 64}}
# Methods whose noise comes from the device's own generator: compared by shape and finiteness.
DEVICE_NOISE = {"smoothgrad", "gradshap"}
# Left out: SMUG solves its programs on the CPU whatever the device.
SKIPPED = {"smug", "smug_base"}
CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def full_precision():
    """cuDNN convolutions default to TF32 (10-bit mantissa); compare in full float32."""
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32 = before


def pair(name, seed=0):
    """The same model on the CPU and on the GPU."""
    torch.manual_seed(seed)
    cpu = build_model(name, META, MODEL_OPTIONS[name]).eval()
    gpu = build_model(name, META, MODEL_OPTIONS[name]).eval()
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu.to(CUDA)


def images(n=6, seed=1):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def assert_close(got, want, what, tol=1e-3):
    """Equal up to ``tol`` of the largest magnitude; the message says how far apart they are."""
    got, want = got.detach().float().cpu(), want.detach().float().cpu()
    gap = (got - want).abs()
    assert gap.max() <= tol * want.abs().max() + 1e-7, (
        f"{what}: max gap {gap.max():.3g} at {gap.argmax()} (of {gap.numel()}), largest |value| {want.abs().max():.3g}, "
        f"{(gap > tol * want.abs().max()).sum()} values off")


def test_auto_device_is_cuda():
    assert resolve_device("auto") == CUDA


@pytest.mark.parametrize("model_name", ["resnet", "vit"])
def test_training_steps_run_on_the_gpu_and_lower_the_loss(model_name, tmp_path):
    torch.manual_seed(0)
    model = build_model(model_name, META, MODEL_OPTIONS[model_name])
    y = torch.randint(0, 10, (128,))
    x = (y.view(-1, 1, 1, 1) * 25 + torch.rand(128, 3, 32, 32) * 30).to(torch.uint8)  # learnable
    schedule = Schedule(epochs=3, lr=3e-3, batch_size=32)
    model, history, _ = train(model, (x, y), (x, y), lam=0.5, levels=[1.0, 0.5], schedule=schedule, seed=0,
                           device=CUDA, state_path=tmp_path / "state.pt", progress=False)
    assert next(model.parameters()).device.type == "cuda"
    losses = [h["train_loss"] for h in history if h["train_loss"] is not None]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("model_name", ["resnet", "vit"])
@pytest.mark.parametrize("method", sorted(set(METHODS) - SKIPPED))
def test_every_image_method_agrees_across_devices(model_name, method):
    if "image" not in method_modalities(method):
        pytest.skip(f"{method} does not explain images")
    cpu_model, gpu_model = pair(model_name)
    x = images()
    target = cpu_model(x).argmax(1)
    options = {"n_samples": 32} if method in {"lime", "kernelshap"} else {}
    if "references" in METHODS[method].defaults:
        options["references"] = images(8, seed=2)
    on_cpu = build_method(method, cpu_model, **options).attribute(x, target=target)
    if "references" in options:
        options["references"] = options["references"].to(CUDA)
    on_gpu = build_method(method, gpu_model, **options).attribute(x.to(CUDA), target=target.to(CUDA))
    assert on_gpu.features.device.type == "cuda" and on_gpu.features.shape == on_cpu.features.shape
    assert torch.isfinite(on_gpu.features).all()
    if method not in DEVICE_NOISE:
        assert_close(on_gpu.features, on_cpu.features, f"{method} on {model_name}, features")
        if on_cpu.map is not None:
            # Pixel gradients along a path can cross a ReLU kink on one device and not the other.
            assert_close(on_gpu.map, on_cpu.map, f"{method} on {model_name}, maps", tol=1e-2)


@pytest.mark.parametrize("removal", ["black", "drop"])
def test_vit_removal_agrees_across_devices(removal):
    cpu_model, gpu_model = pair("vit")
    x = images(16)
    keep = (torch.rand(16, 64, generator=torch.Generator().manual_seed(3)) < 0.5).float()
    with torch.no_grad():
        want = cpu_model(x, keep=keep, removal=removal)
        got = gpu_model(x.to(CUDA), keep=keep.to(CUDA), removal=removal)
    assert_close(got, want, f"vit logits, {removal}")


@pytest.mark.parametrize("model_name", ["resnet", "vit"])
def test_certificates_agree_across_devices(model_name):
    cpu_model, gpu_model = pair(model_name)
    x = images(8)
    cpu_scores = SmoothedClassifier(cpu_model, 0.25, q=64, chunk_size=128)(x)
    gpu_scores = SmoothedClassifier(gpu_model, 0.25, q=64, chunk_size=4096)(x.to(CUDA))
    # Votes are counts of argmaxes; a float near-tie may flip one of the 64 votes.
    assert (gpu_scores.cpu() - cpu_scores).abs().max() <= 1 / 64 + 1e-6


def test_box_attack_runs_on_the_gpu():
    _, gpu_model = pair("resnet")
    x = images(4).to(CUDA)
    alpha = (torch.rand(4, 64, generator=torch.Generator().manual_seed(1)) < 0.25).float().to(CUDA)
    smoothed = SmoothedClassifier(gpu_model, 0.25, q=16, chunk_size=4096)
    r_max = box_attack(smoothed, x, alpha, alpha == 0, iterations=2, candidates=8, seed=0)
    assert r_max.shape == (4,) and (r_max >= 0).all()


@pytest.mark.parametrize("removal", ["black", "noise"])
def test_patch_ablation_agrees_across_devices(removal):
    cpu_model, gpu_model = pair("resnet")
    x = images(8)
    order = random_orderings(8, 64, seed=0)
    steps = range(0, 65, 8)
    want = patch_ablation(cpu_model, x, order, steps=steps, removal=removal,
                          generator=torch.Generator().manual_seed(0))
    got = patch_ablation(gpu_model, x.to(CUDA), order.to(CUDA), steps=steps, removal=removal,
                         generator=torch.Generator(device=CUDA).manual_seed(0))
    if removal == "black":
        assert (got["pred"].to_numpy() == want["pred"].to_numpy()).mean() > 0.95
    assert got.shape == want.shape and got["prob_orig"].between(0, 1).all()


def test_diffid_agrees_across_devices():
    cpu_model, gpu_model = pair("resnet")
    x, maps = images(8), torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    want = diffid(cpu_model, x, maps)
    got = diffid(gpu_model, x.to(CUDA), maps.to(CUDA), chunk_size=4096)
    assert_close(torch.tensor(got["logit_ratio"].to_numpy()), torch.tensor(want["logit_ratio"].to_numpy()),
                 "DiffID logit ratios")
