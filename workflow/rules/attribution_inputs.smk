"""Attributions and their faithfulness (re-calibration paper): the input functions and target lists of its rules in attribution.smk (Snakemake's
linter keeps functions and rules in separate files)."""

ATTRIBUTE_PART = (
    f"{RESULTS}/shards/attribute/{{dataset}}/{{model}}/{{method}}/{{shard}}"
)
ATTRIBUTE_OUTPUTS = {  # output name -> the file of the whole (dataset, model, method)
    "attribution": f"{RESULTS}/attributions/{{dataset}}/{{model}}/{{method}}.pt",
    "diffid": f"{RESULTS}/tables/scores/diffid/{{dataset}}/{{model}}/{{method}}.csv",
    "ground_truth": f"{RESULTS}/tables/scores/ground_truth/{{dataset}}/{{model}}/{{method}}.csv",
    "deletion_insertion": f"{RESULTS}/tables/scores/deletion_insertion/{{dataset}}/{{model}}/{{method}}.csv",
}


def attribute_part(name):
    return f"{ATTRIBUTE_PART}/{name}{Path(ATTRIBUTE_OUTPUTS[name]).suffix}"


def attribute_output(name):
    return shard_output("attribute", ATTRIBUTE_OUTPUTS[name], attribute_part(name))


def eval_size(dataset):
    return config["datasets"][dataset]["eval_size"]


def attribute_parts(wildcards):
    """Each output's parts, from every shard of this (dataset, model, method)."""
    n = eval_size(wildcards.dataset)
    return {
        name: shard_parts("attribute", n, attribute_part(name), **dict(wildcards))
        for name in ATTRIBUTE_OUTPUTS
    }


def attribute_work(wildcards):
    start, stop = shard_rows("attribute", eval_size(wildcards.dataset), wildcards)
    return cost.attribute_seconds(
        config, wildcards.dataset, wildcards.model, wildcards.method, stop - start
    )


def attribute_output_bytes(wildcards, n):
    """Two half-precision pixel maps per image and the feature vectors."""
    size = cost.input_bytes(config, wildcards.dataset)
    return n * (4 * size // 3 + 4 * cost.num_features(config, wildcards.dataset))


def attribute_bytes(wildcards):
    start, stop = shard_rows("attribute", eval_size(wildcards.dataset), wildcards)
    n = stop - start
    return cost.evaluation_bytes(
        config,
        wildcards.dataset,
        wildcards.model,
        n,
        attribute_output_bytes(wildcards, n),
    )


def method_options(label):
    """A method's options from the config, without the keys that choose what runs."""
    return {
        k: v
        for k, v in config["attribute"]["methods"][label].items()
        if k not in METHOD_SELECTORS
    }


def scored_attributions():
    """Every (dataset, model, method): deletion/insertion everywhere, DiffID on images."""
    return [
        (ds, m, label)
        for ds, m in dataset_models("attribution")
        for label in methods_for(ds)
    ]


def attribution_targets():
    pairs = dataset_models("attribution")
    if not pairs:
        return []
    return [
        *[f"{RESULTS}/figures/attribution_examples_{ds}-{m}.png" for ds, m in pairs],
        f"{RESULTS}/figures/faithfulness.png",
        f"{RESULTS}/figures/deletion_insertion.png",
    ]
