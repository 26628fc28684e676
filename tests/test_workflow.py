"""The Snakemake DAG: lint, formatting, dry runs of both configs, and one tiny real run."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")


def snakemake(*args, cwd=ROOT, timeout=600):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )


def test_lint_is_clean():
    out = snakemake("--lint")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Lints for" not in out.stdout + out.stderr


def test_snakefmt_check_is_clean():
    files = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    out = subprocess.run([str(BIN / "snakefmt"), "--check", *map(str, files)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_default_dry_run_has_every_stage(tmp_path):
    out = snakemake("-n", "--cores", "2", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    for rule in ("prepare", "finetune", "attribute", "certify_accuracy", "ablate_patches",
                 "ablate_lime", "ablate_topk", "figure_training", "figure_faithfulness",
                 "figure_certified_accuracy", "figure_missingness", "figure_missingness_topk",
                 "figure_missingness_text", "figure_attribution_examples",
                 "mus_explain", "certify_stability", "attack_stability", "figure_mus_stability",
                 "smug", "smug_evaluate", "figure_smug"):
        assert f"rule {rule}:" in out.stdout or f"localrule {rule}:" in out.stdout, rule
    assert "download" not in out.stdout  # the default needs no internet


def test_paper_dry_run_without_data(tmp_path):
    out = snakemake("-n", "--cores", "2", "--configfile", str(ROOT / "workflow/configs/paper.yaml"), cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    for rule in ("download_tweeteval", "check_imagenet", "download_weights"):
        assert f"rule {rule}:" in text, rule
    gpu_rules, cpu_rules, rule = set(), set(), None
    for line in text.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:"):
            (gpu_rules if "gpu=1" in line else cpu_rules).add(rule)
    assert gpu_rules == {"finetune", "attribute", "certify_accuracy", "ablate_patches",
                         "mus_explain", "certify_stability", "attack_stability", "ablate_lime", "ablate_topk",
                         "smug", "smug_evaluate"}
    assert {"prepare", "download_weights", "figure_training"} <= cpu_rules
    assert "resnet50" in text and "vit_b_16" in text and "roberta" in text
    assert "results/smug/imagenet/resnet50/maps.pt" in text and "results/smug/tweeteval/textcnn/maps.pt" in text
    # MuS runs on its own 28 px grid (imagenet_mus), the other experiments on the 16 px tokens
    assert "results/tables/certify/e1/imagenet_mus/vit_b_16/lam0.0625.csv" in text
    assert "results/models/imagenet_mus/resnet50/lam0.125.pt" in text
    assert "results/tables/certify/e1/imagenet/" not in text and "results/models/imagenet/resnet50/lam0.5.pt" not in text
    assert "results/tables/ablate/patches/imagenet/vit_b_16/drop.csv" in text
    assert "/imagenet_mus/" not in "".join(line for line in text.splitlines() if "ablate" in line or "smug/" in line)


def test_bad_config_stops_before_any_job(tmp_path):
    bad = (ROOT / "tests" / "tiny.yaml").read_text().replace("models: [resnet, vit]", "models: [resnet, vitt]")
    (tmp_path / "bad.yaml").write_text(bad)
    out = snakemake("-n", "--cores", "1", "--configfile", "bad.yaml", cwd=tmp_path)
    assert out.returncode != 0
    assert "config key datasets.digits.models[1]: unknown model 'vitt'" in out.stdout + out.stderr
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One clean run of the tiny config, shared by the end-to-end and the crash tests."""
    folder = tmp_path_factory.mktemp("tiny")
    shutil.copy(ROOT / "tests" / "tiny.yaml", folder / "tiny.yaml")
    out = snakemake("--cores", "2", "--configfile", "tiny.yaml", cwd=folder, timeout=1800)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    return folder


