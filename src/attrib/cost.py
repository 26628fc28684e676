"""What each job of the workflow costs: device seconds of its work, host memory, and the
largest gradient chunk that fits the GPU. The rules' ``runtime``, ``mem_mb`` and ``work_s``
resources and their gradient ``chunk_size`` come from here, so they follow from each job's
size (inputs × forward passes per input × seconds per forward) instead of being constants.

Standard library only: the Snakefile imports this on every parse.

Per-forward costs are estimates, not measurements (±2×; docs/paper-settings.md, "Cost at paper
scale"): the paper models on one A100 (PyTorch eager, float32, TF32 convolutions only, large
batches), the embedded default's small models on one CPU core. A forward + backward pass to the
input counts as ``BACKWARD`` forwards. A job asks for ``SAFETY`` × its estimate plus
``STARTUP_S``, times the attempt (a job killed for time comes back with more).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from attrib.catalogue import source_modality

BACKWARD = 3.0  # forward + backward to the input, in forward passes
SAFETY = 1.5  # runtime asked / estimated work
STARTUP_S = 300.0  # imports, reading data, loading the model, writing outputs
GIB = 2**30
GB = 10**9


@dataclass(frozen=True)
class ModelCost:
    """``forward_s``: device seconds per input of one forward pass in large batches (paper models:
    an A100 at 224 px or 64 tokens; default models: one CPU core at 32 px or 40 tokens).
    ``grad_gib``: device memory per input of a forward + backward pass (the activations kept for
    the backward). ``weights_gib``: float32 parameters. ``step_s``: fixed seconds per optimiser
    step (what small batches cost beyond their forwards)."""

    forward_s: float
    grad_gib: float
    weights_gib: float
    step_s: float


MODELS = {
    # paper scale, A100-80GB: ResNet-50 2,500 img/s (TF32 convolutions); ViT-B/16 350 img/s and a
    # gradient chunk of 256 in ~69 GiB; RoBERTa-base 1,000 seq/s at 64 tokens
    "resnet50": ModelCost(forward_s=1 / 2500, grad_gib=0.10, weights_gib=0.10, step_s=0.02),
    "vit_b_16": ModelCost(forward_s=1 / 350, grad_gib=0.27, weights_gib=0.33, step_s=0.02),
    "roberta": ModelCost(forward_s=1 / 1000, grad_gib=0.05, weights_gib=0.47, step_s=0.025),
    "textcnn": ModelCost(forward_s=2e-5, grad_gib=0.001, weights_gib=0.01, step_s=0.002),
    # the embedded default, one CPU core
    "resnet": ModelCost(forward_s=4e-4, grad_gib=0.002, weights_gib=0.001, step_s=0.01),
    "vit": ModelCost(forward_s=4e-4, grad_gib=0.002, weights_gib=0.001, step_s=0.01),
    "bert": ModelCost(forward_s=6e-3, grad_gib=0.01, weights_gib=0.09, step_s=0.05),
}

# Builder defaults that sizes depend on (tests/test_cost.py checks them against the builders).
DATASET_DEFAULTS = {
    "digits": {"image_size": 32, "patch": 4},
    "imagenet": {"image_size": 224, "patch": 16},
    "tweets": {"max_length": 64},
    "tweeteval": {"max_length": 64},
    "imagefolder": {"image_size": 224, "patch": 16},
    "csv": {"max_length": 64},
    "jsonl": {"max_length": 64},
}
TWEETEVAL_SIZES = {"n_train": 45615, "n_val": 2000, "n_test": 12284}  # the full sentiment splits
DIGITS_PER_PLACEMENT = 1797  # scikit-learn's digits, each placed `placements` times
JPEG_DECODE_S = 0.01  # one CPU core: decode, resize and crop one ILSVRC image
TEXT_FEATURE_FRACTION = 0.5  # real tokens of a tweet / max_length (TweetEval: ~25 of 64)

# Method options that set the cost, with the registry's defaults (checked by tests/test_cost.py).
METHOD_DEFAULTS = {
    "smoothgrad": {"nt_samples": 20},
    "gradshap": {"n_samples": 20},
    "intgrad": {"n_steps": 32},
    "intgrad_path": {"n_points": 5},
    "intgrad_sg": {"n_points": 5, "bg_size": 10},
    "intgrad_uniform": {"n_points": 5, "bg_size": 10},
    "expgrad": {"n_points": 5, "bg_size": 10},
    "lime": {"n_samples": 200},
    "kernelshap": {"n_samples": 200},
    "smug_base": {"n_steps": 32},
    "smug": {"n_steps": 32},
}
MASK_METHOD_DEFAULTS = {"vgrad": {}, "igrad": {"n_steps": 32}, "shap": {"n_samples": 48}, "lime": {"n_samples": 48}}
DIFFID_PASSES = 2 * 9 + 1  # insertion and deletion at 9 ratios, and the plain pass


UNKNOWN_MODEL = ModelCost(forward_s=max(m.forward_s for m in MODELS.values()),
                          grad_gib=max(m.grad_gib for m in MODELS.values()),
                          weights_gib=max(m.weights_gib for m in MODELS.values()),
                          step_s=max(m.step_s for m in MODELS.values()))
"""A model given by its source (your own): sized as the costliest known one, so its jobs ask
for enough time and memory (add its numbers to MODELS to size it exactly)."""


def model_cost(name: str) -> ModelCost:
    return MODELS.get(name, UNKNOWN_MODEL)


# --- sizes of a dataset ---------------------------------------------------------------------------


def _option(config: dict, dataset: str, key: str):
    spec = config["datasets"][dataset]
    return spec["options"].get(key, DATASET_DEFAULTS[spec["source"]].get(key))


def is_image(config: dict, dataset: str) -> bool:
    return source_modality(config["datasets"][dataset]["source"]) == "image"


def num_features(config: dict, dataset: str) -> int:
    """p: patches of the image grid, or the typical number of real tokens."""
    if is_image(config, dataset):
        return (_option(config, dataset, "image_size") // _option(config, dataset, "patch")) ** 2
    return max(1, round(TEXT_FEATURE_FRACTION * _option(config, dataset, "max_length")))


def input_bytes(config: dict, dataset: str) -> int:
    """One stored input: uint8 pixels or int64 token ids."""
    if is_image(config, dataset):
        return 3 * _option(config, dataset, "image_size") ** 2
    return 8 * _option(config, dataset, "max_length")


def split_sizes(config: dict, dataset: str) -> dict[str, int]:
    """n_train, n_val, n_test as the builder will store them."""
    spec = config["datasets"][dataset]
    options = spec["options"]
    if spec["source"] == "digits":
        total = DIGITS_PER_PLACEMENT * options["placements"]
        fractions = options.get("split_fractions", [0.7, 0.1, 0.2])
        return {f"n_{name}": math.ceil(total * f) for name, f in zip(("train", "val", "test"), fractions)}
    defaults = TWEETEVAL_SIZES if spec["source"] == "tweeteval" else {}
    return {key: options.get(key) or defaults.get(key, 0) for key in ("n_train", "n_val", "n_test")}


# --- device seconds of each job's work --------------------------------------------------------------


def _forwards_to_seconds(model: str, forwards: float) -> float:
    return forwards * model_cost(model).forward_s


def attribute_forwards(config: dict, dataset: str, label: str) -> float:
    """Forward-equivalents per input of one attribute.methods entry, with its scores."""
    entry = config["attribute"]["methods"][label]
    name = entry.get("method", label)
    opts = {**METHOD_DEFAULTS.get(name, {}), **entry}
    p = num_features(config, dataset)
    method = {
        "saliency": BACKWARD,
        "inputxgrad": BACKWARD,
        "smoothgrad": BACKWARD * opts.get("nt_samples", 0),
        "gradshap": BACKWARD * opts.get("n_samples", 0),
        "intgrad": BACKWARD * opts.get("n_steps", 0),
        "intgrad_path": BACKWARD * opts.get("n_points", 0),
        "occlusion": p + 1,
        "feature_ablation": p + 1,
        "lime": opts.get("n_samples", 0),
        "kernelshap": opts.get("n_samples", 0),
        "random": 0,
        "smug_base": BACKWARD * opts.get("n_steps", 0),
        "smug": BACKWARD * opts.get("n_steps", 0),
    }.get(name, BACKWARD * opts.get("bg_size", 0) * opts.get("n_points", 0))  # the random-reference paths
    curves = 2 * (config["attribute"]["curves"]["steps"] + 1) + 1
    return 2 + method + curves + (DIFFID_PASSES if is_image(config, dataset) else 0)


def attribute_seconds(config: dict, dataset: str, model: str, label: str, n: int) -> float:
    return _forwards_to_seconds(model, n * attribute_forwards(config, dataset, label))


def _q(config: dict, lam: float) -> int:
    return 1 if lam >= 1 else config["certify"]["q"]


def certify_accuracy_seconds(config: dict, model: str, lam: float, n: int) -> float:
    return _forwards_to_seconds(model, n * _q(config, lam))


def mus_explain_seconds(config: dict, model: str, n: int) -> float:
    forwards = 1.0
    for method, options in config["certify"]["methods"].items():
        if method not in MASK_METHOD_DEFAULTS:
            continue  # registry methods: their attributions are read, not computed
        opts = {**MASK_METHOD_DEFAULTS[method], **options}
        forwards += 1 + {"vgrad": BACKWARD, "igrad": BACKWARD * opts.get("n_steps", 0),
                         "shap": BACKWARD * opts.get("n_samples", 0), "lime": opts.get("n_samples", 0)}[method]
    return _forwards_to_seconds(model, n * forwards)


def certify_stability_seconds(config: dict, dataset: str, model: str, lam: float, n: int, n_sparsity: int) -> float:
    """E1 on ``n`` inputs: (1, 0) once, then per explanation (methods × top fractions) q masks for
    (α, 0) and (1, α) and one pass for (α, α); E3 on ``n_sparsity`` of them (λ ≤ max_lambda): per
    method a binary search over k of ~log2 p steps, q masks per step without μ (and the full
    input), 2q with μ."""
    spec, q = config["certify"], _q(config, lam)
    explanations = len(spec["methods"]) * len(spec["top_fractions"])
    forwards = n * (q + explanations * (2 * q + 1))
    if lam <= spec["sparsity"]["max_lambda"]:
        steps = math.ceil(math.log2(max(2, num_features(config, dataset))))
        forwards += n_sparsity * len(spec["methods"]) * (3 * steps + 4) * q
    return _forwards_to_seconds(model, forwards)


def attack_forwards(config: dict, dataset: str, lam: float) -> float:
    """Forward-equivalents per sample of the box attack: for each mode, μ and direction, the
    start points, every single flip (λq of the masks each) and ``iterations`` × ``candidates``
    flip sets of about half the largest size, each recomputing the masks it touches, with ~3/4
    of the samples still searching."""
    spec, q = config["certify"]["attack"], _q(config, lam)
    p = num_features(config, dataset)
    allowed = max(1, round(p * (1 - spec["top_fraction"])))
    flips = (1 + max(allowed // 5, 3)) / 2
    touched = 1.0 if lam >= 1 else q * (1 - (1 - lam) ** flips)
    per_run = q + allowed * max(1.0, lam * q) + 0.75 * spec["iterations"] * spec["candidates"] * touched
    return per_run * 2 * len(spec["modes"]) * len(spec["with_mu"]) + 2 * q


def attack_seconds(config: dict, dataset: str, model: str, lam: float, n: int) -> float:
    return _forwards_to_seconds(model, n * attack_forwards(config, dataset, lam))


def ablate_patches_seconds(config: dict, dataset: str, model: str, orders: int, n: int) -> float:
    steps = num_features(config, dataset) // config["ablate"]["skip"] + 2
    return _forwards_to_seconds(model, n * (1 + orders * steps))


def ablate_lime_seconds(config: dict, model: str, n: int) -> float:
    return _forwards_to_seconds(model, n * (2 + config["ablate"]["lime"]["n_samples"]))


def ablate_topk_seconds(config: dict, dataset: str, models: list[str], n: int) -> float:
    top = config["ablate"]["top_k"]
    ks = len(range(1, max(1, round(top["max_fraction"] * num_features(config, dataset))) + 1, top["skip"]))
    sources = len(models) + 1  # each model's LIME and random
    return sum(_forwards_to_seconds(m, n * (1 + sources * 2 * ks)) for m in models)


def smug_seconds(config: dict, model: str, n: int) -> float:
    """Device seconds: integrated gradients over the first layer (``n_steps`` gradient passes)."""
    steps = config["smug"]["models"][model].get("n_steps", METHOD_DEFAULTS["smug"]["n_steps"])
    return _forwards_to_seconds(model, n * (1 + BACKWARD * steps))


def smug_solver_seconds(config: dict, model: str, start: int, stop: int) -> float:
    """CPU seconds of the 0/1 programs at worst (every solve hits ``timeout_s``), with the
    timing backends' second solves of the first ``timing.inputs`` programs."""
    options = config["smug"]["models"][model]
    timeout = float(options.get("timeout_s", 10.0))
    timing = config["smug"].get("timing") or {"backends": [], "inputs": 0}
    backend = options.get("backend", "milp")
    extra = len([b for b in timing["backends"] if b != backend])
    timed = max(0, min(stop, timing["inputs"]) - start)
    return timeout * ((stop - start) + extra * timed)


