"""Data: the input functions and target lists of its rules in data.smk (Snakemake's
linter keeps functions and rules in separate files)."""


def prepare_inputs(wildcards):
    spec = config["datasets"][wildcards.dataset]
    inputs = {}
    if spec["source"] == "tweeteval":
        inputs["raw"] = f"{RESOURCES}/tweeteval/{wildcards.dataset}/SHA256SUMS"
    if spec["source"] == "imagenet":
        inputs["root"] = f"{RESOURCES}/imagenet/{wildcards.dataset}.ok"
    if modality(wildcards.dataset) == "text":
        tokenizer = dataset_tokenizer(config, wildcards.dataset)
        if downloads(tokenizer):
            inputs["tokenizer"] = weights_flag(tokenizer)
    return inputs


def prepare_work(wildcards):
    """CPU seconds of decoding (ImageNet) or building (the small datasets)."""
    return cost.prepare_seconds(config, wildcards.dataset)