@pytest.mark.slow
def test_tiny_end_to_end_run_and_report(tiny_run):
    tmp_path = tiny_run
    results = tmp_path / "results"
    for name in ("training.csv", "test_accuracy.csv", "e2_certified_accuracy.csv", "missingness_orders.csv",
                 "missingness_removal_modes.csv", "missingness_classes.csv", "missingness_top_classes.csv",
                 "missingness_topk.csv", "missingness_topk_summary.csv", "missingness_text.csv",
                 "attribution_examples_digits-resnet.csv", "attribution_examples_digits-vit.csv",
                 "attribution_examples_tweets-bert.csv", "summary.csv", "diffid.csv",
                 "diffid_auc.csv", "ground_truth.csv", "e1_samples.csv", "e1_attack_samples.csv", "e1_stability.csv",
                 "e1_stability_grid.csv", "e3_sparsity.csv", "masked_accuracy.csv", "smug_solver.csv",
                 "smug_scores.csv", "smug_summary.csv", "smug_examples.csv", "diffid_recalibration.csv",
                 "deletion_insertion_auc.csv"):
        assert (results / "tables" / name).stat().st_size > 0, name
    for name in ("training_curves.png", "e2_certified_accuracy.png", "missingness_orders.png",
                 "missingness_removal_modes.png", "missingness_classes.png", "missingness_topk.png", "missingness_text.png",
                 "attribution_examples_digits-resnet.png", "attribution_examples_digits-vit.png",
                 "attribution_examples_tweets-bert.png", "faithfulness.png",
                 "deletion_insertion.png", "e1_stability.png", "e1_stability_grid.png", "e3_sparsity.png",
                 "masked_accuracy.png", "smug_examples.png", "smug_saliency.png", "smug_solver_time.png"):
        assert (results / "figures" / name).stat().st_size > 1000, name
    report = snakemake("--configfile", "tiny.yaml", "--report", "results/report.html", cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    assert (results / "report.html").stat().st_size > 10000
    assert "Headline numbers of each system" in (results / "report.html").read_text()  # the front page
    # a second run has nothing to do: the outputs are complete and deterministic inputs unchanged
    again = snakemake("-n", "--cores", "2", "--configfile", "tiny.yaml", cwd=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr


def _run_until(tmp_path, ready, timeout=1200):
    """Start the tiny run, SIGKILL its whole process group once ``ready(results)`` holds; the
    killed run leaves whatever a crash leaves (partial outputs, temp files, state, locks)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    args = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--cores", "2", "--configfile", "tiny.yaml", "--rerun-incomplete"]
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not ready(tmp_path / "results"):
            assert process.poll() is None, "the run ended before its kill point"
            assert time.monotonic() < deadline, "the kill point never came"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def result_tables(results: Path) -> dict[str, bytes]:
    """Every result table, byte for byte; wall-clock timing tables are kept apart on purpose."""
    return {str(p.relative_to(results)): p.read_bytes() for p in sorted((results / "tables").rglob("*.csv"))
            if "timing" not in p.relative_to(results / "tables").parts}


@pytest.mark.slow
def test_killed_twice_then_resumed_gives_the_clean_runs_tables(tmp_path, tiny_run):
    clean, crashed = tiny_run, tmp_path / "crashed"
    crashed.mkdir()
    shutil.copy(ROOT / "tests" / "tiny.yaml", crashed / "tiny.yaml")
    # kill point 1: fine-tuning has started; 2: the first attributions exist
    _run_until(crashed, lambda results: any(results.glob("logs/finetune/*/*/*.log")))
    assert snakemake("--unlock", "--configfile", "tiny.yaml", cwd=crashed).returncode == 0
    _run_until(crashed, lambda results: any(results.glob("attributions/*/*/*.pt")))
    assert snakemake("--unlock", "--configfile", "tiny.yaml", cwd=crashed).returncode == 0
    resumed = snakemake("--cores", "2", "--configfile", "tiny.yaml", "--rerun-incomplete", cwd=crashed, timeout=1800)
    assert resumed.returncode == 0, resumed.stdout[-5000:] + resumed.stderr[-5000:]
    want, got = result_tables(clean / "results"), result_tables(crashed / "results")
    assert set(got) == set(want)
    differ = [name for name in want if got[name] != want[name]]
    assert not differ, f"tables that differ from the clean run after the kills: {differ}"
    assert not [p for p in (crashed / "results").rglob("*") if ".tmp" in p.name or p.suffix in (".part", ".partial")]


def test_plain_snakemake_loads_the_default_profile(tmp_path):
    out = snakemake("-n", "--quiet", "rules", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"Using workflow specific profile {ROOT / 'profiles' / 'default'}" in out.stdout + out.stderr
