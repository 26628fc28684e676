"""Shared fixtures: the repository root and the embedded default config."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def default_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.fixture
def paper_config() -> dict:
    return yaml.safe_load((ROOT / "workflow" / "configs" / "paper.yaml").read_text())