def smug_evaluate_seconds(config: dict, model: str, maps: int, n: int) -> float:
    return _forwards_to_seconds(model, n * maps * (1 + len(config["smug"]["thresholds"])))


def finetune_seconds(config: dict, dataset: str, model: str, lam: float) -> float:
    """The epochs of the λ schedule (train at λ = 1), each step a batch × levels through forward
    and backward, a validation pass before and after every epoch, and the test pass."""
    spec = config["models"][model]["train" if lam >= 1 else "finetune"]
    sizes = split_sizes(config, dataset)
    levels = 1 if lam >= 1 else len(config["finetune"]["levels"])
    steps = math.ceil(sizes["n_train"] / spec["batch_size"]) if sizes["n_train"] else 0
    if spec.get("max_steps_per_epoch"):
        steps = min(steps, spec["max_steps_per_epoch"])
    cost = model_cost(model)
    per_step = BACKWARD * cost.forward_s * spec["batch_size"] * levels + cost.step_s
    evaluation = ((spec["epochs"] + 1) * sizes["n_val"] + sizes["n_test"]) * levels * cost.forward_s
    return spec["epochs"] * steps * per_step + evaluation


def prepare_seconds(config: dict, dataset: str) -> float:
    """CPU seconds: decoding ImageNet images one after the other (``JPEG_DECODE_S`` each), or
    building the small datasets (a minute)."""
    if config["datasets"][dataset]["source"] != "imagenet":
        return 60.0
    return sum(split_sizes(config, dataset).values()) * JPEG_DECODE_S


