"""Speed of our batched LIME and Kernel SHAP against captum's Lime / KernelShap on the same
perturbations, kernel and regression, so the coefficients must agree (checked).

captum fits one example at a time (per-sample similarity calls, one sklearn fit each); ours
evaluates the perturbations of many images per forward pass and solves all weighted regressions
in one batched linear solve. captum gets its best ``perturbations_per_eval`` of a few. Prints
Markdown rows for the README; times are medians of repeats after a warm-up.
"""

from __future__ import annotations

import argparse
import time
import warnings

import captum.attr
import torch
from captum._utils.models.linear_model import SkLearnRidge
from torch import nn

from timing import median_time

from attrib.attribution.surrogate import bernoulli_masks, shapley_masks
from attrib.attribution import build_method
from attrib.models.base import ImageClassifier

KERNEL_WIDTH = 0.25
# Relative to the largest coefficient. captum fits in float32 (sklearn keeps the dtype), ours in
# float64; Kernel SHAP's 1e6 endpoint weights make captum's float32 fit the looser one.
TOLERANCE = {"lime": 1e-4, "kernelshap": 1e-2}


def small_cnn(seed: int = 0) -> ImageClassifier:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(32, 10))
    net[-1].weight.data.mul_(30)  # an untrained net's softmax is nearly flat; sharpen it so coefficients are not ~0
    return ImageClassifier(net, num_classes=10, image_size=32, patch=4).eval()




def lime_similarity(original, perturbed, z, **kwargs):
    """The spec's kernel on the interpretable sample: sqrt(exp(−d²/w²)), d = cosine distance to 1."""
    z = z.double()
    distance = 1 - (z.sum() / (z.norm() * z.numel() ** 0.5)).nan_to_num()
    return torch.exp(-distance**2 / KERNEL_WIDTH**2).sqrt()


def captum_surrogate(name, model, x, target, masks, per_eval):
    """captum's per-example loop on our perturbations: the keep-mask is captum's input."""
    p = masks.shape[1]

    def perturb(original, **kwargs):
        yield from (row[None].long() for row in masks)

    def forward(keep, xi):
        return model(xi, keep=keep).softmax(dim=1)

    if name == "lime":
        explainer = captum.attr.Lime(forward, interpretable_model=SkLearnRidge(alpha=1.0),
                                     similarity_func=lime_similarity, perturb_func=perturb)
    else:
        explainer = captum.attr.KernelShap(forward)
        explainer.perturb_func = perturb
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        return explainer.attribute(torch.ones(x.shape[0], p, device=x.device), baselines=0.0, target=target,
                                   additional_forward_args=(x,), feature_mask=torch.arange(p, device=x.device)[None],
                                   n_samples=len(masks), perturbations_per_eval=per_eval, return_input_shape=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=32, help="images")
    parser.add_argument("--n-samples", type=int, default=200, help="perturbations per image")
    parser.add_argument("--chunk-size", type=int, default=256,
                        help="our model inputs per forward pass (CPU caches favour a few hundred; GPUs more)")
    parser.add_argument("--per-eval", type=int, nargs="+", default=[16, 64, 200], help="captum values to try")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    model = small_cnn().to(args.device)
    x = torch.rand(args.n, 3, 32, 32, generator=torch.Generator().manual_seed(1)).to(args.device)
    with torch.no_grad():
        target = model(x).argmax(dim=1)
    features = model.feature_mask(x)
    rows = []
    for name, masks in (("lime", bernoulli_masks), ("kernelshap", shapley_masks)):
        method = build_method(name, model, n_samples=args.n_samples, chunk_size=args.chunk_size)
        ours = method.attribute(x, target=target).features
        ours_s = median_time(lambda: method.attribute(x, target=target), args.repeats)
        z = masks(features, args.n_samples, 0)[0]
        tried = {}
        for per_eval in args.per_eval:
            start = time.perf_counter()
            captum_surrogate(name, model, x, target, z, per_eval)
            tried[per_eval] = time.perf_counter() - start
        best = min(tried, key=tried.get)
        anchor = captum_surrogate(name, model, x, target, z, best)
        anchor_s = median_time(lambda: captum_surrogate(name, model, x, target, z, best), args.repeats)
        floor_ours = median_time(lambda: forward_only(model, x, z, args.chunk_size, across_images=True), args.repeats)
        floor_anchor = median_time(lambda: forward_only(model, x, z, best, across_images=False), args.repeats)
        ours, anchor = ours.cpu(), anchor.cpu()
        gap = (ours - anchor).abs().max().item()
        print(f"{name}: max |ours − captum| = {gap:.2e} (largest |coefficient| {anchor.abs().max().item():.2e}); "
              f"captum s by perturbations_per_eval: " + ", ".join(f"{k}: {v:.2f}" for k, v in tried.items()))
        assert gap <= TOLERANCE[name] * anchor.abs().max().item(), f"{name} coefficients differ from captum's by {gap}"
        label = "LIME" if name == "lime" else "Kernel SHAP"
        what = f"{label}, {args.n} images 3×32×32, small CNN, p=64, n={args.n_samples}"
        rows.append((what, f"captum {'Lime' if name == 'lime' else 'KernelShap'} (perturbations_per_eval={best})",
                     anchor_s, ours_s, floor_anchor, floor_ours))
    print(f"\ntorch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads, "
          f"chunk_size {args.chunk_size}\n")
    # The forward passes bound what batching can gain: ours / its forward-only time near 1 means
    # everything else (masks, kernel, regression) costs little; the anchor's time beyond its own
    # forward passes is what a per-example loop adds.
    print("| what | anchor | anchor s | ours s | speed-up (anchor / ours) | anchor beyond its forward passes s | "
          "ours / its forward passes |")
    print("|---|---|---|---|---|---|---|")
    for what, anchor_name, anchor_s, ours_s, floor_anchor, floor_ours in rows:
        print(f"| {what} | {anchor_name} | {anchor_s:.3f} | {ours_s:.3f} | {anchor_s / ours_s:.2f}× | "
              f"{anchor_s - floor_anchor:.3f} | {ours_s / floor_ours:.2f} |")


@torch.no_grad()
def forward_only(model, x, masks, batch: int, across_images: bool):
    """The model alone on the N·n masked inputs, batched as each side batches them: ``batch``
    rows of many images (ours) or of one image at a time (captum's perturbations_per_eval)."""
    n_images, n = len(x), len(masks)
    if across_images:
        rows = torch.arange(n_images * n)
        return [model(x[r // n], keep=masks[r % n]).softmax(1) for r in rows.split(batch)]
    return [model(xi.expand(len(m), -1, -1, -1), keep=m).softmax(1) for xi in x for m in masks.split(batch)]


if __name__ == "__main__":
    main()
