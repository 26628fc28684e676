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
