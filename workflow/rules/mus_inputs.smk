"""MuS: the input functions and target lists of its rules in mus.smk (Snakemake's
linter keeps functions and rules in separate files)."""


def mus_lambdas():
    """E1/E3 λ labels (certify.lambdas); the attack runs on its own subset."""
    return [lambda_label(lam) for lam in config["certify"]["lambdas"]]


def attack_lambdas():
    attack = config["certify"]["attack"]
    return [
        lambda_label(lam) for lam in attack.get("lambdas", config["certify"]["lambdas"])
    ]


def mus_registry_methods():
    """certify.methods that come from the attribution registry (attribute.methods labels); a
    name that is also a MuS mask-space method (e.g. lime) means the MuS one."""
    return [
        m
        for m in config["certify"]["methods"]
        if m in config["attribute"]["methods"] and m not in MASK_METHODS
    ]


def mus_samples(dataset, what):
    """How many evaluation inputs each MuS experiment uses (never more than eval_size)."""
    cap = config["datasets"][dataset]["eval_size"]
    spec = config["certify"]
    certify = min(spec["samples"].get(dataset, cap), cap)
    attack = min(spec["attack"]["samples"].get(dataset, cap), cap)
    sizes = {
        "certify": certify,
        "attack": attack,
        "sparsity": min(spec["sparsity"]["samples"].get(dataset, certify), certify),
        "explain": max(certify, attack),
    }
    return sizes[what]


CERTIFY_PART = (
    f"{RESULTS}/shards/certify_stability/{{dataset}}/{{model}}/lam{{lam}}/{{shard}}"
)
ATTACK_PART = (
    f"{RESULTS}/shards/attack_stability/{{dataset}}/{{model}}/lam{{lam}}/{{shard}}"
)
CERTIFY_E1 = f"{RESULTS}/tables/certify/e1/{{dataset}}/{{model}}/lam{{lam}}.csv"
CERTIFY_E3 = f"{RESULTS}/tables/certify/e3/{{dataset}}/{{model}}/lam{{lam}}.csv"
ATTACK_TABLE = f"{RESULTS}/tables/certify/attack/{{dataset}}/{{model}}/lam{{lam}}.csv"


def mus_shard_rows(wildcards, what):
    """[start, stop) of a certify (E1/E3) or attack shard among its samples."""
    return shard_rows(what, mus_samples(wildcards.dataset, what), wildcards)


def mus_parts(wildcards, what, pattern):
    n = mus_samples(wildcards.dataset, what)
    return shard_parts(what, n, pattern, **dict(wildcards))


def certify_accuracy_work(wildcards):
    return cost.certify_accuracy_seconds(
        config, wildcards.model, float(wildcards.lam), eval_size(wildcards.dataset)
    )


def mus_explain_work(wildcards):
    n = mus_samples(wildcards.dataset, "explain")
    return cost.mus_explain_seconds(config, wildcards.model, n)


def certify_stability_work(wildcards):
    start, stop = mus_shard_rows(wildcards, "certify")
    sparsity = max(0, min(stop, mus_samples(wildcards.dataset, "sparsity")) - start)
    return cost.certify_stability_seconds(
        config,
        wildcards.dataset,
        wildcards.model,
        float(wildcards.lam),
        stop - start,
        sparsity,
    )


def attack_stability_work(wildcards):
    start, stop = mus_shard_rows(wildcards, "attack")
    return cost.attack_seconds(
        config, wildcards.dataset, wildcards.model, float(wildcards.lam), stop - start
    )


def mus_shard_bytes(wildcards, what):
    start, stop = mus_shard_rows(wildcards, what)
    return cost.evaluation_bytes(
        config, wildcards.dataset, wildcards.model, stop - start
    )


def mus_checkpoint(wildcards):
    """The model fine-tuned at λ, or at the nearest trained λ' > λ (1/16 reuses 1/8)."""
    lam = float(wildcards.lam)
    trained = sorted(l for l in config["finetune"]["lambdas"] if l >= lam - 1e-12)
    return checkpoint(wildcards.dataset, wildcards.model, lambda_label(trained[0]))


def mus_targets():
    if not dataset_models("mus"):
        return []
    names = [
        "e2_certified_accuracy",
        "e1_stability",
        "e1_stability_grid",
        "e3_sparsity",
        "masked_accuracy",
    ]
    return [f"{RESULTS}/figures/{name}.png" for name in names]
