"""Models named by a source (torchvision:, hf:, python:): what the catalogue says of them is what
they are, they run behind the FeatureClassifier interface, and the paper models are aliases."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers / huggingface_hub read it: nothing downloads

import pytest
import torch
import torchvision
from test_models import TEXT_META, images, randomise_head, token_ids, vit_reference
from torch import nn
from torchvision.models import VisionTransformer

from attrib import catalogue
from attrib.models import HFTextClassifier, ViTClassifier, build_model, load_checkpoint, save_checkpoint
from attrib.models.sources import replace_head, torchvision_net, torchvision_weights, torchvision_weights_path
from attrib.models.vision import wrap
from attrib.resources import hf_dir, minilm_dir
from attrib.smug import first_layer

IMAGE_META = {"modality": "image", "num_classes": 3, "image_size": 32, "patch": 8, "mean": [0.4, 0.5, 0.6]}
VIT_META = {**IMAGE_META, "patch": 16}  # vit_b_16's own tokens: 2 x 2 of them at 32 px
TORCHVISION_BUILDERS = torchvision.models.list_models(module=torchvision.models)


def tiny_bert(directory, model_type="bert"):
    """A save_pretrained folder: a random 1-layer BERT classifier with MiniLM's vocabulary and
    MiniLM's tokenizer (shipped in a package: nothing is downloaded)."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=TEXT_META["vocab_size"], hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=64, num_labels=3)
    BertForSequenceClassification(config).save_pretrained(directory)
    AutoTokenizer.from_pretrained(minilm_dir()).save_pretrained(directory)
    if model_type != "bert":  # another architecture's name in config.json
        path = directory / "config.json"
        path.write_text(path.read_text().replace('"model_type": "bert"', f'"model_type": "{model_type}"'))
    return directory


def on_meta(builder, num_classes=3):
    """The project's torchvision network on the meta device (no memory, no initialisation);
    RegNet computes its widths from tensors, so it is built for real."""
    meta = {**IMAGE_META, "num_classes": num_classes}
    try:
        with torch.device("meta"):
            return torchvision_net(builder, meta, {}, None, pretrained=False)
    except NotImplementedError:
        return torchvision_net(builder, meta, {}, None, pretrained=False)


# --- the catalogue's torchvision families ---------------------------------------------------------


def test_every_torchvision_classification_builder_is_in_exactly_one_family():
    for builder in TORCHVISION_BUILDERS:
        matches = [prefix for prefix in catalogue.TORCHVISION_FAMILIES if builder.startswith(prefix)]
        assert len(matches) == 1, f"torchvision's {builder} matches the families {matches}"
    unused = [p for p in catalogue.TORCHVISION_FAMILIES if not any(b.startswith(p) for b in TORCHVISION_BUILDERS)]
    assert not unused, f"families without a builder in torchvision: {unused}"


@pytest.mark.parametrize("family", sorted(catalogue.TORCHVISION_FAMILIES))
def test_family_facts_are_what_the_networks_are(family):
    """drop: the network is a VisionTransformer; smug: SMUG finds its first layer; and the
    head a pretrained network gets for the dataset is the one a fresh build has."""
    builder = min(b for b in TORCHVISION_BUILDERS if catalogue.torchvision_family(b) == family)
    facts = catalogue.TORCHVISION_FAMILIES[family]
    net = on_meta(builder)
    assert isinstance(net, VisionTransformer) == facts.drop, builder
    model = wrap(net, VIT_META if facts.drop else IMAGE_META).eval()
    try:
        first_layer(model)
        smug = True
    except ValueError:
        smug = False
    assert smug == facts.smug, f"SMUG {'reads' if smug else 'cannot read'} {builder}'s first layer; catalogue: {facts}"
    imagenet = on_meta(builder, num_classes=1000)  # as the weights come
    with torch.device("meta"):
        replace_head(imagenet, 3)
    assert {k: v.shape for k, v in imagenet.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}


