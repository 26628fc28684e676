"""The catalogue: parsing the workflow reads it without torch, and it agrees with the registries."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Libraries that the jobs need and the Snakefile must not load: every SLURM job parses the
# Snakefile twice. (pandas and numpy are not here: snakemake itself imports them.)
HEAVY_LIBRARIES = ("torch", "captum", "torchvision", "transformers", "sklearn", "skimage", "scipy",
                   "matplotlib", "seaborn")

DRY_RUN_AND_LIST_IMPORTS = """
import json, sys
from snakemake.cli import main

sys.argv = ["snakemake", "-s", sys.argv[1], "-n", "--quiet", "--cores", "1", *sys.argv[3:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"exit": code, "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


def parse_workflow(cwd, *args):
    """Dry-run the Snakefile in a fresh interpreter; its exit code and the heavy libraries loaded."""
    code = f"HEAVY = {HEAVY_LIBRARIES!r}\n" + DRY_RUN_AND_LIST_IMPORTS
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "Snakefile"), "--", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_parsing_the_workflow_loads_no_heavy_library(tmp_path):
    for args in ((), ("--configfile", str(ROOT / "tests" / "tiny.yaml"))):
        result = parse_workflow(tmp_path, *args)
        assert result["exit"] == 0, args
        assert result["heavy"] == [], f"parsing the Snakefile {' '.join(args)} imported {result['heavy']}"
