"""What a default-run job pays beside its science, as ratios against anchors of the same run:

- start-up: each rule script's imports against ``import torch`` alone (the floor of a job that
  computes), one fresh interpreter per measurement, the minimum of repeats; building the
  default ``bert`` (the package's own module) against transformers' model from the same folder;
- a training step of the small ResNet and ViT against their forward pass on the same batch, the
  ResNet in channels-last (what ``attrib.models.resnet`` builds) and in the contiguous format;
- Kernel SHAP's batched weighted least squares (Cholesky) against a pseudo-inverse per input,
  and against the forward passes of its perturbations.

Run with ``make bench``; prints Markdown tables for the README.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from timing import median_time

from attrib.attribution.surrogate import weighted_linear_fit
from attrib.models import build_model

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ["attribution/attribute", "mus/certify_stability", "mus/certify_accuracy", "finetune/finetune",
           "missingness/ablate_patches", "smug/smug", "mus/figure_mus_stability", "report/summary"]
META = {"modality": "image", "num_classes": 10, "image_size": 32, "patch": 4, "mean": [0.45, 0.43, 0.42]}
TEXT_META = {"modality": "text", "num_classes": 3, "max_length": 40, "pad_id": 0, "mask_id": 103,
             "special_ids": [0, 100, 101, 102, 103], "vocab_size": 30522}
DEFAULT_VIT = {"num_layers": 3, "num_heads": 4, "hidden_dim": 64, "mlp_dim": 128, "removal": "drop"}


def import_seconds(code: str, repeats: int = 3) -> float:
    """Wall seconds of a fresh interpreter running ``code`` (imports only), the fastest of repeats."""
    timer = "import time; _t = time.perf_counter()\n{}\nprint(time.perf_counter() - _t)"
    runs = [float(subprocess.run([sys.executable, "-c", timer.format(code)], capture_output=True, text=True,
                                 check=True, cwd=ROOT).stdout.split()[-1]) for _ in range(repeats)]
    return min(runs)


def script_imports(name: str) -> str:
    """The import statements of a rule script (multi-line ``from ... import (...)`` included)."""
    text = (ROOT / "scripts" / f"{name}.py").read_text()
    return "\n".join(m.group(0) for m in re.finditer(r"^(?:from \S+ import \([^)]*\)|(?:import|from) [^\n]+)$",
                                                      text, flags=re.M))


def startup_table() -> None:
    torch_s = import_seconds("import torch")
    print("| script | its imports s | `import torch` s | ratio | torchvision / captum / scipy loaded |")
    print("|---|---|---|---|---|")
    for name in SCRIPTS:
        code = script_imports(name)
        seconds = import_seconds(code)
        loaded = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(sorted({m.split('.')[0] for m in "
                                 "sys.modules} & {'torchvision', 'captum', 'scipy'}))"], capture_output=True,
                                text=True, check=True, cwd=ROOT).stdout.strip()
        print(f"| `scripts/{name}.py` | {seconds:.2f} | {torch_s:.2f} | {seconds / torch_s:.2f} | {loaded} |")
    ours = import_seconds(f"from attrib.models import build_model; build_model('bert', {TEXT_META!r})")
    theirs = import_seconds("from transformers import AutoModelForSequenceClassification as M\n"
                            "from attrib.resources import minilm_dir\n"
                            "M.from_pretrained(minilm_dir(), num_labels=3, local_files_only=True)")
    print(f"| `bert` built (own module, imports included) | {ours:.2f} | {torch_s:.2f} | {ours / torch_s:.2f} | "
          f"transformers' model: {theirs:.2f} s, {theirs / torch_s:.2f} |")


def training_table(batch: int = 128, repeats: int = 5) -> None:
    x, y = torch.rand(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    print("\n| model, batch 128, 32 px | forward s | training step s | step / forward |")
    print("|---|---|---|---|")
    for label, name, options, contiguous in (("resnet, channels-last (built)", "resnet", {"width": 16}, False),
                                             ("resnet, contiguous", "resnet", {"width": 16}, True),
                                             ("vit", "vit", DEFAULT_VIT, False)):
        torch.manual_seed(0)
        model = build_model(name, META, options)
        if contiguous:
            model = model.to(memory_format=torch.contiguous_format)
        optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def step():
            loss = F.cross_entropy(model(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

        @torch.no_grad()
        def forward():
            model(x)

        model.train()
        step_s, forward_s = median_time(step, repeats), median_time(forward, repeats)
        print(f"| {label} | {forward_s:.3f} | {step_s:.3f} | {step_s / forward_s:.2f} |")


def bert_table(batch: int = 32, length: int = 40, repeats: int = 3) -> None:
    """The default ``bert`` against transformers' model with the same weights (the anchor)."""
    from transformers import BertConfig, BertForSequenceClassification

    from attrib.resources import minilm_dir

    torch.manual_seed(0)
    ours = build_model("bert", TEXT_META)
    theirs = BertForSequenceClassification(BertConfig.from_pretrained(minilm_dir(), num_labels=3))
    theirs.load_state_dict(ours.net.state_dict())
    ids = torch.randint(1000, 20000, (batch, length), generator=torch.Generator().manual_seed(0))
    ids[:, 0], ids[batch // 2:, length * 2 // 3:] = 101, 0
    mask = (ids != 0).long()
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(ids), theirs.eval()(input_ids=ids, attention_mask=mask).logits,
                                   atol=1e-5, rtol=1e-4)
    rows = {}
    for label, model, logits in (("ours", ours, lambda: ours(ids)),
                                 ("transformers", theirs, lambda: theirs(input_ids=ids, attention_mask=mask).logits)):
        optimiser = torch.optim.AdamW(model.parameters(), lr=1e-5)

        def step():
            loss = F.cross_entropy(logits(), torch.zeros(batch, dtype=torch.long))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

        model.eval()
        with torch.no_grad():
            forward_s = median_time(logits, repeats)
        model.train()
        rows[label] = forward_s, median_time(step, repeats)
    print(f"\n| bert, batch {batch} × {length} tokens | forward s | training step s |")
    print("|---|---|---|")
    for label, (forward_s, step_s) in rows.items():
        print(f"| {label} | {forward_s:.3f} | {step_s:.3f} |")
    (ours_forward, ours_step), (their_forward, their_step) = rows["ours"], rows["transformers"]
    print(f"| ours / transformers | {ours_forward / their_forward:.2f} | {ours_step / their_step:.2f} |")