def test_source_facts_and_option_errors():
    assert catalogue.source_model("torchvision:vit_l_32").removal_modes == catalogue.IMAGE_REMOVAL_MODES
    convnext = catalogue.source_model("torchvision:convnext_tiny")
    assert convnext.removal_modes == catalogue.PIXEL_REMOVAL_MODES and not convnext.smug and not convnext.removal_option
    assert catalogue.source_model("torchvision:resnet18").smug and not catalogue.source_model("python:m:f").smug
    assert catalogue.source_model("torchvision:vit_l_32").token_patch == 32
    assert catalogue.source_model("hf:someone/model").removal_modes == catalogue.TEXT_REMOVAL_MODES

    def errors(source, options=None):
        return [f"{key}: {problem}" for key, problem in catalogue.source_errors(source, options)]

    assert errors("torchvision:resnet18", {"weights": "IMAGENET1K_V1"}) == []
    assert "is not one of torchvision:<builder>" in errors("keras:resnet")[0]
    assert "torchvision builder 'resnt18' is in no known family" in errors("torchvision:resnt18")[0]
    assert "torchvision:convnext_tiny has no option 'removal'" in errors("torchvision:convnext_tiny", {"removal": "drop"})[0]
    assert errors("torchvision:resnet18", {"weights": 1}) == ["options.weights: expected a non-empty string, got 1 (int)"]
    assert errors("python:os:getcwd", {"anything": "goes to the function"}) == []
    assert "removal 'drop'" not in " ".join(errors("torchvision:vit_b_16", {"removal": "drop"}))
    assert "not both" in errors("torchvision:resnet18", {"weights": "X", "checkpoint": "/c.pt"})[0]
    assert "python module 'no_such_module_here' is not importable" in errors("python:no_such_module_here:build")[0]
    assert "expected python:<module>:<function>" in errors("python:just_a_module")[0]
    assert "hf: directory ./nowhere does not exist" in errors("hf:./nowhere")[0]


def test_what_downloads_and_which_tokenizer(tmp_path):
    downloads = catalogue.downloads_weights
    assert downloads("resnet50", None) and downloads("roberta", None) and not downloads("resnet", None)
    assert downloads("mine", {"source": "torchvision:resnet18", "options": {"weights": "DEFAULT"}})
    assert not downloads("mine", {"source": "torchvision:resnet18", "options": {"checkpoint": "/my.pt"}})
    assert downloads("mine", {"source": "hf:owner/repo"})
    assert not downloads("mine", {"source": f"hf:{tmp_path}"})  # a local folder
    def tokenizer(name, entry):
        return catalogue.configured_model(name, entry).tokenizer

    assert tokenizer("textcnn", None) == catalogue.MINILM
    assert tokenizer("roberta", None) == "hf:cardiffnlp/twitter-roberta-base-sentiment"
    assert tokenizer("mine", {"source": "hf:owner/repo"}) == "hf:owner/repo"
    assert tokenizer("mine", {"source": "torchvision:resnet18"}) is None
    assert hf_dir("owner/repo", tmp_path) == tmp_path / "hf" / "owner--repo"


# --- torchvision: sources -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vit_b_16():
    torch.manual_seed(0)
    return randomise_head(build_model("vit16", VIT_META, {"removal": "drop"}, source="torchvision:vit_b_16"))


