"""Fine-tuning, one job per (dataset, model, λ): every model at λ = 1, and MuS's masked
fine-tuning at each λ < 1 where MuS runs; the training curves."""


rule finetune:
    input:
        unpack(finetune_inputs),
    output:
        model=f"{RESULTS}/models/{{dataset}}/{{model}}/lam{{lam}}.pt",
        history=f"{RESULTS}/tables/training/{{dataset}}/{{model}}/lam{{lam}}.csv",
        accuracy=f"{RESULTS}/tables/accuracy/{{dataset}}/{{model}}/lam{{lam}}.csv",
        timing=f"{RESULTS}/tables/timing/finetune/{{dataset}}/{{model}}/lam{{lam}}.csv",
    log:
        f"{RESULTS}/logs/finetune/{{dataset}}/{{model}}/lam{{lam}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/finetune/{{dataset}}/{{model}}/lam{{lam}}.tsv"
    priority: finetune_priority
    conda:
        ENV
    threads: config["threads"]["finetune"]
    resources:
        gpu=1,
        work_s=lambda wc: round(finetune_work(wc)),
        runtime=runtime(finetune_work),
        mem_mb=memory(finetune_bytes),
    params:
        model_spec=lambda wc: config["models"][wc.model],
        levels=config["finetune"]["levels"],
        seed=config["seed"],
        device=config["device"],
        resources=RESOURCES,
    script:
        "../../scripts/finetune/finetune.py"


rule figure_training:
    input:
        histories=expand(
            f"{RESULTS}/tables/training/{{t[0]}}/{{t[1]}}/lam{{t[2]}}.csv",
            t=trained_models(),
        ),
        accuracies=expand(
            f"{RESULTS}/tables/accuracy/{{t[0]}}/{{t[1]}}/lam{{t[2]}}.csv",
            t=trained_models(),
        ),
        metas=metas(t[0] for t in trained_models()),
    output:
        history=report(
            f"{RESULTS}/tables/training.csv",
            caption="../report/training.rst",
            category="Fine-tuning",
            labels={
                "result": "validation accuracy per epoch",
                "file": "table training.csv",
            },
        ),
        accuracy=report(
            f"{RESULTS}/tables/test_accuracy.csv",
            caption="../report/training.rst",
            category="Fine-tuning",
            labels={"result": "test accuracy", "file": "table test_accuracy.csv"},
        ),
        figure=report(
            f"{RESULTS}/figures/training_curves.png",
            caption="../report/training.rst",
            category="Fine-tuning",
            labels={"result": "validation accuracy per epoch", "file": "figure"},
        ),
    log:
        f"{RESULTS}/logs/figures/training.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/training.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/finetune/figure_training.py"
