"""Speed of the batched code paths, as ratios against an anchor measured in the same run.

Anchors: a per-sample Python loop (MuS smoothing, patch ablation, ViT token dropping) and raw
forward passes (the cost of applying keep-masks). Run with `make bench` (all benchmarks/bench_*.py); prints a Markdown
table for the README. Timings are medians of repeats on this machine's threads.
"""

from __future__ import annotations

import argparse

import torch

from timing import median_time

from attrib.missingness.ablation import patch_ablation, random_orderings
from attrib.models import build_model
from attrib.mus.smoothing import quasi_random_masks, SmoothedClassifier

META = {"modality": "image", "num_classes": 10, "classes": [str(i) for i in range(10)], "image_size": 32,
        "patch": 4, "mean": [0.45, 0.43, 0.42]}




@torch.no_grad()
def mus_per_sample_loop(model, x, lam, q):
    """Anchor: one sample at a time, its q masked copies in one batch."""
    masks = quasi_random_masks(64, q, lam, 0)
    return torch.stack([
        torch.nn.functional.one_hot(model(xi.expand(q, -1, -1, -1), keep=masks).argmax(1), 10).float().mean(0)
        for xi in x
    ])


@torch.no_grad()
def ablation_per_image_loop(model, x, order, steps):
    """Anchor: one image at a time, all its steps in one batch."""
    preds = []
    for xi, oi in zip(x, order):
        keep = torch.ones(len(steps), 64)
        for row, k in enumerate(steps):
            keep[row, oi[:k]] = 0
        preds.append(model(xi.expand(len(steps), -1, -1, -1), keep=keep).argmax(1))
    return torch.stack(preds)


@torch.no_grad()
def drop_per_image_loop(model, x, keep):
    return torch.cat([model(xi[None], keep=ki[None], removal="drop") for xi, ki in zip(x, keep)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=64, help="inputs per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=64, help="our batch size (the config's chunk_size)")
    args = parser.parse_args()
    torch.manual_seed(0)
    resnet = build_model("resnet", META, {"width": 16})
    vit = build_model("vit", META, {"num_layers": 3, "hidden_dim": 64, "mlp_dim": 128})
    x = torch.rand(args.n, 3, 32, 32)
    rows = []

    for name, model in (("resnet", resnet), ("vit", vit)):
        anchor = median_time(lambda: mus_per_sample_loop(model, x, 0.25, 64), args.repeats)
        for chunk in (args.chunk_size, 1024):
            smoothed = SmoothedClassifier(model, lam=0.25, q=64, chunk_size=chunk)
            ours = median_time(lambda: smoothed(x), args.repeats)
            rows.append((f"MuS smoothed classifier, {name}, q=64, chunk {chunk}", "per-sample loop", anchor, ours))

    order = random_orderings(args.n, 64, 0)
    steps = list(range(0, 65, 4))
    anchor = median_time(lambda: ablation_per_image_loop(resnet, x, order, steps), args.repeats)
    ours = median_time(lambda: patch_ablation(resnet, x, order, steps=steps, chunk_size=args.chunk_size), args.repeats)
    rows.append((f"patch ablation, resnet, 17 steps, chunk {args.chunk_size}", "per-image loop", anchor, ours))

    keep = (torch.rand(args.n, 64) < 0.5).float()
    ours = median_time(lambda: vit(x, keep=keep, removal="drop"), args.repeats)
    anchor = median_time(lambda: drop_per_image_loop(vit, x, keep), args.repeats)
    rows.append(("ViT token dropping, 50 % kept", "per-image loop", anchor, ours))

    big = torch.rand(512, 3, 32, 32)
    ones = torch.ones(512, 64)
    with torch.no_grad():
        ours = median_time(lambda: resnet(big, keep=ones), args.repeats)
        anchor = median_time(lambda: resnet(big), args.repeats)
    rows.append(("keep-mask (black) forward, resnet, 512 images", "raw forward", anchor, ours))

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, n={args.n}, chunk_size={args.chunk_size}\n")
    print("| what | anchor | anchor s | ours s | speed-up (anchor / ours) |")
    print("|---|---|---|---|---|")
    for what, anchor_name, anchor_s, ours_s in rows:
        print(f"| {what} | {anchor_name} | {anchor_s:.3f} | {ours_s:.3f} | {anchor_s / ours_s:.2f}× |")


if __name__ == "__main__":
    main()