def test_vit_b_16_source_drops_tokens_as_torchvision_encodes_only_the_kept_ones(vit_b_16):
    assert isinstance(vit_b_16, ViTClassifier) and vit_b_16.default_removal == "drop"
    x = images(4, seed=3)
    kept = torch.tensor([[1, 1, 1, 1], [1, 0, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0]], dtype=torch.bool)
    with torch.no_grad():
        dropped = vit_b_16(x, keep=kept.float())
        reference = vit_reference(vit_b_16, x, kept)
        full = vit_b_16.net(vit_b_16.normalise(x))
    torch.testing.assert_close(dropped, reference, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(dropped[0], full[0], atol=1e-4, rtol=1e-5)
    assert not torch.allclose(dropped[1], full[1], atol=1e-3)


@pytest.mark.parametrize("source, meta", [("torchvision:resnet18", IMAGE_META), ("torchvision:convnext_tiny", IMAGE_META),
                                          ("torchvision:vit_b_16", VIT_META)])
def test_torchvision_sources_remove_exactly_the_catalogued_modes(source, meta, tmp_path):
    torch.manual_seed(0)
    model = build_model("mine", meta, source=source)
    x = images(2)
    keep = torch.ones(2, model.num_features(x))
    keep[:, 0] = 0
    defined = []
    for removal in catalogue.IMAGE_REMOVAL_MODES + catalogue.TEXT_REMOVAL_MODES:
        try:
            with torch.no_grad():
                model(x, keep=keep, removal=removal)
            defined.append(removal)
        except ValueError:
            pass
    assert tuple(defined) == catalogue.source_model(source).removal_modes
    path = tmp_path / "model.pt"
    save_checkpoint(model, path)
    loaded, _ = load_checkpoint(path)
    assert loaded.source == source and type(loaded) is type(model)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, keep=keep), model(x, keep=keep), atol=0, rtol=0)


def test_torchvision_weights_by_name_are_read_from_resources_and_get_the_datasets_head(tmp_path):
    weights = torchvision_weights("resnet18", "IMAGENET1K_V1")
    path = torchvision_weights_path(weights, tmp_path)
    with pytest.raises(FileNotFoundError, match="download rule") as err:
        build_model("r18", IMAGE_META, {"weights": "IMAGENET1K_V1"}, source="torchvision:resnet18", resources=tmp_path)
    assert str(path) in str(err.value)
    torch.manual_seed(1)
    imagenet = torchvision.models.resnet18(num_classes=1000)
    path.parent.mkdir(parents=True)
    torch.save(imagenet.state_dict(), path)
    model = build_model("r18", IMAGE_META, {"weights": "IMAGENET1K_V1"}, source="torchvision:resnet18",
                        resources=tmp_path)
    assert torch.equal(model.net.conv1.weight, imagenet.conv1.weight)
    assert torch.equal(model.net.layer4[1].bn2.running_var, imagenet.layer4[1].bn2.running_var)
    assert model.net.fc.weight.shape == (3, 512)  # a new head for the dataset's 3 classes
    rebuilt = build_model("r18", IMAGE_META, {"weights": "IMAGENET1K_V1"}, source="torchvision:resnet18",
                          pretrained=False)
    rebuilt.load_state_dict(model.state_dict())  # what a checkpoint rebuilds has the same shapes
    with pytest.raises(ValueError, match="no weights 'IMAGENET9K'"):
        build_model("r18", IMAGE_META, {"weights": "IMAGENET9K"}, source="torchvision:resnet18", resources=tmp_path)


def test_a_pretrained_vit_needs_its_image_size(tmp_path):
    path = torchvision_weights_path(torchvision_weights("vit_b_16", "IMAGENET1K_V1"), tmp_path)
    path.parent.mkdir(parents=True)
    path.touch()  # the size check comes before the file is read
    with pytest.raises(ValueError, match="torchvision:vit_b_16 with weights IMAGENET1K_V1 does not fit .*image_size 32"):
        build_model("v", VIT_META, {"weights": "IMAGENET1K_V1"}, source="torchvision:vit_b_16", resources=tmp_path)


def test_a_checkpoint_file_loads_with_the_datasets_head(tmp_path):
    torch.manual_seed(2)
    mine = torchvision.models.resnet18(num_classes=10)
    torch.save({"state_dict": mine.state_dict(), "epoch": 3}, tmp_path / "mine.pt")
    model = build_model("r18", IMAGE_META, {"checkpoint": str(tmp_path / "mine.pt")}, source="torchvision:resnet18")
    assert torch.equal(model.net.layer1[0].conv1.weight, mine.layer1[0].conv1.weight)
    assert model.net.fc.weight.shape == (3, 512)
    same_classes = {**IMAGE_META, "num_classes": 10}
    model = build_model("r18", same_classes, {"checkpoint": str(tmp_path / "mine.pt")}, source="torchvision:resnet18")
    assert torch.equal(model.net.fc.weight, mine.fc.weight)
    torch.save(torchvision.models.resnet34().state_dict(), tmp_path / "other.pt")
    with pytest.raises(ValueError, match=f"{tmp_path / 'other.pt'}: its weights do not fit torchvision:resnet18: 0 "
                                         "missing .*, [1-9][0-9]* unexpected"):
        build_model("r18", IMAGE_META, {"checkpoint": str(tmp_path / "other.pt")}, source="torchvision:resnet18")
    with pytest.raises(FileNotFoundError, match="checkpoint of torchvision:resnet18 not found"):
        build_model("r18", IMAGE_META, {"checkpoint": str(tmp_path / "none.pt")}, source="torchvision:resnet18")