# --- what a job asks for ------------------------------------------------------------------------------


def runtime_minutes(work_s: float, attempt: int = 1) -> int:
    """SLURM ``runtime``: ``SAFETY`` × the estimate plus start-up, times the attempt."""
    return math.ceil((STARTUP_S + SAFETY * work_s) / 60) * attempt


def memory_mb(data_bytes: float, attempt: int = 1, base_mb: int = 4000) -> int:
    """Host ``mem_mb``: the process (``base_mb``: Python, torch, a CUDA context) plus the bytes
    the job holds, times the attempt."""
    return int(base_mb + math.ceil(data_bytes / 2**20)) * attempt


def evaluation_bytes(config: dict, dataset: str, model: str, n: int, outputs: float = 0.0) -> float:
    """An evaluation job: ``n`` inputs (uint8 read, float copies on host and device), the
    model twice (checkpoint and module), and its ``outputs``."""
    per_input = input_bytes(config, dataset) * (4 * 3 if is_image(config, dataset) else 2)
    return n * per_input + 2 * model_cost(model).weights_gib * GIB + outputs


def dataset_bytes(config: dict, dataset: str) -> float:
    return sum(split_sizes(config, dataset).values()) * input_bytes(config, dataset)


def gradient_chunk(config: dict, model: str) -> int:
    """``chunk_size``, or fewer inputs per gradient pass where ``gpu_memory_gb`` is set: what fits
    90 % of that memory after the weights and ~1 GiB of CUDA workspace, at the model's
    ``grad_gib`` per input."""
    chunk = config["chunk_size"]
    budget = config.get("gpu_memory_gb")
    if not budget:
        return chunk
    cost = model_cost(model)
    room = 0.9 * budget * GB / GIB - cost.weights_gib - 1.0
    return max(1, min(chunk, math.floor(room / cost.grad_gib)))


