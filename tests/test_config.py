"""The config is validated before any job: schema first, then registry names."""

import copy

import pytest

from attrib.config import ConfigError, lambda_label, validate_config


def test_default_and_paper_configs_are_valid(default_config, paper_config):
    validate_config(default_config)
    validate_config(paper_config)


@pytest.mark.parametrize(
    "edit, key, words",
    [
        (lambda c: c.update(sed=1), "<top level>", "unknown key(s) ['sed']"),
        (lambda c: c.update(shards={"attack": 10, "attacks": 5}), "shards", "unknown key(s) ['attacks']"),
        (lambda c: c.update(shards={"certify": 0}), "shards.certify", "less than the minimum of 1"),
        (lambda c: c.update(gpu_memory_gb=0), "gpu_memory_gb", "less than or equal to the minimum of 0"),
        (lambda c: c["certify"].update(q="64"), "certify.q", "is not of type 'integer'"),
        (lambda c: c["finetune"].update(lambdas=[0.5, 0.25]), "finetune.lambdas", "does not contain items"),
        (lambda c: c["finetune"].update(lambdas=[1, 1.5]), "finetune.lambdas[1]", "maximum"),
        (lambda c: c["models"]["resnet"]["train"].update(lr=-1), "models.resnet.train.lr", "minimum"),
        (lambda c: c["datasets"]["digits"].update(models=["resnet", "vitt"]), "datasets.digits.models[1]", "unknown model 'vitt'"),
        (lambda c: c["datasets"]["digits"].update(source="mnist"), "datasets.digits.source", "unknown dataset 'mnist'"),
        (lambda c: c["attribute"]["methods"].update(gradcam={}), "attribute.methods.gradcam", "unknown method"),
        (lambda c: c["ablate"].update(conditions=["resnet:drop"]), "ablate.conditions[0]", "no removal mode 'drop'"),
        (lambda c: c["datasets"]["tweets"].update(models=["resnet"]), "datasets.tweets.models[0]", "is for image data"),
        (lambda c: c["ablate"].update(conditions=["roberta:mask_token"]), "ablate.conditions[0]", "not trained"),
        (lambda c: c["ablate"]["lime"].update(conditions=["resnet:blak"]), "ablate.lime.conditions[0]",
         "no removal mode 'blak'"),
        (lambda c: c["ablate"]["lime"].update(conditions=["bert:delete"]), "ablate.lime.conditions[0]", "image models"),
        (lambda c: c["ablate"].update(orders=["random", "gradcam_reverse"]), "ablate.orders[1]",
         "needs the method 'gradcam'"),
        (lambda c: c["ablate"].update(ordering_source="alexnet"), "ablate.ordering_source", "neither first"),
        (lambda c: c["ablate"].update(removal_modes=["grey"]), "ablate.removal_modes[0]", "is not one of"),
        (lambda c: c["ablate"]["top_k"].update(max_fraction=0), "ablate.top_k.max_fraction", "less than or equal"),
        (lambda c: c["datasets"]["digits"].pop("eval_size"), "datasets.digits", "'eval_size' is a required property"),
        (lambda c: c["attribute"]["methods"].update(lime={"n_sample": 8}), "attribute.methods.lime", "no options ['n_sample']"),
        (lambda c: c["attribute"]["methods"].update(lime={"datasets": ["digitz"]}), "attribute.methods.lime.datasets",
         "unknown dataset 'digitz'"),
        (lambda c: c["certify"]["methods"].update(shapp={}), "certify.methods.shapp", "unknown method"),
        (lambda c: c["certify"]["methods"].update(lime={"steps": 3}), "certify.methods.lime", "unknown option(s) ['steps']"),
        (lambda c: c["certify"]["attack"].update(method="lime"), "certify.attack.method", "not in certify.methods"),
        (lambda c: c["certify"]["attack"].update(lambdas=[0.3]), "certify.attack.lambdas[0]", "not in certify.lambdas"),
        (lambda c: c["certify"].update(lambdas=[0.01]), "certify.lambdas[0]", "below 1/q"),
        (lambda c: c["certify"]["samples"].update(digitz=3), "certify.samples.digitz", "no such dataset"),
        (lambda c: c["certify"]["attack"].update(modes=["soft", "hard"]), "certify.attack.modes[1]", "is not one of"),
        (lambda c: c["datasets"]["digits"].update(experiments=["muss"]), "datasets.digits.experiments[0]",
         "is not one of"),
        (lambda c: c["datasets"]["digits"]["options"].pop("placements"), "datasets.digits.options",
         "missing option 'placements'"),
        (lambda c: c["smug"]["models"].update(alexnet={}), "smug.models.alexnet", "unknown model"),
        (lambda c: c["smug"]["models"].update(roberta={}), "smug.models.roberta", "not trained on any dataset"),
        (lambda c: c["smug"]["models"]["resnet"].update(windw=2), "smug.models.resnet", "unknown option(s) ['windw']"),
        (lambda c: c["smug"]["models"]["resnet"].update(backend="cplex"), "smug.models.resnet.backend",
         "'cplex' is not one of ['milp', 'z3']"),
        (lambda c: c["smug"]["models"]["resnet"].update(gamma=1), "smug.models.resnet.gamma", "must lie in [0, 1)"),
        (lambda c: c["smug"].update(compare=["gradcam"]), "smug.compare[0]", "not a label under attribute.methods"),
        (lambda c: c["models"]["vit"]["options"].update(removal="dorp"), "models.vit.options",
         "removal 'dorp' is not a removal mode of 'vit'"),
        (lambda c: c["models"]["resnet"]["options"].update(removal="drop"), "models.resnet.options",
         "no option 'removal'"),
    ],
)
def test_bad_config_names_the_key(default_config, edit, key, words):
    config = copy.deepcopy(default_config)
    edit(config)
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    message = str(err.value)
    assert f"config key {key}:" in message
    assert words in message


def test_lambda_labels():
    assert [lambda_label(x) for x in (1, 1.0, 0.5, 0.125, 0.0625)] == ["1", "1", "0.5", "0.125", "0.0625"]


def test_unknown_dataset_option_is_named(default_config):
    config = copy.deepcopy(default_config)
    config["datasets"]["digits"]["options"]["placement"] = 2
    with pytest.raises(ConfigError, match=r"config key datasets.digits.options: unknown option 'placement'"):
        validate_config(config)


def test_method_variant_names_the_registry_entry(default_config):
    config = copy.deepcopy(default_config)
    config["attribute"]["methods"]["sg_recal"] = {"method": "intgrad_sgg", "recalibrate": True}
    with pytest.raises(ConfigError, match=r"config key attribute.methods.sg_recal: unknown method 'intgrad_sgg'"):
        validate_config(config)
