"""Speed of the MuS certificate and the box attack, as ratios against anchors measured in the
same run on the default models (config.yaml's resnet, vit and bert architectures).

- Certifying N inputs at q = 64 (``SmoothedClassifier.certify``) against the raw batched
  forward passes over the same N·q masked inputs, prepared in advance: (a) the model call with
  its keep-masks (``model(x, keep)``, chunk by chunk), (b) for images, the bare network on
  pre-masked, pre-normalised pixels. Target: certify ≤ 1.10 × anchor.
- The box attack on N inputs with shared batches against the same attack run one input at a
  time (the candidates of one input per batch).
Run with `make bench`; prints a Markdown table. Timings are medians of repeats.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from timing import median_time

from attrib.models import build_model
from attrib.mus.smoothing import quasi_random_masks, SmoothedClassifier
from attrib.mus.attack import box_attack

IMAGE_META = {"modality": "image", "num_classes": 10, "classes": [str(i) for i in range(10)], "image_size": 32,
              "patch": 4, "mean": [0.45, 0.43, 0.42]}




def masked_batch(model, x, lam, q, seed=0):
    """The N·q (input, keep) pairs that the smoothed classifier evaluates, materialised."""
    s = quasi_random_masks(model.num_features(x), q, lam, seed).to(x.device)
    return x.repeat_interleave(q, dim=0), s.repeat(x.shape[0], 1)


@torch.no_grad()
def raw_model_calls(model, xs, keep, chunk):
    for a in range(0, len(xs), chunk):
        model(xs[a:a + chunk], keep=keep[a:a + chunk])


@torch.no_grad()
def raw_network(model, pixels, chunk):
    for a in range(0, len(pixels), chunk):
        model.net(pixels[a:a + chunk])


def text_model():
    """The default bert (MiniLM) on random token ids, if its tokenizer/weights are available."""
    from attrib.data import load_meta

    for root in (Path("results/data/tweets"), Path("/work/main/results/data/tweets")):
        if (root / "meta.json").exists():
            meta = load_meta(root)
            model = build_model("bert", meta, None, pretrained=False).eval()
            ids = torch.randint(1000, 2000, (4, 16))
            return model, ids
    return None, None


class Rows(list):
    """Table rows, each printed as soon as it is measured."""

    def append(self, row):
        what, anchor_name, anchor_s, ours_s = row
        print(f"| {what} | {anchor_name} | {anchor_s:.3f} | {ours_s:.3f} | {ours_s / anchor_s:.2f}× |", flush=True)
        super().append(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=16, help="inputs certified per measurement")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=64, help="the config's chunk_size")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the default run's jobs use 1)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    q, lam, chunk = 64, 0.25, args.chunk_size
    vit_options = {"num_layers": 3, "num_heads": 4, "hidden_dim": 64, "mlp_dim": 128}
    models = {
        "resnet": build_model("resnet", IMAGE_META, {"width": 16}).eval().to(args.device),
        "vit (black)": build_model("vit", IMAGE_META, vit_options).eval().to(args.device),
        "vit (drop, the default config's)": build_model("vit", IMAGE_META, {**vit_options, "removal": "drop"})
        .eval().to(args.device),
    }
    models["vit (drop, the default config's)"].load_state_dict(models["vit (black)"].state_dict())
    x = torch.rand(args.n, 3, 32, 32).to(args.device)
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads, n={args.n}, chunk_size={chunk}\n")
    print("| what | anchor | anchor s | ours s | ours / anchor |")
    print("|---|---|---|---|---|", flush=True)
    rows = Rows()
    certify_time = {}
    for name, model in models.items():
        smoothed = SmoothedClassifier(model, lam, q=q, chunk_size=chunk)
        xs, keep = masked_batch(model, x, lam, q)
        pixels = None  # dropped tokens have no pixel-space equivalent
        if model.default_removal == "black":
            with torch.no_grad():
                pixels = model.normalise(model.remove(xs, keep, "black"))
        ours = certify_time[name] = median_time(lambda: smoothed.certify(x), args.repeats)
        anchor = median_time(lambda: raw_model_calls(model, xs, keep, chunk), args.repeats)
        rows.append((f"certify {args.n} images, {name}, q=64", "model(x, keep) over the N·q masked inputs", anchor, ours))
        if pixels is not None:
            anchor = median_time(lambda: raw_network(model, pixels, chunk), args.repeats)
            rows.append((f"certify {args.n} images, {name}, q=64", "bare network on pre-masked pixels", anchor, ours))
    rows.append((f"certify {args.n} images, vit dropping the masked tokens, q=64, λ={lam:g}",
                 "the same ViT certified with black patches", certify_time["vit (black)"],
                 certify_time["vit (drop, the default config's)"]))

    bert, ids = text_model()
    if bert is not None:
        bert, ids = bert.to(args.device), ids.to(args.device)
        smoothed = SmoothedClassifier(bert, lam, q=q, chunk_size=chunk)
        xs, keep = masked_batch(bert, ids, lam, q)
        ours = median_time(lambda: smoothed.certify(ids), 1)
        anchor = median_time(lambda: raw_model_calls(bert, xs, keep, chunk), 1)
        rows.append((f"certify {len(ids)} tweets (16 tokens), bert, q=64", "model(x, keep) over the N·q masked inputs",
                     anchor, ours))

    model = models["resnet"]
    n_attack = 4
    xa = x[:n_attack]
    alpha = (torch.rand(n_attack, 64, generator=torch.Generator().manual_seed(1)) < 0.25).float().to(args.device)
    allowed = alpha == 0
    smoothed = SmoothedClassifier(model, lam, q=q, chunk_size=chunk)
    options = {"iterations": 2, "candidates": 8, "seed": 0}

    def shared():
        return box_attack(smoothed, xa, alpha, allowed, **options)

    def one_at_a_time():
        return torch.cat([box_attack(smoothed, xa[i:i + 1], alpha[i:i + 1], allowed[i:i + 1], **options)
                          for i in range(n_attack)])

    ours = median_time(shared, 1)
    anchor = median_time(one_at_a_time, 1)
    rows.append((f"box attack, {n_attack} images, resnet, 2 iterations × 8 candidates", "one input at a time",
                 anchor, ours))



if __name__ == "__main__":
    main()
