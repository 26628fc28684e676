"""Attributions and their faithfulness (re-calibration paper): the input functions and target lists of its rules in attribution.smk (Snakemake's
linter keeps functions and rules in separate files)."""


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
