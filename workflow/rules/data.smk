"""Data: downloads (local rules: login nodes have the internet, compute nodes need not) and the
frozen train/val/test tensors of every dataset."""


localrules:
    download_tweeteval,
    check_imagenet,
    download_weights,


rule download_tweeteval:
    output:
        f"{RESOURCES}/tweeteval/{{dataset}}/SHA256SUMS",
    log:
        f"{RESULTS}/logs/download_tweeteval/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/download_tweeteval/{{dataset}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        download=lambda wc: config["datasets"][wc.dataset].get("download", {}),
    script:
        "../../scripts/data/download_tweeteval.py"


rule check_imagenet:
    output:
        f"{RESOURCES}/imagenet/{{dataset}}.ok",
    log:
        f"{RESULTS}/logs/check_imagenet/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/check_imagenet/{{dataset}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        root=lambda wc: config["datasets"][wc.dataset]["options"].get("root", ""),
        key=lambda wc: f"datasets.{wc.dataset}.options.root",
    script:
        "../../scripts/data/check_imagenet.py"


rule download_weights:
    output:
        weights_flag("{model}"),
    log:
        f"{RESULTS}/logs/download_weights/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/download_weights/{{model}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        resources=lambda wc, output: str(Path(output[0]).parents[1]),
        spec=lambda wc: config["models"].get(wc.model, {}),
    script:
        "../../scripts/data/download_weights.py"


rule prepare:
    input:
        unpack(prepare_inputs),
    output:
        data_files("{dataset}"),
    log:
        f"{RESULTS}/logs/prepare/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare/{{dataset}}.tsv"
    conda:
        ENV
    threads: config["threads"]["prepare"]
    resources:
        work_s=lambda wc: round(prepare_work(wc)),
        runtime=runtime(prepare_work),
        mem_mb=memory(lambda wc: 2.5 * cost.dataset_bytes(config, wc.dataset)),
    params:
        spec=lambda wc: config["datasets"][wc.dataset],
        tokenizer=lambda wc: (
            tokenizer_of(wc.dataset) if modality(wc.dataset) == "text" else None
        ),
        seed=config["seed"],
        resources=RESOURCES,
    script:
        "../../scripts/data/prepare.py"
