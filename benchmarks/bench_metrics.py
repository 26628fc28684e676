"""Speed of batched DiffID against per-image Python loops measured in the same run.

Anchors are written independently of ``attrib.metrics`` (numpy stable argsort, boolean indexing)
and their logit ratios and correctness are asserted equal to ours before timing. Prints a
Markdown table; timings are medians of repeats on this machine's threads. On a CPU the
network's cost per image grows with the batch (cache), so the gain of batching is small there
and several chunk sizes are timed; on a GPU large batches are where batching pays.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from timing import median_time

from attrib.attribution.scores import diffid, DIFFID_RATIOS
from attrib.models import build_model

META = {"modality": "image", "num_classes": 10, "classes": [str(i) for i in range(10)], "image_size": 32,
        "patch": 4, "mean": [0.45, 0.43, 0.42]}




@torch.no_grad()
def diffid_per_image_loop(model, x, maps, ratios, one_forward_per_input: bool):
    """Anchor: one image at a time; its 2·R perturbed inputs in one batch, or one forward each."""
    _, c, h, w = x.shape
    p = h * w
    ratio_out, correct_out = [], []
    for xi, mi in zip(x, maps):
        s = mi.abs().sum(0).flatten()
        s = (s - s.min()) / (s.max() - s.min())
        order = torch.from_numpy(np.argsort(-s.cpu().numpy(), kind="stable")).to(x.device)
        xn = model.normalise(xi[None])[0].flatten(1)
        base = model.net(xn.view(1, c, h, w))[0]
        t = int(base.argmax())
        inputs = []
        for r in ratios:
            k = math.floor(r * p + 0.5)
            for removed in (order[p - k:], order[:k]):  # insertion, deletion
                kept = torch.ones(p, dtype=torch.bool, device=x.device)
                kept[removed] = False
                xp = xn.clone()
                xp[:, ~kept] = xn[:, kept].mean()
                inputs.append(xp.view(c, h, w))
        if one_forward_per_input:
            logits = torch.cat([model.net(xp[None]) for xp in inputs])
        else:
            logits = model.net(torch.stack(inputs))
        ratio_out.append(logits[:, t] / base[t])
        correct_out.append(logits.argmax(1) == t)
    return torch.cat(ratio_out), torch.cat(correct_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=32, help="images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-sizes", default="64,512",
                        help="our chunk sizes; on CPU large conv batches cost more per image (cache)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    # cuDNN's TF32 convolutions differ between batch sizes by more than the equality checked here.
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    model = build_model("resnet", META, {"width": 16}).eval().to(args.device)
    x, maps = torch.rand(args.n, 3, 32, 32).to(args.device), torch.randn(args.n, 3, 32, 32).to(args.device)
    ratios = DIFFID_RATIOS
    what = f"DiffID, resnet, {args.n} images 3×32×32, {len(ratios)} ratios × 2 games"

    table = diffid(model, x, maps, ratios=ratios)
    ours = {c: median_time(lambda: diffid(model, x, maps, ratios=ratios, chunk_size=c), args.repeats)
            for c in map(int, args.chunk_sizes.split(","))}
    rows = []
    for one_each, anchor_name in ((False, "per-image loop, 18 inputs per forward"),
                                  (True, "per-image, per-input loop")):
        logit_ratio, correct = diffid_per_image_loop(model, x, maps, ratios, one_each)
        assert np.allclose(table["logit_ratio"].to_numpy(), logit_ratio.cpu().numpy(), rtol=1e-4, atol=1e-5)
        assert (table["correct"].to_numpy() == correct.cpu().numpy()).all()
        anchor = median_time(lambda: diffid_per_image_loop(model, x, maps, ratios, one_each), args.repeats)
        rows += [(f"{what}, chunk_size={c}", anchor_name, anchor, t) for c, t in ours.items()]

    # The floor neither side can beat: the network alone on the same 2·R·N perturbed inputs.
    perturbed = perturbed_inputs(model, x, maps, ratios)
    floors = {c: median_time(lambda: [model.net(b) for b in perturbed.split(c)], args.repeats)
              for c in map(int, args.chunk_sizes.split(","))}
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads, n={args.n}\n")
    print("| what | anchor | anchor s | ours s | speed-up (anchor / ours) | forward passes alone s | "
          "ours / forward passes alone |")
    print("|---|---|---|---|---|---|---|")
    for what, anchor_name, anchor_s, ours_s in rows:
        floor = floors[int(what.rsplit("=", 1)[1])]
        print(f"| {what} | {anchor_name} | {anchor_s:.3f} | {ours_s:.3f} | {anchor_s / ours_s:.2f}× | "
              f"{floor:.3f} | {ours_s / floor:.2f} |")


@torch.no_grad()
def perturbed_inputs(model, x, maps, ratios) -> torch.Tensor:
    """All (N·R·2, C, H, W) normalised DiffID inputs, built once outside any timing."""
    _, c, h, w = x.shape
    p = h * w
    out = []
    for xi, mi in zip(x, maps):
        order = torch.from_numpy(np.argsort(-mi.abs().sum(0).flatten().cpu().numpy(), kind="stable")).to(x.device)
        xn = model.normalise(xi[None])[0].flatten(1)
        for r in ratios:
            k = math.floor(r * p + 0.5)
            for removed in (order[p - k:], order[:k]):
                kept = torch.ones(p, dtype=torch.bool, device=x.device)
                kept[removed] = False
                xp = xn.clone()
                xp[:, ~kept] = xn[:, kept].mean()
                out.append(xp.view(c, h, w))
    return torch.stack(out)


if __name__ == "__main__":
    main()
