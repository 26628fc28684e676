"""SMUG: the input functions and target lists of its rules in smug.smk (Snakemake's
linter keeps functions and rules in separate files)."""

SMUG_PART = f"{RESULTS}/shards/smug/{{dataset}}/{{model}}/{{shard}}"
SMUG_MAPS = f"{RESULTS}/smug/{{dataset}}/{{model}}/maps.pt"
SMUG_SOLVER = f"{RESULTS}/tables/smug/solver/{{dataset}}/{{model}}.csv"
SMUG_TIMING = f"{RESULTS}/tables/timing/smug/{{dataset}}/{{model}}.csv"


def smug_inputs(dataset):
    """The first inputs of the evaluation subset that SMUG explains."""
    return min(config["smug"]["eval_size"], eval_size(dataset))


def smug_parts(wildcards, name):
    n = smug_inputs(wildcards.dataset)
    return shard_parts("smug", n, f"{SMUG_PART}/{name}", **dict(wildcards))


def smug_work(wildcards):
    """GPU seconds: integrated gradients over the first layer."""
    start, stop = shard_rows("smug", smug_inputs(wildcards.dataset), wildcards)
    return cost.smug_seconds(config, wildcards.model, stop - start)


def smug_solver(wildcards):
    """CPU seconds of the 0/1 programs at worst (each hits timeout_s); the job holds its GPU
    meanwhile, so its runtime counts them."""
    start, stop = shard_rows("smug", smug_inputs(wildcards.dataset), wildcards)
    return cost.smug_solver_seconds(config, wildcards.model, start, stop)


def smug_bytes(wildcards):
    start, stop = shard_rows("smug", smug_inputs(wildcards.dataset), wildcards)
    return cost.evaluation_bytes(
        config, wildcards.dataset, wildcards.model, stop - start
    )


def smug_evaluate_work(wildcards):
    maps = 2 + len(
        smug_compared(wildcards.dataset)
    )  # smug_base, smug and the compared methods
    return cost.smug_evaluate_seconds(
        config, wildcards.model, maps, smug_inputs(wildcards.dataset)
    )


def smug_pairs():
    """(dataset, model) pairs that SMUG explains: its models on every dataset training them."""
    models = config.get("smug", {}).get("models", {})
    return [(ds, m) for ds, m in dataset_models("smug") if m in models]


def smug_compared(dataset):
    """The attribute.methods labels scored beside SMUG on this dataset."""
    return [
        label for label in config["smug"]["compare"] if label in methods_for(dataset)
    ]


def smug_targets():
    names = ["smug_examples", "smug_saliency", "smug_solver_time"]
    return [f"{RESULTS}/figures/{name}.png" for name in names] if smug_pairs() else []
