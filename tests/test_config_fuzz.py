"""Malformed configs, built by the hundred from config.yaml and workflow/configs/paper.yaml, are
refused before any job starts with the offending key named; the shipped configs are accepted.

Each family of edits walks the whole config (every mapping, every leaf, every list) or every
option the catalogue declares, so a new key or option is fuzzed without editing this file.
Validation runs in-process (attrib.config.validate_config); one case goes through
``snakemake -n`` to show that the workflow refuses it the same way.
"""

from __future__ import annotations

import copy
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from attrib import catalogue
from attrib.config import ConfigError, key_path, load_schema, load_yaml_strict, validate_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"default": ROOT / "config.yaml", "paper": ROOT / "workflow" / "configs" / "paper.yaml"}
VALID = [*CONFIGS.values(), ROOT / "tests" / "tiny.yaml", ROOT / "workflow" / "configs" / "quick.yaml"]
SCHEMA = load_schema()
UNKNOWN = "zz_unknown"

# Lists that may be empty: each then turns a part of a stage off.
MAY_BE_EMPTY = {("ablate", "removal_modes"), ("ablate", "lime", "conditions"), ("smug", "compare"),
                ("smug", "timing", "backends")}


def load(name: str) -> dict:
    return load_yaml_strict(CONFIGS[name])


