"""SMUG: the input functions and target lists of its rules in smug.smk (Snakemake's
linter keeps functions and rules in separate files)."""


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
