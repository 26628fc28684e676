"""Your own model and data by config alone: a generated config of torchvision: and hf: sources
on an image folder and a csv file is validated (unsupported pairings refused with the key
named), plans every experiment that applies to each model, and runs end to end offline."""

import copy
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from attrib.config import ConfigError, dataset_tokenizer, validate_config

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def snakemake(*args, cwd, timeout=600):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def own_data(folder: Path) -> dict[str, Path]:
    """An image folder (3 classes of 12 flat-colour 40x36 PNGs, one class per hue), a csv of 24
    labelled sentences, and a tiny BERT classifier saved as save_pretrained would (random
    weights, MiniLM's tokenizer)."""
    from test_sources import tiny_bert

    images = folder / "images"
    for c, name in enumerate(("cats", "dogs", "owls")):
        (images / name).mkdir(parents=True)
        for i in range(12):
            colour = tuple(min(255, 60 + 90 * (k == c) + 7 * i) for k in range(3))
            Image.new("RGB", (40, 36), colour).save(images / name / f"{i}.png")
    texts = folder / "reviews.csv"
    with texts.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "stars"])
        for i in range(8):
            writer.writerows([(f"awful, simply awful {i}", "bad"), (f"it was fine {i}", "ok"),
                              (f"a wonderful film {i}", "good")])
    return {"images": images, "texts": texts, "bert": tiny_bert(folder / "tiny-bert")}


def own_config(paths: dict[str, Path]) -> dict:
    """Every experiment on every model that takes it, at tiny sizes; every filler is planned
    (the pixel fillers are tested on their own in tests/test_features.py), two of them run."""
    schedule = {"epochs": 1, "lr": 0.001, "batch_size": 16, "max_steps_per_epoch": 1}
    split = {"split_fractions": [0.5, 0.25, 0.25]}
    return {
        "seed": 0, "device": "cpu", "chunk_size": 256, "resources_dir": "resources",
        "threads": {"prepare": 1, "finetune": 1, "attribute": 1, "certify": 1, "ablate": 1},
        "datasets": {
            "pets": {"source": "imagefolder", "models": ["resnet18", "convnext"], "eval_size": 4,
                     "options": {"root": str(paths["images"]), "image_size": 32, "patch": 8, **split}},
            "pets16": {"source": "imagefolder", "models": ["vit16"], "eval_size": 4,  # the ViT's 16 px tokens
                       "options": {"root": str(paths["images"]), "image_size": 32, "patch": 16, **split}},
            "reviews": {"source": "csv", "models": ["sentiment"], "eval_size": 3,
                        "options": {"path": str(paths["texts"]), "text_column": "review", "label_column": "stars",
                                    "labels": ["bad", "ok", "good"], "max_length": 12, **split}},
        },
        "models": {
            "resnet18": {"source": "torchvision:resnet18", "train": schedule, "finetune": schedule},
            "convnext": {"source": "torchvision:convnext_tiny", "train": schedule, "finetune": schedule},
            "vit16": {"source": "torchvision:vit_b_16", "options": {"removal": "drop"}, "train": schedule,
                      "finetune": schedule},
            "sentiment": {"source": f"hf:{paths['bert']}", "train": schedule, "finetune": schedule},
        },
        "finetune": {"lambdas": [1], "levels": [1, 0.5]},
        "attribute": {"methods": {"saliency": {}}, "curves": {"steps": 2, "baseline": "black"}},
        "certify": {
            "q": 4, "lambdas": [0.5], "top_fractions": [0.5], "methods": {"vgrad": {}},
            "samples": {"pets": 2, "pets16": 2, "reviews": 2},
            "sparsity": {"max_lambda": 0.5, "samples": {"pets": 1, "pets16": 1, "reviews": 1}},
            "attack": {"method": "vgrad", "top_fraction": 0.5, "q": 4, "lambdas": [0.5],
                       "samples": {"pets": 1, "pets16": 1, "reviews": 1}, "iterations": 1, "candidates": 2,
                       "modes": ["voting"], "with_mu": [False]},
        },
        "ablate": {
            "conditions": ["resnet18:black", "convnext:black", "vit16:drop", "sentiment:mask_token",
                           "sentiment:delete"],
            "orders": ["random", "saliency"], "ordering_source": "own",
            "removal_modes": ["black", "mean", "patch_color", "noise", "blur", "drop"],  # every filler
            "skip": 8,
            "lime": {"conditions": ["resnet18:black", "convnext:black", "vit16:drop"], "images": 2, "n_samples": 8,
                     "kernel_width": 0.25, "alpha": 1.0},
            "top_k": {"skip": 1, "max_fraction": 0.25},
        },
        "smug": {"eval_size": 2, "models": {"resnet18": {"window": 8, "top_k": 20, "n_steps": 2, "timeout_s": 5}},
                 "timing": {"backends": ["milp"], "inputs": 1}, "compare": ["saliency"], "saliency_protocol": "seed",
                 "thresholds": [0.0, 0.5],
                 "sparsity_threshold": 0.05},
        "figures": {"examples": 2},
    }


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own")
    return folder, own_config(own_data(folder))


