"""The config is validated before any job: schema first, then registry names."""

import copy

import pytest

from attrib.config import ConfigError, check_config_files, lambda_label, validate_config


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
        (lambda c: c["attribute"]["methods"].update(feature_ablation={}), "attribute.methods.feature_ablation",
         "unknown method 'feature_ablation'"),  # occlusion computes the same on the patch grid
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
        (lambda c: c["attribute"]["methods"].update(lime={"n_sample": 8}), "attribute.methods.lime",
         "unknown option(s) ['n_sample']"),
        (lambda c: c["attribute"]["methods"].update(lime={"datasets": ["digitz"]}), "attribute.methods.lime.datasets",
         "unknown dataset 'digitz'"),
        (lambda c: c["certify"]["methods"].update(shapp={}), "certify.methods.shapp", "unknown method"),
        (lambda c: c["certify"]["methods"].update(lime={"steps": 3}), "certify.methods.lime", "unknown option(s) ['steps']"),
        (lambda c: c["certify"]["attack"].update(method="lime"), "certify.attack.method", "not in certify.methods"),
        (lambda c: c["certify"]["attack"].update(lambdas=[0.3]), "certify.attack.lambdas[0]", "not in certify.lambdas"),
        (lambda c: c["certify"].update(lambdas=[0.01]), "certify.lambdas[0]", "below 1/q"),
        (lambda c: c["certify"]["attack"].update(q=2), "certify.attack.lambdas[1]", "below 1/q = 1/2 of certify.attack.q"),
        (lambda c: c["certify"]["attack"].pop("q"), "certify.attack", "'q' is a required property"),
        (lambda c: c["certify"]["attack"].update(top_fraction=0.3), "certify.attack.top_fraction",
         "not in certify.top_fractions"),
        (lambda c: c["certify"]["samples"].update(digitz=3), "certify.samples.digitz", "no such dataset"),
        (lambda c: c["certify"]["attack"].update(modes=["soft", "hard"]), "certify.attack.modes[1]", "is not one of"),
        (lambda c: c["datasets"]["digits"].update(experiments=["muss"]), "datasets.digits.experiments[0]",
         "is not one of"),
        (lambda c: c["datasets"]["digits"]["options"].pop("placements"), "datasets.digits.options",
         "missing option(s) ['placements']"),
        (lambda c: c["smug"]["models"].update(alexnet={}), "smug.models.alexnet", "unknown model"),
        (lambda c: c["smug"]["models"].update(roberta={}), "smug.models.roberta", "not trained on any dataset"),
        (lambda c: c["smug"]["models"]["resnet"].update(windw=2), "smug.models.resnet", "unknown option(s) ['windw']"),
        (lambda c: c["smug"]["models"]["resnet"].update(backend="cplex"), "smug.models.resnet.backend",
         "expected one of ['milp', 'z3'], got 'cplex' (str)"),
        (lambda c: c["smug"]["models"]["resnet"].update(gamma=1), "smug.models.resnet.gamma",
         "expected a number in [0, 1), got 1 (int)"),
        (lambda c: c["smug"].update(compare=["gradcam"]), "smug.compare[0]", "not a label under attribute.methods"),
        (lambda c: c["smug"].update(saliency_protocol="seeds"), "smug.saliency_protocol", "is not one of"),
        (lambda c: c["smug"]["models"]["textcnn"].update(top_k=65), "smug.models.textcnn.top_k",
         "65 exceeds the 64 channels of textcnn"),
        (lambda c: c["smug"]["models"]["textcnn"].pop("top_k"), "smug.models.textcnn.top_k",
         "500 exceeds the 64 channels"),
        (lambda c: c["models"]["textcnn"]["options"].update(channels=32), "smug.models.textcnn.top_k",
         "exceeds the 32 channels"),
        (lambda c: c["models"]["vit"]["options"].update(removal="dorp"), "models.vit.options.removal",
         "got 'dorp' (str)"),
        (lambda c: c["models"]["resnet"]["options"].update(removal="drop"), "models.resnet.options.removal",
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
    with pytest.raises(ConfigError, match=r"config key datasets.digits.options: unknown option\(s\) \['placement'\]"):
        validate_config(config)


def test_method_variant_names_the_registry_entry(default_config):
    config = copy.deepcopy(default_config)
    config["attribute"]["methods"]["sg_recal"] = {"method": "intgrad_sgg", "recalibrate": True}
    with pytest.raises(ConfigError, match=r"config key attribute.methods.sg_recal: unknown method 'intgrad_sgg'"):
        validate_config(config)


def _set(path: str, value):
    """An edit setting a dotted key path (lists by index) to value; missing mappings are made."""
    def edit(config):
        node, parts = config, path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node[parts[-1]] = value
    return edit


# Issue 18: values inside options and method entries whose type or range nobody checked.
ISSUE_CASES = [
    (_set("attribute.methods.lime.n_samples", "100"), "attribute.methods.lime.n_samples",
     "expected an integer >= 1, got '100' (str)"),
    (_set("attribute.methods.intgrad_recal.recalibrate", "yes"), "attribute.methods.intgrad_recal.recalibrate",
     "expected true or false, got 'yes' (str)"),
    (_set("attribute.methods.intgrad_recal.recalibrate", "no"), "attribute.methods.intgrad_recal.recalibrate",
     "expected true or false, got 'no' (str)"),
    (_set("models.vit.options.num_heads", "4"), "models.vit.options.num_heads", "got '4' (str)"),
    (_set("models.resnet.options.depth", 18), "models.resnet.options", "unknown option(s) ['depth']"),
    (_set("datasets.digits.options.split_fractions", "0.7,0.1,0.2"), "datasets.digits.options.split_fractions",
     "expected a list of 3 items, each a number in [0, 1], got '0.7,0.1,0.2' (str)"),
    (_set("attribute.methods.lime.n_samples", 0), "attribute.methods.lime.n_samples", "got 0 (int)"),
    (_set("attribute.methods.intgrad.n_steps", -4), "attribute.methods.intgrad.n_steps",
     "expected an integer >= 1, got -4"),
    (_set("models.resnet.options.width", 0), "models.resnet.options.width", "expected an integer >= 1, got 0"),
    (_set("models.vit.options.num_heads", 3), "models.vit.options.num_heads", "3 heads do not divide hidden_dim 64"),
    (_set("datasets.digits.options.patch", 5), "datasets.digits.options.patch",
     "patch 5 does not divide image_size 32"),
    (_set("smug.models.resnet.timeout_s", 0), "smug.models.resnet.timeout_s", "expected a number > 0, got 0"),
    (_set("attribute.methods.lime.removal", "blak"), "attribute.methods.lime.removal", "got 'blak' (str)"),
    (_set("datasets.digits.options.split_fractions", [0.8, 0.2, 0.0]), "datasets.digits.options.split_fractions",
     "leaves the test split(s) empty"),
    (_set("datasets.digits.options.split_fractions", [0.5, 0.2, 0.2]), "datasets.digits.options.split_fractions",
     "sums to 0.9, not 1"),
    (_set("smug.models.resnet.gamma", "x"), "smug.models.resnet.gamma", "expected a number in [0, 1), got 'x' (str)"),
    (_set("smug.models.resnet.margin", "1e-5"), "smug.models.resnet.margin", "YAML reads 1e-5 as text"),
    (lambda c: c["attribute"].pop("curves"), "attribute", "'curves' is a required property"),
    (_set("datasets.digits.eval_size", 5000), "datasets.digits.eval_size", "5000 is more than the 2872 inputs"),
    (_set("datasets.tweets.eval_size", 601), "datasets.tweets.eval_size", "601 is more than the 600 inputs"),
    (_set("attribute.methods.intgrad_sg.datasets", ["tweets"]), "attribute.methods.intgrad_sg.datasets[0]",
     "would never run there"),
    (_set("resources_dir", ""), "resources_dir", "must name a folder"),
    (_set("resources_dir", "  "), "resources_dir", "must name a folder"),
    (_set("attribute.methods.intgrad.method", "riemann_trapezoid"), "attribute.methods.intgrad",
     "intgrad's integration rule is set as integration: riemann_trapezoid"),
    (_set("attribute.methods.intgrad.integration", "simpson"), "attribute.methods.intgrad.integration",
     "got 'simpson' (str)"),
    (lambda c: c["attribute"]["methods"].update(intgrad={"n_steps": 1, "integration": "riemann_left"}),
     "attribute.methods.intgrad.n_steps", "the riemann_left rule needs n_steps >= 2"),
    (_set("attribute.methods.expgrad.references", "train"), "attribute.methods.expgrad.references",
     "not set in the config"),
    (_set("datasets.tweets.options.max_length", 1000), "datasets.tweets.options.max_length",
     "expected an integer in [3, 512]"),
    (_set("models.textcnn.options.kernel", 4), "models.textcnn.options.kernel", "expected an odd integer >= 1"),
    (_set("datasets.digits.options.digit_scale", 5), "datasets.digits.options.digit_scale", "40 px wide does not fit"),
    (_set("datasets.digits.options.max_offset", 5), "datasets.digits.options.max_offset", "max_offset at most 4"),
    (_set("certify.methods.intgrad", {"n_steps": 3}), "certify.methods.intgrad", "under attribute.methods.intgrad"),
    (_set("certify.methods.shap.n_background", 0), "certify.methods.shap.n_background", "expected an integer >= 1"),
    (_set("smug.models.vit", {}), "smug.models.vit", "SMUG explains CNNs only"),
    (_set("attribute.methods.smug", {"datasets": ["digits"]}), "attribute.methods.smug",
     "dataset 'digits' has 'vit'"),
    (_set("attribute.methods.lime.removal", "drop"), "attribute.methods.lime.removal",
     "model 'resnet' (dataset 'digits') has no removal mode 'drop'"),
    (lambda c: c["attribute"]["methods"]["lime"].pop("datasets"), "attribute.methods.lime.removal",
     "model 'bert' (dataset 'tweets') has no removal mode 'black'"),
    (_set("datasets.tweets.tokenizer", "resnet"), "datasets.tweets.tokenizer", "a text dataset needs the name"),
    (_set("datasets.digits.tokenizer", "bert"), "datasets.digits.tokenizer", "image datasets take no tokenizer"),
    (lambda c: (c["datasets"]["tweets"]["models"].append("roberta"), c["models"].update(roberta=c["models"]["bert"])),
     "datasets.tweets.models[2]", "roberta embeds hf:cardiffnlp/twitter-roberta-base-sentiment token ids; dataset 'tweets' is tokenized by 'bert' (minilm)"),
    (_set("datasets.digits.download", {"base_url": "https://example.org"}), "datasets.digits.download",
     "only tweeteval datasets are downloaded"),
    (_set("datasets.tweets.options.raw_dir", "/tmp"), "datasets.tweets.options", "unknown option(s) ['raw_dir']"),
    (_set("datasets.tweets.options.n_train", 0), "datasets.tweets.options.n_train",
     "0 training images, but bert trains or fine-tunes on 'tweets'"),
]


@pytest.mark.parametrize("edit, key, words", ISSUE_CASES)
def test_issue_18_values_are_checked(default_config, edit, key, words):
    config = copy.deepcopy(default_config)
    edit(config)
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    message = str(err.value)
    assert f"config key {key}:" in message
    assert words in message


PAPER_CASES = [
    (_set("datasets.imagenet.options.image_size", 192), "datasets.imagenet.models[1]",
     "vit_b_16's position embedding is for 224 px images"),
    (_set("models.vit_b_16.options.removal", "drop"), "datasets.imagenet_mus.models[1]",
     "'drop' needs the feature patch 16; dataset 'imagenet_mus' has patch 28"),
    (_set("datasets.imagenet.options.patch", 28), "ablate.conditions[2]", "'drop' needs the feature patch 16"),
    (_set("datasets.imagenet_mus.options.n_train", 0), "datasets.imagenet_mus.options.n_train",
     "0 training images, but resnet50 trains or fine-tunes"),
    (_set("datasets.imagenet_recal.options.n_train", 0), "attribute.methods.expgrad",
     "expgrad draws its references from the training images; dataset 'imagenet_recal' has n_train 0"),
    (_set("datasets.imagenet.options.root", ""), "datasets.imagenet.options.root", "expected a non-empty string"),
    (_set("datasets.tweeteval.options.n_test", 0), "datasets.tweeteval.options.n_test",
     "expected an integer >= 1 or null, got 0"),
    (_set("datasets.tweeteval.download.base_url", "raw.githubusercontent.com"), "datasets.tweeteval.download.base_url",
     "does not match"),
    (_set("datasets.tweeteval.download.sha256", {}), "datasets.tweeteval.download", "unknown key(s) ['sha256']"),
]


@pytest.mark.parametrize("edit, key, words", PAPER_CASES)
def test_paper_scale_values_are_checked(paper_config, edit, key, words):
    config = copy.deepcopy(paper_config)
    edit(config)
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    message = str(err.value)
    assert f"config key {key}:" in message
    assert words in message


@pytest.mark.parametrize("edit", [
    _set("attribute.methods.intgrad.integration", "riemann_trapezoid"),
    _set("datasets.digits.options.split_fractions", [0.6, 0.2, 0.2]),
    _set("datasets.digits.eval_size", 2872),  # the whole test split
    _set("attribute.methods.lime.removal", None),  # the model's own default
    _set("models.vit.options.num_heads", 8),
])
def test_valid_edits_are_accepted(default_config, edit):
    config = copy.deepcopy(default_config)
    edit(config)
    validate_config(config)


def test_pretrained_only_imagenet_needs_no_training_images(paper_config):
    config = copy.deepcopy(paper_config)
    config["datasets"]["imagenet"]["options"]["n_train"] = 0  # epochs 0 and no MuS fine-tuning there
    validate_config(config)


def test_config_files_with_duplicated_keys_are_refused(tmp_path, root):
    check_config_files([root / "config.yaml", root / "workflow" / "configs" / "paper.yaml"])
    text = (root / "config.yaml").read_text().replace("      patch: 4\n", "      patch: 4\n      patch: 8\n", 1)
    (tmp_path / "dup.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"config key datasets\.digits\.options\.patch: duplicated in \S*dup\.yaml "
                                          r"line 21 \(first at line 20\)"):
        check_config_files([root / "config.yaml", tmp_path / "dup.yaml"])
