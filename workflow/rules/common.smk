"""Helpers shared by the rules: the validated config and the lists that expand targets."""

import os
import sys
from pathlib import Path

# Jobs import the package from src/ whatever environment runs them (.venv, conda, a cluster node).
SRC = str(Path(workflow.basedir) / "src")
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
)
sys.path.insert(0, SRC)

# Parsing runs twice in every cluster job: import only what needs no torch (attrib.catalogue).
from attrib.catalogue import (
    MASK_METHODS,
    configured_model,
    downloads_weights,
    method_modalities,
    parse_order,
    source_modality,
)
from attrib.config import (
    METHOD_SELECTORS,
    check_config_files,
    dataset_tokenizer,
    lambda_label,
    load_schema,
    model_facts,
    validate_config,
)
import attrib.cost as cost

check_config_files(workflow.configfiles)

validate_config(config, load_schema())

RESULTS = "results"
RESOURCES = config["resources_dir"]
ENV = "../../envs/attrib.yaml"
# What each configured model can do (its removal modes, SMUG), from its source or registry entry.
MODEL_FACTS = model_facts(config)


wildcard_constraints:
    dataset=r"[A-Za-z0-9_]+",
    model=r"[A-Za-z0-9_]+",
    method=r"[A-Za-z0-9_]+",
    removal=r"[a-z_]+",
    lam=r"[0-9.]+",
    shard=r"[0-9]+",


def lambdas():
    return [lambda_label(lam) for lam in config["finetune"]["lambdas"]]


EXPERIMENTS = ("attribution", "mus", "missingness", "smug")


def runs(dataset, experiment):
    """Whether a dataset takes part in an experiment (its `experiments:`, absent: all)."""
    return experiment in config["datasets"][dataset].get("experiments", EXPERIMENTS)


def dataset_models(experiment=None):
    """(dataset, model) pairs in config order; with an experiment, those that take part in it."""
    return [
        (ds, m)
        for ds, spec in config["datasets"].items()
        for m in spec["models"]
        if experiment is None or runs(ds, experiment)
    ]


def trained_models():
    """(dataset, model, λ label): every model at λ = 1, and at each λ < 1 where MuS runs."""
    return [
        (ds, m, lam)
        for ds, m in dataset_models()
        for lam in lambdas()
        if lam == "1" or runs(ds, "mus")
    ]


def modality(dataset):
    return source_modality(config["datasets"][dataset]["source"])


def method_name(label):
    """A config entry may rename a method, e.g. intgrad_sg_recal: {method: intgrad_sg, ...}."""
    return config["attribute"]["methods"][label].get("method", label)


def methods_for(dataset):
    """The configured methods that can explain this dataset's modality (and, where an entry
    names its `datasets:`, only those)."""
    return [
        label
        for label, entry in config["attribute"]["methods"].items()
        if modality(dataset) in method_modalities(method_name(label))
        and dataset in entry.get("datasets", [dataset])
    ]


def checkpoint(dataset, model, lam):
    return f"{RESULTS}/models/{dataset}/{model}/lam{lam}.pt"


def base_checkpoint(wildcards):
    return checkpoint(wildcards.dataset, wildcards.model, "1")


def data_files(dataset):
    return [
        f"{RESULTS}/data/{dataset}/{name}"
        for name in ("meta.json", "train.pt", "val.pt", "test.pt")
    ]


def metas(datasets):
    """The meta.json of each dataset once (figures read class counts and sizes there)."""
    return [f"{RESULTS}/data/{ds}/meta.json" for ds in dict.fromkeys(datasets)]


def weights_flag(model):
    return f"{RESOURCES}/weights/{model}.ok"


def downloads(model):
    """Whether the download rule fetches this model's weights (torchvision weights by name,
    hf: repos); compute jobs then only read them."""
    return downloads_weights(model, config["models"].get(model))


def tokenizer_of(dataset):
    """A text dataset's tokenizer: the model that gives it, its entry and the tokenizer's name
    (attrib.resources.tokenizer_dir)."""
    name = dataset_tokenizer(config, dataset)
    entry = config["models"].get(
        name
    )  # None: a registered model this config does not train
    return {
        "model": name,
        "entry": entry,
        "tokenizer": configured_model(name, entry).tokenizer,
    }


# --- shards: the heavy rules split their inputs (config `shards:`, per experiment) ----------------
# An experiment with a `shards:` size runs one job per shard, writing temporary parts under
# results/shards/ ({shard} wildcard), and a merge rule writes the files one job would; without
# one, its rule writes those files itself (one job, no merge), as the embedded default does.


def sharded(experiment):
    return experiment in config.get("shards", {})


def shard_output(experiment, final, part):
    """A sharded rule's output is its part (temporary), an unsharded one's the final file."""
    return temp(part) if sharded(experiment) else final


def shard_suffix(experiment):
    """Log and benchmark names: one per shard where the experiment is sharded."""
    return os.sep + "{shard}" if sharded(experiment) else ""


def shard_size(experiment, n):
    """Inputs per shard of an experiment's job over n inputs (unsharded: all n)."""
    return config.get("shards", {}).get(experiment) or n


def shard_rows(experiment, n, wildcards):
    """[start, stop): the evaluation-set rows of a job's shard (unsharded: all n)."""
    size = shard_size(experiment, n)
    start = int(wildcards.get("shard", 0)) * size
    return [start, min(start + size, n)]


def shard_parts(experiment, n, pattern, **wildcards):
    """The part files that the shards of one job write (pattern with {shard})."""
    return expand(pattern, shard=range(-(-n // shard_size(experiment, n))), **wildcards)


# --- resources from the cost model (attrib.cost) ----------------------------------------------------


def runtime(work_s):
    """A rule's `runtime` (minutes) from its estimated work in device seconds."""
    return lambda wc, attempt: cost.runtime_minutes(work_s(wc), attempt)


def memory(data_bytes, base_mb=4000):
    """A rule's `mem_mb` from the bytes it holds."""
    return lambda wc, attempt: cost.memory_mb(data_bytes(wc), attempt, base_mb)


def gradient_chunk(wildcards):
    """Inputs per gradient pass: chunk_size, bounded by gpu_memory_gb for this model."""
    return cost.gradient_chunk(config, wildcards.model)
