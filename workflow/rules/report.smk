"""The report's front page: the headline numbers of every system in one table."""


rule summary:
    input:
        unpack(summary_inputs),
    output:
        report(
            f"{RESULTS}/tables/summary.csv",
            caption="../report/summary.rst",
            category="Summary",
            labels={"result": "headline numbers", "file": "table"},
        ),
    log:
        f"{RESULTS}/logs/summary.log",
    benchmark:
        f"{RESULTS}/benchmarks/summary.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/report/summary.py"
