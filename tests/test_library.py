"""The library: docs/library.md runs as written, `import attrib` stays light, plain networks are
refused with how to wrap them, the config schema ships inside the package."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_library_doc_runs_as_written():
    text = (ROOT / "docs" / "library.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 6  # model, attribution, MuS, DiffID, patch ablation, SMUG
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/library.md", "exec"), namespace)


def test_import_attrib_loads_no_torch_until_an_entry_point_is_used():
    code = ("import json, sys; import attrib; before = 'torch' in sys.modules; "
            "names = {n: type(getattr(attrib, n)).__name__ for n in attrib.__all__}; "
            "print(json.dumps([before, 'torch' in sys.modules, names]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
    before, after, names = json.loads(out.stdout)
    assert (before, after) == (False, True)
    assert names["__version__"] == "str" and names["build_method"] == "function"
    assert names["SmoothedClassifier"] == names["ImageClassifier"] == "type"


def test_unknown_attributes_are_attribute_errors():
    import attrib

    with pytest.raises(AttributeError, match="no attribute 'bild_method'"):
        attrib.bild_method


def test_a_plain_network_gets_told_how_to_wrap_it():
    import torch
    from torch import nn

    import attrib

    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
    x = torch.rand(2, 3, 8, 8)
    calls = [lambda: attrib.build_method("saliency", net),
             lambda: attrib.SmoothedClassifier(net, lam=0.5),
             lambda: attrib.patch_ablation(net, x, torch.arange(4).expand(2, 4))]
    for call in calls:
        with pytest.raises(TypeError, match=r"not a plain Sequential.*attrib\.ImageClassifier\(net, "):
            call()


def test_the_schema_ships_inside_the_package(tmp_path):
    """A wheel carries the config schema, and load_schema() finds it away from any checkout."""
    import shutil
    import zipfile

    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True)
    zipfile.ZipFile(next((tmp_path / "dist").glob("attrib-*.whl"))).extractall(tmp_path / "site")
    code = "import attrib, attrib.config as c; print(attrib.__file__, sorted(c.load_schema()['properties']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(str(tmp_path / "site")) and "'datasets'" in out.stdout
