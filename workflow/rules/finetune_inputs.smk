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


def finetune_bytes(wildcards):
    """Every split in memory, and the model four times (module, best state, checkpoint and
    the resumable state's copy)."""
    weights = cost.model_cost(wildcards.model).weights_gib * 2**30
    return 1.5 * cost.dataset_bytes(config, wildcards.dataset) + 4 * weights


def finetune_targets():
    return [f"{RESULTS}/figures/training_curves.png"]