# --- hf: and python: sources ----------------------------------------------------------------------


def test_a_local_hf_encoder_masks_and_deletes_tokens(tmp_path):
    directory = tiny_bert(tmp_path / "tiny-bert")
    model = build_model("sentiment", TEXT_META, source=f"hf:{directory}")
    assert isinstance(model, HFTextClassifier) and model.removal_modes == catalogue.TEXT_REMOVAL_MODES
    ids = token_ids(3)
    keep = torch.ones(ids.shape)
    keep[:, 2] = 0
    with torch.no_grad():
        masked, deleted = model(ids, keep=keep), model(ids, keep=keep, removal="delete")
        replaced = ids.clone()
        replaced[:, 2] = TEXT_META["mask_id"]
        torch.testing.assert_close(masked, model(replaced), atol=1e-6, rtol=1e-5)
        kept = torch.cat([ids[:1, :2], ids[:1, 3:]], dim=1)
        positions = torch.cat([torch.arange(2), torch.arange(3, ids.shape[1])])[None]
        alone = model.net(input_ids=kept, attention_mask=(kept != 0).long(), position_ids=positions).logits
        torch.testing.assert_close(deleted[:1], alone, atol=1e-5, rtol=1e-5)
    save_checkpoint(model, tmp_path / "ck.pt")
    loaded, _ = load_checkpoint(tmp_path / "ck.pt")  # from the saved config: no folder needed
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids, keep=keep), masked, atol=0, rtol=0)


def test_an_hf_source_that_is_no_encoder_is_refused(tmp_path):
    directory = tiny_bert(tmp_path / "decoder", model_type="gpt2")
    assert "names model type 'gpt2', not a text encoder" in catalogue.source_errors(f"hf:{directory}", {})[0][1]
    with pytest.raises(ValueError, match="not a text encoder"):
        build_model("x", TEXT_META, source=f"hf:{directory}")
    with pytest.raises(FileNotFoundError, match="download rule"):
        build_model("x", TEXT_META, source="hf:someone/not-downloaded", resources=tmp_path)