def kernelshap_table(images: int = 200, samples: int = 128, features: int = 64, repeats: int = 5) -> None:
    """The default run's Kernel SHAP: 200 images, 128 perturbations each, p = 64."""
    g = torch.Generator().manual_seed(0)
    z = (torch.rand(images, samples, features, generator=g) < 0.5).float()
    y, w = torch.rand(images, samples, generator=g), torch.rand(images, samples, generator=g) + 0.1
    mask = torch.ones(images, features, dtype=torch.bool)

    def pinv_per_input():
        out = []
        for zi, yi, wi in zip(z.double(), y.double(), w.double()):
            zc = zi - (wi[:, None] * zi).sum(0) / wi.sum()
            yc = yi - (wi * yi).sum() / wi.sum()
            out.append(torch.linalg.pinv(zc.T @ (wi[:, None] * zc), hermitian=True) @ (zc.T @ (wi * yc)))
        return torch.stack(out)

    torch.testing.assert_close(weighted_linear_fit(z, y, w, mask, 0.0), pinv_per_input())
    model = build_model("resnet", META, {"width": 16}).eval()
    inputs = torch.rand(64, 3, 32, 32)

    @torch.no_grad()
    def forwards():  # the images × samples perturbed inputs, in chunks of 64
        for _ in range(images * samples // 64):
            model(inputs)

    fit_s, pinv_s = median_time(lambda: weighted_linear_fit(z, y, w, mask, 0.0), repeats), median_time(
        pinv_per_input, repeats)
    forward_s = median_time(forwards, 1)
    print(f"\n| Kernel SHAP fit, {images} images × {samples} samples, p = {features} | s | ratio |")
    print("|---|---|---|")
    print(f"| batched Cholesky (ours) | {fit_s:.3f} | — |")
    print(f"| pseudo-inverse per input (anchor) | {pinv_s:.3f} | ours {fit_s / pinv_s:.2f}× the anchor |")
    print(f"| the forward passes of its perturbations (resnet) | {forward_s:.3f} | fit = {fit_s / forward_s:.3f}× them |")


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread (as the default run's jobs)\n")
    startup_table()
    training_table()
    bert_table()
    kernelshap_table()
