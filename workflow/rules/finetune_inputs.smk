"""Fine-tuning, one job per (dataset, model, λ): the input functions and target lists of its rules in finetune.smk (Snakemake's
linter keeps functions and rules in separate files)."""


def finetune_inputs(wildcards):
    """λ = 1 starts from the builder (downloaded weights or a checkpoint file where the model
    has them); every λ < 1 starts from the λ = 1 checkpoint."""
    inputs = {"data": data_files(wildcards.dataset)}
    options = config["models"][wildcards.model].get("options") or {}
    if wildcards.lam != "1":
        inputs["base"] = base_checkpoint(wildcards)
    elif downloads(wildcards.model):
        inputs["weights"] = weights_flag(wildcards.model)
    elif "checkpoint" in options:
        inputs["checkpoint"] = options["checkpoint"]
    return inputs


def finetune_work(wildcards):
    return cost.finetune_seconds(
        config, wildcards.dataset, wildcards.model, float(wildcards.lam)
    )


def finetune_priority(wildcards):
    """Seconds of training on this job's chain: a λ = 1 job carries the longest of the λ < 1
    fine-tunes that wait for it, so the longest chain (the from-scratch ViT) starts first
    instead of after every short job (Snakemake runs higher priorities first)."""
    own = finetune_work(wildcards)
    if float(wildcards.lam) < 1:
        return round(own)
    after = [
        cost.finetune_seconds(config, ds, m, float(lam))
        for ds, m, lam in trained_models()
        if (ds, m) == (wildcards.dataset, wildcards.model) and float(lam) < 1
    ]
    return round(own + max(after, default=0))


def finetune_bytes(wildcards):
    """Every split in memory, and the model four times (module, best state, checkpoint and
    the resumable state's copy)."""
    weights = cost.model_cost(wildcards.model).weights_gib * 2**30
    return 1.5 * cost.dataset_bytes(config, wildcards.dataset) + 4 * weights


def finetune_targets():
    return [f"{RESULTS}/figures/training_curves.png"]
