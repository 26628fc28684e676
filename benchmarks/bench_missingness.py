"""Speed of the missingness sweeps, as ratios against anchors measured in the same run.

1. A full patch-ablation sweep (every step, every image) against the plain batched forward passes
   it needs: one per image for the original prediction, then one per image and step that removes
   something (step 0 reuses the plain pass). Criterion: at most 1.2×.
2. ViT token dropping with mixed kept sets per batch (0 ... p patches kept, as in any batch that
   mixes images of different steps) against blacking out the same patches. Criterion: not slower.
Prints a Markdown table; timings are medians of alternating repeats (anchor, ours, anchor, ...).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from attrib.missingness.ablation import patch_ablation, random_orderings
from attrib.features import num_patches
from attrib.models import build_model

META = {"modality": "image", "num_classes": 10, "classes": [str(i) for i in range(10)], "image_size": 32,
        "patch": 4, "mean": [0.45, 0.43, 0.42]}


def paired_times(anchor, ours, repeats: int) -> tuple[float, float]:
    """Medians of alternating runs of the anchor and ours, so that a shared machine's load drift
    hits both alike."""
    anchor(), ours()  # warm-up
    times = ([], [])
    for _ in range(repeats):
        for fn, bucket in zip((anchor, ours), times):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


@torch.no_grad()
def raw_forwards(model, inputs, chunk_size):
    """Anchor: plain forward passes over pre-built inputs, ``chunk_size`` at a time."""
    for a in range(0, inputs.shape[0], chunk_size):
        model(inputs[a:a + chunk_size])


@torch.no_grad()
def keep_mask_forwards(model, images, keep, removal, chunk_size):
    for a in range(0, images.shape[0], chunk_size):
        model(images[a:a + chunk_size], keep=keep[a:a + chunk_size], removal=removal)


@torch.no_grad()
def padded_to_chunk_max(vit, images, keep, chunk_size):
    """Dropping without length groups: every chunk padded to its longest kept set."""
    for a in range(0, images.shape[0], chunk_size):
        vit._encode_kept(vit.normalise(images[a:a + chunk_size]), keep[a:a + chunk_size])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=32, help="images per sweep")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=64, help="the config's chunk_size")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a shared machine, 2-thread timings are dominated by waits)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # the default config's models
    resnet = build_model("resnet", META, {"width": 16})
    vit = build_model("vit", META, {"num_layers": 3, "num_heads": 4, "hidden_dim": 64, "mlp_dim": 128})
    x = torch.rand(args.n, 3, 32, 32)
    p = num_patches(32, META["patch"])
    rows = []

    order = random_orderings(args.n, p, 0)
    needed = x.repeat(p + 1, 1, 1, 1)  # n plain passes + n × p steps that remove something
    for name, model, removal in (("resnet", resnet, "black"), ("vit", vit, "black"), ("vit", vit, "drop")):
        anchor, ours = paired_times(
            lambda: raw_forwards(model, needed, args.chunk_size),
            lambda: patch_ablation(model, x, order, removal=removal, chunk_size=args.chunk_size),
            args.repeats,
        )
        rows.append((f"full sweep, {name} ({removal}), {args.n} images × {p + 1} steps",
                     f"{needed.shape[0]} raw forwards (full images)", anchor, ours))

    g = torch.Generator().manual_seed(1)
    images = x.repeat(512 // args.n, 1, 1, 1)
    counts = torch.randint(0, p + 1, (images.shape[0], 1), generator=g)
    keep = (torch.rand(images.shape[0], p, generator=g).argsort(1).argsort(1) < counts).float()
    black = lambda: keep_mask_forwards(vit, images, keep, "black", args.chunk_size)  # noqa: E731
    anchor, ours = paired_times(black, lambda: keep_mask_forwards(vit, images, keep, "drop", args.chunk_size),
                                args.repeats)
    rows.append((f"ViT drop, mixed kept sets, {images.shape[0]} images", "black, same keep-masks", anchor, ours))
    anchor, ours = paired_times(black, lambda: padded_to_chunk_max(vit, images, keep, args.chunk_size), args.repeats)
    rows.append(("ViT drop, mixed kept sets, without length groups", "black, same keep-masks", anchor, ours))

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, n={args.n}, chunk_size={args.chunk_size}\n")
    print("| what | anchor | anchor s | ours s | ours / anchor |")
    print("|---|---|---|---|---|")
    for what, anchor_name, anchor_s, ours_s in rows:
        print(f"| {what} | {anchor_name} | {anchor_s:.3f} | {ours_s:.3f} | {ours_s / anchor_s:.2f}× |")


if __name__ == "__main__":
    main()
