"""The rehearsal of a paper-scale run: workflow/configs/paper.yaml with tests/paper_standin.yaml's
sizes, on a stand-in built offline (tests/standin.py), end to end. Every rule of the workflow
runs (the downloads verify the stand-in's files instead of fetching), the attack in two shards
and their merge, and every figure is made. Minutes on 2 CPU cores; run by
.ci/run (`make rehearsal`), not by `make test`."""

import re

import pandas as pd
import pytest
import standin
from test_workflow import snakemake

pytestmark = [pytest.mark.slow, pytest.mark.rehearsal]


def rules_run(log: str) -> dict[str, int]:
    """Job counts per rule from Snakemake's 'Job stats' table."""
    table = log[log.index("Job stats:"):].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_paper_dag_runs_end_to_end_on_the_standin(tmp_path):
    config = standin.build(tmp_path)
    listed = snakemake("--list-rules", "--configfile", str(config), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    every_rule = set(listed.stdout.split())
    out = snakemake("--cores", "2", "--scheduler", "greedy", "--configfile", str(config), cwd=tmp_path, timeout=3600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    ran = rules_run(log)
    assert set(ran) == every_rule, f"rules that did not run: {sorted(every_rule - set(ran))}"
    assert ran["download_weights"] == 3 and ran["check_imagenet"] == 3 and ran["download_tweeteval"] == 1
    # two shards of the attack, merged into the file one job writes, with the evaluation-set indices
    assert "wildcards: dataset=imagenet_mus, model=resnet50, lam=0.5, shard=1" in log
    results = tmp_path / "results"
    attack = pd.read_csv(results / "tables/certify/attack/imagenet_mus/resnet50/lam0.5.csv")
    assert sorted(attack["sample"].unique()) == [0, 1]
    assert not (results / "shards").exists() or not any(p.is_file() for p in (results / "shards").rglob("*"))
    figures = set(re.findall(r"results/figures/([\w-]+)\.png", log))
    assert len(figures) == 18, sorted(figures)
    for name in figures:
        assert (results / "figures" / f"{name}.png").stat().st_size > 1000, name
    again = snakemake("-n", "--configfile", str(config), cwd=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr
