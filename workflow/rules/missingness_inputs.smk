"""Missingness bias: the input functions and target lists of its rules in missingness.smk (Snakemake's
linter keeps functions and rules in separate files)."""

ABLATE_PART = (
    f"{RESULTS}/shards/ablate_patches/{{dataset}}/{{model}}/{{removal}}/{{shard}}"
)
LIME_PART = f"{RESULTS}/shards/ablate_lime/{{dataset}}/{{model}}/{{removal}}/{{shard}}"
ABLATE_TABLE = f"{RESULTS}/tables/ablate/patches/{{dataset}}/{{model}}/{{removal}}.csv"
LIME_FILE = f"{RESULTS}/ablate/lime/{{dataset}}/{{model}}/{{removal}}.pt"


def ablate_patches_work(wildcards):
    start, stop = shard_rows("ablate", eval_size(wildcards.dataset), wildcards)
    orders = len(ablation_orders(wildcards.dataset, wildcards.model, wildcards.removal))
    return cost.ablate_patches_seconds(
        config, wildcards.dataset, wildcards.model, orders, stop - start
    )


def ablate_patches_bytes(wildcards):
    """The shard's inputs and its table: ~100 bytes per (image, order, step)."""
    start, stop = shard_rows("ablate", eval_size(wildcards.dataset), wildcards)
    steps = cost.num_features(config, wildcards.dataset) // config["ablate"]["skip"] + 2
    orders = len(ablation_orders(wildcards.dataset, wildcards.model, wildcards.removal))
    table = 100 * (stop - start) * steps * orders
    return cost.evaluation_bytes(
        config, wildcards.dataset, wildcards.model, stop - start, table
    )


def lime_options():
    """ablate.lime without what chooses the jobs (conditions) and the images (rows)."""
    return {
        k: v
        for k, v in config["ablate"]["lime"].items()
        if k not in ("conditions", "images")
    }


def lime_images(dataset):
    """The first images of the evaluation subset that LIME explains."""
    return min(config["ablate"]["lime"]["images"], eval_size(dataset))


def ablate_lime_work(wildcards):
    start, stop = shard_rows("lime", lime_images(wildcards.dataset), wildcards)
    return cost.ablate_lime_seconds(config, wildcards.model, stop - start)


def ablate_lime_bytes(wildcards):
    start, stop = shard_rows("lime", lime_images(wildcards.dataset), wildcards)
    return cost.evaluation_bytes(
        config, wildcards.dataset, wildcards.model, stop - start
    )


def ablate_topk_work(wildcards):
    models = [m for m, _ in lime_conditions(wildcards.dataset)]
    return cost.ablate_topk_seconds(
        config, wildcards.dataset, models, lime_images(wildcards.dataset)
    )


def ablation_jobs():
    """(dataset, model, removal): every ablate condition, plus every image model under each
    mode of ablate.removal_modes that it supports (those under the random order only).
    """
    jobs = []
    for ds, model in dataset_models("missingness"):
        for condition in config["ablate"]["conditions"]:
            if condition.split(":")[0] == model:
                jobs.append((ds, model, condition.split(":")[1]))
        if modality(ds) == "image":
            jobs += [
                (ds, model, removal)
                for removal in config["ablate"]["removal_modes"]
                if removal in MODEL_FACTS[model].removal_modes
                and (ds, model, removal) not in jobs
            ]
    return jobs


def ordering_source(dataset, model):
    """Whose attributions order the features that this model has removed."""
    source = config["ablate"]["ordering_source"]
    models = config["datasets"][dataset]["models"]
    if source == "first":
        return models[0]
    return source if source in models else model


def ablation_orders(dataset, model, removal):
    """The orders of one job: each with its attribution file (None for random)."""
    names = config["ablate"]["orders"]
    if f"{model}:{removal}" not in config["ablate"]["conditions"]:
        names = ["random"]
    orders = []
    for name in names:
        method, descending = parse_order(name)
        if method is not None and method not in methods_for(dataset):
            continue
        path = None
        if method is not None:
            source = ordering_source(dataset, model)
            path = f"{RESULTS}/attributions/{dataset}/{source}/{method}.pt"
        orders.append({"name": name, "file": path, "descending": descending})
    return orders


def lime_conditions(dataset):
    """(model, removal) explained by LIME on this dataset."""
    return [
        tuple(c.split(":"))
        for c in config["ablate"]["lime"]["conditions"]
        if c.split(":")[0] in config["datasets"][dataset]["models"]
    ]


def topk_datasets():
    return [
        ds
        for ds in config["datasets"]
        if runs(ds, "missingness") and lime_conditions(ds)
    ]


def missingness_image_datasets():
    return [
        ds
        for ds in config["datasets"]
        if modality(ds) == "image" and runs(ds, "missingness")
    ]


def missingness_targets():
    """Image figures where an image model is ablated; the text figure where a text one is."""
    jobs = ablation_jobs()
    names = ["orders", "removal_modes", "classes"] + (
        ["topk"] if topk_datasets() else []
    )
    figures = []
    if any(modality(ds) == "image" for ds, _, _ in jobs):
        figures += [f"{RESULTS}/figures/missingness_{name}.png" for name in names]
    if any(modality(ds) == "text" for ds, _, _ in jobs):
        figures.append(f"{RESULTS}/figures/missingness_text.png")
    return figures