def test_the_own_config_is_valid_and_its_tokenizer_is_the_models(own):
    _, config = own
    validate_config(config)
    assert dataset_tokenizer(config, "reviews") == "sentiment"  # no tokenizer: key needed


@pytest.mark.parametrize(
    "edit, key, words",
    [
        (lambda c: c["smug"]["models"].update(vit16={}), "smug.models.vit16",
         "SMUG explains CNNs only, whose first layer is a plain convolution (+ batch norm) followed by a ReLU"),
        (lambda c: c["smug"]["models"].update(vit16={}), "smug.models.vit16", "'vit16' (torchvision:vit_b_16) is not one"),
        (lambda c: c["smug"]["models"].update(convnext={}), "smug.models.convnext",
         "'convnext' (torchvision:convnext_tiny) is not one"),
        (lambda c: c["smug"]["models"].update(sentiment={}), "smug.models.sentiment", "SMUG explains CNNs only"),
        (lambda c: c["ablate"]["conditions"].append("convnext:drop"), "ablate.conditions[5]",
         "model 'convnext' has no removal mode 'drop'; its modes: ['black', 'mean', 'patch_color', 'noise', 'blur']"),
        (lambda c: c["ablate"]["lime"]["conditions"].append("resnet18:drop"), "ablate.lime.conditions[3]",
         "model 'resnet18' has no removal mode 'drop'"),
        (lambda c: c["models"]["convnext"].update(options={"removal": "drop"}), "models.convnext.options",
         "torchvision:convnext_tiny has no option 'removal' (only ViTs take one"),
        (lambda c: c["models"]["vit16"].update(options={"removal": "delete"}), "models.vit16.options.removal",
         "expected one of ['black', 'mean', 'patch_color', 'noise', 'blur', 'drop'], got 'delete'"),
        (lambda c: c["models"]["convnext"].update(source="torchvision:convnxt_tiny"), "models.convnext.source",
         "torchvision builder 'convnxt_tiny' is in no known family"),
        (lambda c: c["models"]["convnext"].update(source="timm:convnext_tiny"), "models.convnext.source",
         "is not one of torchvision:<builder>, hf:<repo or directory>, python:<module>:<function>"),
        (lambda c: c["models"]["convnext"].update(options={"weights": "IMAGENET1K_V1", "checkpoint": "/c.pt"}),
         "models.convnext.options", "not both"),
        (lambda c: c["models"].update(mynet=c["models"].pop("convnext")) or c["models"]["mynet"].pop("source"),
         "models.mynet", "unknown model; known:"),
        (lambda c: c["datasets"]["reviews"]["models"].append("resnet18"), "datasets.reviews.models[1]",
         "model 'resnet18' is for image data, dataset 'reviews' is text"),
        (lambda c: c["datasets"]["pets"]["models"].append("sentiment"), "datasets.pets.models[2]",
         "model 'sentiment' is for text data"),
        (lambda c: c["datasets"]["reviews"].update(tokenizer="resnet18"), "datasets.reviews.tokenizer",
         "a text dataset needs the name of the model whose tokenizer it uses"),
        (lambda c: c["datasets"]["reviews"]["options"].pop("path"), "datasets.reviews.options", "missing option(s) ['path']"),
        (lambda c: c["datasets"]["pets"]["options"].update(folder="x"), "datasets.pets.options",
         "unknown option(s) ['folder']"),
    ],
)
def test_unsupported_pairings_are_refused_with_the_key_named(own, edit, key, words):
    config = copy.deepcopy(own[1])
    edit(config)
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert f"config key {key}:" in str(err.value) and words in str(err.value), str(err.value)


