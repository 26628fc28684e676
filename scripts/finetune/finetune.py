"""Masked fine-tuning of one model at one keep-probability λ (MuS)."""

from pathlib import Path


from attrib.data import load_meta, load_split
from attrib.finetune import Schedule, evaluate, history_table, masking_levels, train
from attrib.models import build_model, load_checkpoint, save_checkpoint
from attrib.runtime import ready, resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
data_dir = Path(sm.input.data[0]).parent
meta = load_meta(data_dir)
lam = float(sm.wildcards.lam)
spec = sm.params.model_spec
device = resolve_device(sm.params.device)

if "weights" in sm.input.keys():  # downloaded pretrained weights: only what their manifest vouches for
    from attrib.models.weights import verify_weights

    verify_weights(sm.wildcards.model, sm.params.resources, source=spec.get("source"), options=spec.get("options"))
if lam == 1:
    model = build_model(sm.wildcards.model, meta, spec.get("options", {}), source=spec.get("source"),
                        resources=sm.params.resources)
    schedule = Schedule.from_config(spec["train"])
else:
    model, _ = load_checkpoint(sm.input.base, resources=sm.params.resources)
    schedule = Schedule.from_config(spec["finetune"])

key = "x" if meta["modality"] == "image" else "ids"
splits = {name: load_split(data_dir, name) for name in ("train", "val", "test")}
ready(log, f"model and data on {device}")
model, history, seconds = train(
    model,
    (splits["train"][key], splits["train"]["y"]),
    (splits["val"][key], splits["val"]["y"]),
    lam=lam,
    levels=sm.params.levels,
    schedule=schedule,
    seed=sm.params.seed,
    device=device,
    state_path=sm.output.model + ".state",
)
log.info("trained %d epochs in %.1f s (wall clock, kept out of the history)", len(seconds), sum(seconds))
labels = dict(dataset=sm.wildcards.dataset, model=sm.wildcards.model, lam=lam)
history_table(history, **labels).to_csv(sm.output.history, index=False)
history_table([{"epoch": e + 1, "seconds": s} for e, s in enumerate(seconds)], **labels).to_csv(
    sm.output.timing, index=False
)
test = evaluate(
    model,
    splits["test"][key],
    splits["test"]["y"],
    masking_levels(lam, sm.params.levels),
    seed=sm.params.seed + 2,
    batch_size=256,
    device=device,
)
history_table(test, **labels).to_csv(sm.output.accuracy, index=False)
log.info("test accuracy %s", {f"{r['level']:g}": round(r["accuracy"], 4) for r in test})
save_checkpoint(model.cpu(), sm.output.model, extra={"lam": lam, "history": history, "test": test})
Path(sm.output.model + ".state").unlink(missing_ok=True)
