"""The README's result tables are generated from the run's summary (make summary): every block
equals what the committed docs/results/summary.csv gives, and the renderer is right by hand."""

from pathlib import Path

import pandas as pd
import pytest

from attrib.readme import BLOCK, render, update

ROOT = Path(__file__).resolve().parents[1]


def test_readme_blocks_equal_the_committed_summary():
    readme = (ROOT / "README.md").read_text()
    blocks = BLOCK.findall(readme)
    assert {name for _, name, _ in blocks} >= {"mus", "attribution", "missingness", "smug"}
    summary = pd.read_csv(ROOT / "docs" / "results" / "summary.csv")
    second = ROOT / "docs" / "results" / "summary_second_seed.csv"
    second = pd.read_csv(second) if second.exists() else None
    assert update(readme, summary, second) == readme, "README and docs/results/*.csv disagree: run make summary"


def test_render_by_hand():
    summary = pd.DataFrame({
        "system": ["MuS", "MuS", "MuS", "SMUG"], "dataset": ["d", "d", "d", "d"], "model": ["a", "a", "b", "a"],
        "quantity": ["acc", "cert", "acc", "x"], "value": [0.5, -0.25, 1.0, 2.0], "n": [10, 10, 4, 3]})
    assert render(summary, "mus") == ("| quantity | d / a (n = 10) | d / b (n = 4) |\n|---|---|---|\n"
                                      "| acc | 0.500 | 1.000 |\n| cert | −0.250 | – |\n")
    text = "x\n<!-- results:smug -->\nold\n<!-- /results:smug -->\ny"
    assert update(text, summary) == "x\n<!-- results:smug -->\n| quantity | d / a (n = 3) |\n|---|---|\n| x | 2.000 |\n<!-- /results:smug -->\ny"
    second = summary.assign(value=[0.75, -0.25, 0.5, 2.0])
    assert render(summary, "mus", second) == (
        "| quantity | d / a (n = 10) | d / b (n = 4) | largest change, second seed |\n|---|---|---|---|\n"
        "| acc | 0.500 | 1.000 | 0.500 |\n| cert | −0.250 | – | 0.000 |\n")
    with pytest.raises(ValueError, match="names no system"):
        render(summary, "nope")