def walk(obj, path=()):
    """(path, value) of every node, the root first."""
    yield path, obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from walk(value, (*path, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from walk(value, (*path, i))


def edited(config: dict, path: tuple, value) -> dict:
    """A copy of the config with the node at ``path`` replaced (or added, with the mappings above it)."""
    config = copy.deepcopy(config)
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
    node[path[-1]] = value
    return config


def refusal(config: dict) -> str:
    """The message a config is refused with; fails the test when it is accepted or crashes."""
    try:
        validate_config(config, SCHEMA)
    except ConfigError as error:
        return str(error)
    raise AssertionError("accepted")


def names(message: str, path: tuple) -> bool:
    return re.search(r"config key " + re.escape(key_path(path)) + r"(?=[:.\[])", message) is not None


class Tally:
    """Collects the cases of one family; a test fails listing every case not refused with its key."""

    def __init__(self):
        self.tried, self.failures = 0, []

    def expect(self, label: str, config: dict, *paths: tuple) -> None:
        """Refused, naming one of ``paths`` (the key edited, or the list or option that holds it)."""
        self.tried += 1
        try:
            message = refusal(config)
        except AssertionError:
            self.failures.append(f"{label}: accepted")
            return
        except Exception as error:  # a traceback instead of a message
            self.failures.append(f"{label}: {type(error).__name__}: {error}")
            return
        if not any(names(message, p) for p in paths):
            self.failures.append(f"{label}: refused without naming {[key_path(p) for p in paths]}: {message}")

    def check(self, minimum: int) -> None:
        assert not self.failures, f"{len(self.failures)} of {self.tried} cases:\n" + "\n".join(self.failures)
        assert self.tried >= minimum, self.tried


# --- the shipped configs ------------------------------------------------------------------------


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_shipped_configs_are_accepted(path):
    validate_config(load_yaml_strict(path), SCHEMA)


# --- unknown keys at every depth -----------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIGS)
def test_unknown_key_at_every_depth_is_named(name):
    config, tally = load(name), Tally()
    for path, node in walk(config):
        if isinstance(node, dict):
            tally.expect(f"{key_path(path)}.{UNKNOWN}", edited(config, (*path, UNKNOWN), 1) if path
                         else {**config, UNKNOWN: 1}, path, (*path, UNKNOWN))
    tally.check(50)


# --- wrong types at every node ---------------------------------------------------------------------


def wrong_type(value):
    """A value of another type that YAML could plausibly produce in its place."""
    if isinstance(value, bool):
        return "yes" if value else "no"  # quoted: text, not a boolean
    if isinstance(value, (int, float)):
        return str(value)  # "100"
    if isinstance(value, str):
        return 7
    if value is None:
        return "x"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"  # "0.7,0.1,0.2"
    return [1]  # a mapping written as a list


@pytest.mark.parametrize("name", CONFIGS)
def test_wrong_type_at_every_node_is_named(name):
    config, tally = load(name), Tally()
    for path, value in walk(config):
        if not path:
            continue
        holders = [path[:i] for i in range(len(path), 0, -1)]  # the node, or the list or option holding it
        tally.expect(f"{key_path(path)} = {wrong_type(value)!r}", edited(config, path, wrong_type(value)),
                     *holders[:2] if isinstance(path[-1], int) else holders[:1])
    tally.check(200)


# --- out-of-range values of every declared option --------------------------------------------------


def bad_values(option: catalogue.Option) -> list:
    """Values just outside an option's declared type and range."""
    values = []
    if option.kind == "rule":
        return ["x"]
    if option.kind in ("int", "number"):
        step = 1 if option.kind == "int" else 0.5
        if option.ge is not None:
            values.append(option.ge - step)
        if option.gt is not None:
            values.append(option.gt)
        if option.le is not None:
            values.append(option.le + step)
        if option.lt is not None:
            values.append(option.lt)
        if option.odd:
            values.append(max(2, int(option.ge or 0) + 1) // 2 * 2)
        values += [True, "x", math.nan] + ([1.5] if option.kind == "int" else [])
    elif option.kind == "bool":
        values += ["no", 1]
    elif option.kind == "choice":
        values += ["zz_bad", 3]
    elif option.kind == "string":
        values += ["", "  ", 3]
    elif option.kind == "list":
        length = option.length or 1
        values += [[], [option.default[0]] * (length + 1), ["x"] * length]
    if not option.nullable:
        values.append(None)
    return values


def declared_options(config: dict):
    """(path of an options mapping, its declared options) for every registry entry in the config."""
    for ds, spec in config["datasets"].items():
        yield ("datasets", ds, "options"), catalogue.DATASET_OPTIONS[spec["source"]]
    for model in config["models"]:
        yield ("models", model, "options"), catalogue.MODELS[model].options
    for label, entry in config["attribute"]["methods"].items():
        yield ("attribute", "methods", label), catalogue.METHODS[entry.get("method", label)].options
    for method in config["certify"]["methods"]:
        if method in catalogue.MASK_METHOD_OPTIONS:
            yield ("certify", "methods", method), catalogue.MASK_METHOD_OPTIONS[method]
    for model in config.get("smug", {}).get("models", {}):
        yield ("smug", "models", model), catalogue.SMUG_OPTIONS


@pytest.mark.parametrize("name", CONFIGS)
def test_out_of_range_option_is_named(name):
    config, tally = load(name), Tally()
    for where, options in declared_options(config):
        for key, option in options.items():
            for value in bad_values(option):
                tally.expect(f"{key_path((*where, key))} = {value!r}", edited(config, (*where, key), value),
                             (*where, key))
    tally.check(200)


# Out-of-range values that the schema holds, and names it cannot know.
SCHEMA_AND_NAME_CASES = [
    (("seed",), -1), (("chunk_size",), 0), (("device",), "gpu"), (("threads", "attribute"), 0),
    (("finetune", "lambdas", 1), 0), (("finetune", "levels", 0), 1.5), (("certify", "q"), 0),
    (("certify", "top_fractions", 0), 0), (("certify", "attack", "iterations"), -1),
    (("certify", "attack", "with_mu", 0), "false"), (("ablate", "skip"), 0), (("ablate", "top_k", "max_fraction"), 2),
    (("smug", "thresholds", 0), 1), (("smug", "sparsity_threshold"), -0.1), (("figures", "examples"), 0),
    (("attribute", "target"), "label_"), (("attribute", "curves", "baseline"), "white"),
    (("attribute", "curves", "steps"), 0), (("ablate", "ordering_source"), "alexnet"),
    (("ablate", "orders", 1), "lime_sideways"), (("ablate", "conditions", 0), "resnet:drop"),
    (("ablate", "conditions", 0), "alexnet:black"), (("certify", "attack", "method"), "gradcam"),
    (("smug", "compare", 0), "gradcam"), (("certify", "lambdas", 0), 0.001), (("resources_dir",), ""),
    (("resources_dir",), "   "),
]


@pytest.mark.parametrize("name", CONFIGS)
def test_schema_ranges_and_unknown_names_are_named(name):
    config, tally = load(name), Tally()
    for path, value in SCHEMA_AND_NAME_CASES:
        tally.expect(f"{key_path(path)} = {value!r}", edited(config, path, value), path)
    first = next(iter(config["datasets"]))
    model = config["datasets"][first]["models"][0]
    for path, value in [
        (("datasets", first, "source"), "mnist"),
        (("datasets", first, "models", 0), "vitt"),
        (("datasets", first, "experiments"), ["attribution", "muss"]),
        (("attribute", "methods", "gradcam"), {}),
        (("attribute", "methods", "saliency", "method"), "saliencyy"),
        (("attribute", "methods", "saliency", "datasets"), ["nowhere"]),
        (("certify", "methods", "shapp"), {}),
        (("certify", "samples", "nowhere"), 3),
        (("smug", "models", "alexnet"), {}),
        (("models", "alexnet"), copy.deepcopy(config["models"][model])),
    ]:
        tally.expect(f"{key_path(path)} = {value!r}", edited(config, path, value), path, path[:-1])
    tally.check(30)


# --- empty lists ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIGS)
def test_empty_list_is_named_where_it_cannot_be_empty(name):
    config, tally = load(name), Tally()
    allowed = 0
    for path, value in walk(config):
        if not isinstance(value, list):
            continue
        if any(path[-len(p):] == p for p in MAY_BE_EMPTY):
            validate_config(edited(config, path, []), SCHEMA)  # turns that part off
            allowed += 1
            continue
        tally.expect(f"{key_path(path)} = []", edited(config, path, []), path, path[:-1])
    tally.check(10)
    assert allowed >= 3


# --- eval_size against the test split ------------------------------------------------------------


def test_eval_size_larger_than_the_test_split_is_named():
    tally = Tally()
    for name in CONFIGS:
        config = load(name)
        for ds, spec in config["datasets"].items():
            size = catalogue.size_of_test_split(spec["source"], spec["options"])
            if size is None:  # only the data knows (the whole TweetEval test split): any size
                validate_config(edited(config, ("datasets", ds, "eval_size"), 10**6), SCHEMA)
                continue
            validate_config(edited(config, ("datasets", ds, "eval_size"), size), SCHEMA)
            tally.expect(f"{name}: {ds}.eval_size {size + 1}", edited(config, ("datasets", ds, "eval_size"), size + 1),
                         ("datasets", ds, "eval_size"))
    config = load("default")
    smaller = edited(config, ("datasets", "digits", "options", "split_fractions"), [0.7, 0.29, 0.01])
    size = catalogue.size_of_test_split("digits", smaller["datasets"]["digits"]["options"])
    assert 0 < size < config["datasets"]["digits"]["eval_size"]
    tally.expect("digits: a 1 % test split", smaller, ("datasets", "digits", "eval_size"))
    tally.check(4)


# --- YAML text: duplicated keys and syntax errors ------------------------------------------------

KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):")


@pytest.mark.parametrize("name", CONFIGS)
def test_duplicated_key_is_named_with_its_lines(name, tmp_path):
    """Every `key:` line written twice in a row: refused, naming the key and both lines."""
    lines = CONFIGS[name].read_text().splitlines(keepends=True)
    tried = 0
    failures = []
    for i, line in enumerate(lines):
        match = KEY_LINE.match(line)
        if not match or line.count("[") != line.count("]") or line.count("{") != line.count("}"):
            continue  # not a whole entry: a flow collection continued on the next lines
        path = tmp_path / f"dup{i}.yaml"
        path.write_text("".join(lines[: i + 1] + [line] + lines[i + 1:]))
        tried += 1
        try:
            load_yaml_strict(path)
            failures.append(f"line {i + 1} ({match.group(2)}): accepted")
        except ConfigError as error:
            pattern = rf"config key (\S+\.)?{match.group(2)}: duplicated in \S+ line {i + 2} \(first at line {i + 1}\)"
            anchor = rf"(?s)not valid YAML: found duplicate anchor.*line {i + 1},.*line {i + 2},"  # `key: &anchor`
            if not (re.search(pattern, str(error)) or re.search(anchor, str(error))):
                failures.append(f"line {i + 1}: {error}")
    assert not failures, "\n".join(failures)
    assert tried >= 50


def test_duplicated_key_inside_a_flow_mapping_is_named(tmp_path):
    text = CONFIGS["default"].read_text().replace("intgrad: {n_steps: 16}", "intgrad: {n_steps: 16, n_steps: 8}")
    path = tmp_path / "flow.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"config key attribute\.methods\.intgrad\.n_steps: duplicated"):
        load_yaml_strict(path)


def test_merge_key_overrides_are_not_duplicates():
    config = load("paper")  # imagenet_mus: {<<: *imagenet, patch: 28}
    assert config["datasets"]["imagenet_mus"]["options"]["patch"] == 28
    assert config["datasets"]["imagenet"]["options"]["patch"] == 16


SYNTAX_ERRORS = [
    ("an unclosed flow list", "top_fractions: [0.125, 0.25, 0.375, 0.5]", "top_fractions: [0.125, 0.25, 0.375, 0.5"),
    ("an unclosed flow mapping", "intgrad: {n_steps: 16}", "intgrad: {n_steps: 16"),
    ("a tab for indentation", "\n  q: 64", "\n\tq: 64"),
    ("a key indented too far", "\nfinetune:\n  lambdas", "\nfinetune:\n  lambdas: [1]\n    levels"),
    ("an unclosed quote", 'conditions: ["resnet:black"', 'conditions: ["resnet:black'),
    ("a missing colon", "\nseed: 0", "\nseed 0"),
]


@pytest.mark.parametrize("what, old, new", SYNTAX_ERRORS, ids=[case[0] for case in SYNTAX_ERRORS])
def test_yaml_syntax_error_names_the_file_and_line(what, old, new, tmp_path):
    text = CONFIGS["default"].read_text()
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=r"(?s)broken\.yaml: not valid YAML: .*in \"\S*broken\.yaml\", line \d+"):
        load_yaml_strict(path)


# --- through the workflow ------------------------------------------------------------------------


def test_snakemake_dry_run_refuses_a_mistyped_option(tmp_path):
    """The workflow validates on parse: a quoted number stops `snakemake -n` with the key named."""
    text = CONFIGS["default"].read_text().replace("lime: {n_samples: 128,", 'lime: {n_samples: "128",')
    config = tmp_path / "config.yaml"
    config.write_text(text)
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-n", "--quiet", "--cores", "1",
         "--configfile", str(config)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode != 0
    assert "config key attribute.methods.lime.n_samples: expected an integer >= 1, got '128' (str)" in (
        out.stdout + out.stderr)