def test_a_python_builder(tmp_path, monkeypatch):
    (tmp_path / "my_nets.py").write_text(
        "from torch import nn\n"
        "def build(num_classes, width=4):\n"
        "    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),\n"
        "                         nn.Flatten(), nn.Linear(width, num_classes))\n"
        "def not_a_net(num_classes):\n"
        "    return 'a string'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert catalogue.source_errors("python:my_nets:build", {"width": 6}) == []
    torch.manual_seed(0)
    model = build_model("own", IMAGE_META, {"width": 6}, source="python:my_nets:build")
    assert model.net[0].out_channels == 6 and model(images(2)).shape == (2, 3)
    torch.save(model.net.state_dict(), tmp_path / "own.pt")
    torch.manual_seed(1)
    loaded = build_model("own", IMAGE_META, {"width": 6, "checkpoint": str(tmp_path / "own.pt")},
                         source="python:my_nets:build")
    with torch.no_grad():
        torch.testing.assert_close(loaded(images(2)), model(images(2)), atol=0, rtol=0)
    with pytest.raises(TypeError, match="returned a str, not a torch.nn.Module"):
        build_model("own", IMAGE_META, source="python:my_nets:not_a_net")
    with pytest.raises(ValueError, match="has no function 'nope'"):
        build_model("own", IMAGE_META, source="python:my_nets:nope")


# --- the paper models are aliases: the same networks as before ------------------------------------


def test_aliases_are_catalogued_as_their_sources():
    """Their facts are the sources' (their options are fewer: the weights are fixed)."""
    for name, (source, options) in catalogue.MODEL_ALIASES.items():
        alias, generic = catalogue.MODELS[name], catalogue.source_model(source)
        for fact in ("modality", "removal_modes", "removal_option", "smug", "tokenizer", "token_patch"):
            assert getattr(alias, fact) == getattr(generic, fact), (name, fact)
        assert set(alias.options) <= set(generic.options) and catalogue.source_errors(source, options) == [], name


def test_resnet50_alias_is_the_former_builder():
    """The former resnet50 builder: torchvision's resnet50 for the dataset's classes, wrapped."""
    meta = {**IMAGE_META, "image_size": 64, "patch": 16}
    torch.manual_seed(0)
    former = wrap(torchvision.models.resnet50(weights=None, num_classes=3), meta).eval()
    torch.manual_seed(0)
    alias = build_model("resnet50", meta, pretrained=False)
    torch.manual_seed(0)
    generic = build_model("r50", meta, {"weights": "IMAGENET1K_V1"}, source="torchvision:resnet50", pretrained=False)
    for model in (alias, generic):
        assert list(model.state_dict()) == list(former.state_dict())
        with torch.no_grad():
            x = images(2, size=64)
            torch.testing.assert_close(model(x), former(x), atol=0, rtol=0)
            keep = torch.rand(2, 16, generator=torch.Generator().manual_seed(0)).round()
            torch.testing.assert_close(model(x, keep=keep, removal="blur"), former(x, keep=keep, removal="blur"),
                                       atol=0, rtol=0)


def test_vit_b_16_alias_is_the_former_builder():
    meta = {**IMAGE_META, "image_size": 224, "patch": 16}
    torch.manual_seed(0)
    former = wrap(torchvision.models.vit_b_16(weights=None, num_classes=3, image_size=224), meta, ViTClassifier,
                  default_removal="drop").eval()
    torch.manual_seed(0)
    alias = build_model("vit_b_16", meta, {"removal": "drop"}, pretrained=False)
    assert type(alias) is ViTClassifier and alias.default_removal == "drop"
    assert list(alias.state_dict()) == list(former.state_dict())
    randomise_head(former)
    alias.load_state_dict(former.state_dict())
    x = images(1, size=224)
    keep = (torch.rand(1, 196, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    with torch.no_grad():
        torch.testing.assert_close(alias(x, keep=keep), former(x, keep=keep), atol=0, rtol=0)


def test_roberta_alias_is_an_hf_source(tmp_path):
    from transformers import AutoModelForSequenceClassification, RobertaConfig, RobertaForSequenceClassification

    meta = {**TEXT_META, "pad_id": 1, "mask_id": 4, "special_ids": [0, 1, 2, 3, 4], "vocab_size": 60}
    repo = catalogue.MODEL_ALIASES["roberta"][0].removeprefix("hf:")
    directory = hf_dir(repo, tmp_path)
    torch.manual_seed(0)
    RobertaForSequenceClassification(RobertaConfig(
        vocab_size=60, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=40, pad_token_id=1, num_labels=3)).save_pretrained(directory)
    former = HFTextClassifier(AutoModelForSequenceClassification.from_pretrained(
        directory, num_labels=3, local_files_only=True), meta).eval()
    alias = build_model("roberta", meta, resources=tmp_path)
    local = build_model("mine", meta, source=f"hf:{directory}")
    ids = token_ids(3, meta=meta, low=5, high=60)
    ids[:, 0], ids[ids == 102] = 0, 2  # RoBERTa's <s> and </s>
    for model in (alias, local):
        assert list(model.state_dict()) == list(former.state_dict())
        with torch.no_grad():
            torch.testing.assert_close(model(ids), former(ids), atol=0, rtol=0)