def test_the_plan_has_every_experiment_that_applies_to_each_model(own, tmp_path):
    folder, config = own
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(config))
    out = snakemake("-n", "--cores", "2", "--configfile", "mine.yaml", cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "download_weights" not in text  # random weights and a local folder: nothing to fetch
    for model, dataset in (("resnet18", "pets"), ("convnext", "pets"), ("vit16", "pets16"), ("sentiment", "reviews")):
        assert f"results/models/{dataset}/{model}/lam1.pt" in text
        assert f"results/attributions/{dataset}/{model}/saliency.pt" in text
        assert f"results/tables/certify/e1/{dataset}/{model}/lam0.5.csv" in text
    fillers = ("black", "mean", "patch_color", "noise", "blur")
    for model, dataset, modes in (("resnet18", "pets", fillers), ("convnext", "pets", fillers),
                                  ("vit16", "pets16", (*fillers, "drop")), ("sentiment", "reviews", ("delete",))):
        for removal in modes:
            assert f"results/tables/ablate/patches/{dataset}/{model}/{removal}.csv" in text, (model, removal)
    assert "ablate/patches/pets/convnext/drop.csv" not in text
    assert "results/smug/pets/resnet18/maps.pt" in text and "smug/pets/convnext" not in text
    assert "results/tables/ablate/topk/pets16.csv" in text


def test_weights_by_name_come_through_the_download_rule(own, tmp_path):
    config = copy.deepcopy(own[1])
    config["models"]["convnext"]["options"] = {"weights": "IMAGENET1K_V1"}
    config["models"]["resnet18"]["options"] = {"checkpoint": str(tmp_path / "missing.pt")}
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(config))
    out = snakemake("-n", "--cores", "2", "--configfile", "mine.yaml", cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode != 0 and str(tmp_path / "missing.pt") in text  # a checkpoint file is an input
    (tmp_path / "missing.pt").touch()
    out = snakemake("-n", "--cores", "2", "--configfile", "mine.yaml", cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "resources/weights/convnext.ok" in text and "resources/weights/resnet18.ok" not in text


def test_a_text_dataset_may_take_the_tokenizer_of_a_model_it_does_not_train(own, tmp_path):
    config = copy.deepcopy(own[1])
    schedule = config["models"].pop("sentiment")["train"]
    config["models"]["textcnn"] = {"options": {"dim": 8, "channels": 8}, "train": schedule, "finetune": schedule}
    config["datasets"]["reviews"].update(models=["textcnn"], tokenizer="roberta")
    config["ablate"]["conditions"] = ["resnet18:black", "textcnn:mask_token"]
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(config))
    out = snakemake("-n", "--cores", "2", "--configfile", "mine.yaml", cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "resources/weights/roberta.ok" in text and "results/models/reviews/textcnn/lam1.pt" in text


def test_the_template_is_valid_and_fetches_its_weights(root, tmp_path):
    out = snakemake("-n", "--cores", "2", "--configfile", str(root / "workflow/configs/your-model.yaml"), cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    for model in ("convnext", "resnet", "vit", "sentiment"):
        assert f"resources/weights/{model}.ok" in text, model
    assert "results/smug/mine/resnet/maps.pt" in text and "ablate/patches/mine/vit/drop.csv" in text


@pytest.mark.slow
def test_own_models_and_data_end_to_end(own, tmp_path):
    folder, config = copy.deepcopy(own)
    config["ablate"]["removal_modes"] = ["blur", "drop"]  # with the conditions' black, drop and [MASK] / delete
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(config))
    out = snakemake("--cores", "2", "--configfile", "mine.yaml", cwd=tmp_path, timeout=1800)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    tables = tmp_path / "results" / "tables"
    for name in ("test_accuracy.csv", "diffid_auc.csv", "deletion_insertion_auc.csv", "e2_certified_accuracy.csv",
                 "e1_stability.csv", "e3_sparsity.csv", "missingness_removal_modes.csv", "missingness_topk.csv",
                 "missingness_text.csv", "smug_summary.csv"):
        assert (tables / name).stat().st_size > 0, name
    import pandas as pd

    modes = pd.read_csv(tables / "missingness_removal_modes.csv")
    assert set(zip(modes["model"], modes["removal"])) == {("resnet18", "black"), ("resnet18", "blur"),
                                                          ("convnext", "black"), ("convnext", "blur"),
                                                          ("vit16", "blur"), ("vit16", "drop")}
    assert set(pd.read_csv(tables / "test_accuracy.csv")["model"]) == {"resnet18", "convnext", "vit16", "sentiment"}