# --- the GPU-hour table of a config (docs/slurm.md, benchmarks/gpu_hours.py) --------------------------


def gpu_hour_table(jobs) -> str:
    """Markdown: per rule, its jobs' estimated work (``work_s``), the 0/1 programs' CPU time at
    worst (``solver_s``, SMUG) and the largest first-attempt ``runtime``; ``jobs`` are (rule,
    resources dict) of a dry run, the rules without a ``work_s`` (downloads, merges, figures)
    left out."""
    rows: dict[str, dict] = {}
    for rule, resources in jobs:
        if "work_s" not in resources:
            continue
        row = rows.setdefault(rule, {"jobs": 0, "gpu": bool(resources.get("gpu")), "work": 0.0, "max": 0.0,
                                     "solver": 0.0, "asked": 0})
        row["jobs"] += 1
        row["work"] += resources["work_s"] / 3600
        row["solver"] += resources.get("solver_s", 0) / 3600
        row["max"] = max(row["max"], (resources["work_s"] + resources.get("solver_s", 0)) / 3600)
        row["asked"] = max(row["asked"], resources["runtime"])
    lines = ["| rule | device | jobs | work, hours | + solver at worst (CPU), hours | largest job, hours | "
             "largest runtime asked, minutes |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for rule, row in sorted(rows.items(), key=lambda item: -item[1]["work"]):
        solver = f"{row['solver']:.1f}" if row["solver"] else ""
        lines.append(f"| {rule} | {'GPU' if row['gpu'] else 'CPU'} | {row['jobs']} | {row['work']:.1f} | {solver} | "
                     f"{row['max']:.2f} | {row['asked']} |")
    for device, gpu in (("GPU", True), ("CPU", False)):
        chosen = [row for row in rows.values() if row["gpu"] == gpu]
        lines.append(f"| **total** | {device} | {sum(r['jobs'] for r in chosen)} | "
                     f"**{sum(r['work'] for r in chosen):.1f}** | | | |")
    return "\n".join(lines) + "\n"
