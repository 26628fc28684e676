"""SMUG's two backends on the same programs: HiGHS (``milp``, scipy) against ``z3.Optimize``.

Instances: (1) the default pipeline's digits / resnet programs (window 2, top_k 500, γ = 0; the
trained checkpoint in results/ when there is one, else a freshly built resnet on the digits
data); (2) the default tweets / textcnn programs (top_k 100) when its checkpoint exists; (3) at
224 px, window 4, top_k 3000, γ = 0.5: test digits upsampled to 224 px through the trained
digits resnet (fully convolutional, so it takes any size); (4) at 224 px, window 4, top_k 3000,
γ = 0: one photograph (scikit-image's astronaut) through torchvision's ResNet-50 stem (7x7,
stride 2, padding 3) with random weights, since pretrained ones need the internet. Each program
is built once and solved by both backends; the time covers building the solver's model and
solving. Prints Markdown rows for the README: median times, their ratio (z3 / milp), and
whether the objectives agreed (comparable only where both proved optimality before the timeout).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision

import attrib.smug.symbolic as smug
from attrib.models import build_model, load_checkpoint
from attrib.models.base import ImageClassifier


def digits_instances(results: Path, count: int):
    data = results / "data" / "digits"
    checkpoint = results / "models" / "digits" / "resnet" / "lam1.pt"
    if data.exists() and checkpoint.exists():
        from attrib.evalset import load_eval_set

        model, _ = load_checkpoint(checkpoint)
        return "digits / resnet (trained)", model, load_eval_set(data, count).inputs
    from attrib.data import DATASETS

    splits, meta = DATASETS["digits"](seed=0, placements=1, image_size=32, patch=4, max_offset=0)
    torch.manual_seed(0)
    model = build_model("resnet", {**meta, "modality": "image"}, {"width": 16})  # the builder's meta has no modality
    return "digits / resnet (untrained)", model, splits["test"]["x"][:count].float() / 255


def tweets_instances(results: Path, count: int):
    checkpoint = results / "models" / "tweets" / "textcnn" / "lam1.pt"
    if not checkpoint.exists():
        return None
    from attrib.evalset import load_eval_set

    model, _ = load_checkpoint(checkpoint)
    return "tweets / textcnn (trained)", model, load_eval_set(results / "data" / "tweets", count).inputs


def large_digits_instances(results: Path, count: int):
    title, model, x = digits_instances(results, count)
    x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False)
    return title.replace("digits", "digits at 224 px"), model, x


def photo_instance():
    from skimage import data

    image = torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None].float() / 255
    image = F.interpolate(image, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    torch.manual_seed(0)
    net = torchvision.models.resnet50(num_classes=1000)
    model = ImageClassifier(net, num_classes=1000, image_size=224, patch=16).eval()
    return "224 px photo / resnet50 stem (random weights)", model, image.clamp(0, 1)


def compare(title, model, x, *, window, top_k, n_steps, z3_timeout, milp_timeout, gamma=0.0):
    target = model(x).argmax(1)
    encoding, _, _ = smug.encode_inputs(model, x, target, window=window, top_k=top_k, n_steps=n_steps,
                                        gamma=gamma)
    times = {backend: [] for backend in smug.SMUG_BACKENDS}
    agree, proven, outcomes = True, True, []
    for program in encoding.programs:
        (fast,) = smug.solve(program, "milp", timeout_s=milp_timeout)
        (slow,) = smug.solve(program, "z3", timeout_s=z3_timeout)
        times["milp"].append(fast.seconds)
        times["z3"].append(slow.seconds)
        proven &= fast.proven and slow.proven
        agree &= fast.objective == slow.objective
        outcomes.append(f"milp {fast.status} {fast.objective:g}, z3 {slow.status} {slow.objective:g}")
        assert program.satisfied(fast.mask) and program.satisfied(slow.mask)
        print(f"  {title}: milp {fast.seconds:.4f} s ({fast.status}, kept {fast.objective:g}), "
              f"z3 {slow.seconds:.3f} s ({slow.status}, kept {slow.objective:g})", flush=True)
    milp_s, z3_s = statistics.median(times["milp"]), statistics.median(times["z3"])
    program = encoding.programs[0]
    shape = (f"{len(encoding.programs)} programs, {int(program.free.sum())} variables, ≤ {top_k} neurons, "
             f"γ = {gamma:g}")
    note = "equal, all proven optimal" if agree and proven else "; ".join(outcomes)
    return f"| SMUG {title}, {shape} | z3 | {z3_s:.4f} | {milp_s:.4f} | {z3_s / milp_s:.1f}× | {note} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--inputs", type=int, default=10)
    parser.add_argument("--z3-timeout", type=float, default=120.0, help="seconds per solve, both backends")
    parser.add_argument("--skip-photo", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = []
    title, model, x = digits_instances(args.results, args.inputs)
    rows.append(compare(title, model, x, window=2, top_k=500, n_steps=32, z3_timeout=args.z3_timeout,
                        milp_timeout=args.z3_timeout))
    text = tweets_instances(args.results, args.inputs)
    if text is not None:
        rows.append(compare(text[0], text[1], text[2], window=1, top_k=100, n_steps=32,
                            z3_timeout=args.z3_timeout, milp_timeout=args.z3_timeout))
    title, model, x = large_digits_instances(args.results, 2)
    rows.append(compare(title, model, x, window=4, top_k=3000, n_steps=8, gamma=0.5, z3_timeout=args.z3_timeout,
                        milp_timeout=args.z3_timeout))
    if not args.skip_photo:
        title, model, x = photo_instance()
        rows.append(compare(title, model, x, window=4, top_k=3000, n_steps=8, z3_timeout=args.z3_timeout,
                            milp_timeout=args.z3_timeout))
    print("| what | anchor | anchor s (median) | milp s (median) | speed-up (anchor / milp) | objectives |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
