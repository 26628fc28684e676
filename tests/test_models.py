"""Model wrappers: removal semantics, ViT token dropping, registry and checkpoints."""

import copy
import os
import subprocess
import sys

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers / huggingface_hub read it: nothing downloads

import pytest
import torch
from torch import nn
from torchvision.models import VisionTransformer

from attrib.models import (
    MODELS,
    HFTextClassifier,
    ViTClassifier,
    build_model,
    chunked_logits,
    load_checkpoint,
    save_checkpoint,
)
from attrib.catalogue import MODEL_ALIASES
from attrib.models.text import bert_net
from attrib.models.weights import weights_path
from attrib.resources import hf_dir, minilm_dir

ROBERTA_REPO = MODEL_ALIASES["roberta"][0].removeprefix("hf:")

IMAGE_META = {"modality": "image", "num_classes": 10, "image_size": 32, "patch": 4, "mean": [0.3, 0.4, 0.5]}
# MiniLM's tokenizer: [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103
TEXT_META = {
    "modality": "text",
    "num_classes": 3,
    "max_length": 16,
    "pad_id": 0,
    "mask_id": 103,
    "special_ids": [0, 100, 101, 102, 103],
    "vocab_size": 30522,
}


def randomise_head(model):
    """torchvision zero-initialises the ViT head and class token: logits would all be 0."""
    with torch.no_grad():
        nn.init.normal_(model.net.heads.head.weight)
        nn.init.normal_(model.net.heads.head.bias)
        nn.init.normal_(model.net.class_token)
    return model


def images(n, size=32, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def token_ids(n=4, seed=0, meta=TEXT_META, low=1000, high=2000):
    """[CLS] tokens [SEP] [PAD]... with a different length per row."""
    g = torch.Generator().manual_seed(seed)
    length = meta["max_length"]
    ids = torch.randint(low, high, (n, length), generator=g)
    ends = torch.arange(n) % (length - 4) + 4
    pos = torch.arange(length)
    ids[pos.unsqueeze(0) == ends.unsqueeze(1)] = 102
    ids[pos.unsqueeze(0) > ends.unsqueeze(1)] = meta["pad_id"]
    ids[:, 0] = 101
    return ids


@pytest.fixture(scope="module")
def small_vit():
    torch.manual_seed(0)
    return randomise_head(build_model("vit", IMAGE_META))


@pytest.fixture(scope="module")
def small_resnet():
    torch.manual_seed(0)
    return build_model("resnet", IMAGE_META)


@pytest.fixture(scope="module")
def textcnn():
    torch.manual_seed(0)
    return build_model("textcnn", TEXT_META)


@pytest.fixture(scope="module")
def bert():
    torch.manual_seed(0)
    return build_model("bert", TEXT_META)


def vit_reference(model, x, kept):
    """One image at a time through torchvision's own encoder blocks, with only its kept tokens."""
    net = model.net
    out = []
    for image, k in zip(model.normalise(x), kept):
        tokens = net._process_input(image.unsqueeze(0))
        seq = torch.cat([net.class_token, tokens], dim=1) + net.encoder.pos_embedding
        index = torch.cat([torch.zeros(1, dtype=torch.long), torch.nonzero(k).flatten() + 1])
        out.append(net.heads(net.encoder.ln(net.encoder.layers(seq[:, index]))[:, 0]))
    return torch.cat(out)


# --- images -------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["small_resnet", "small_vit"])
def test_image_models_logits_and_keep_ones(request, fixture):
    model = request.getfixturevalue(fixture)
    x = images(5)
    with torch.no_grad():
        plain = model(x)
        assert plain.shape == (5, 10)
        ones = torch.ones(5, model.num_features(x))
        torch.testing.assert_close(model(x, keep=ones), plain)
    assert model.num_features(x) == 64 and model.feature_mask(x).all()


def test_black_removal_equals_zeroed_pixels(small_resnet):
    x = images(3)
    keep = torch.ones(3, 64)
    keep[0, 9] = 0  # row 1, column 1 of the 8 x 8 grid: pixels 4..7 x 4..7
    keep[2, 63] = 0  # bottom-right patch
    by_hand = x.clone()
    by_hand[0, :, 4:8, 4:8] = 0
    by_hand[2, :, 28:32, 28:32] = 0
    with torch.no_grad():
        torch.testing.assert_close(small_resnet(x, keep=keep), small_resnet(by_hand))
        mean_filled = x.clone()
        mean_filled[0, :, 4:8, 4:8] = torch.tensor(IMAGE_META["mean"]).view(3, 1, 1)
        mean_filled[2, :, 28:32, 28:32] = torch.tensor(IMAGE_META["mean"]).view(3, 1, 1)
        torch.testing.assert_close(small_resnet(x, keep=keep, removal="mean"), small_resnet(mean_filled))


def test_vit_drop_nothing_dropped_equals_torchvision(small_vit):
    x = images(4)
    with torch.no_grad():
        reference = small_vit.net(small_vit.normalise(x))
        dropped = small_vit(x, keep=torch.ones(4, 64), removal="drop")
    assert reference.abs().max() > 0.1
    torch.testing.assert_close(dropped, reference, atol=1e-5, rtol=1e-5)


def test_vit_b_16_drop_nothing_dropped_equals_torchvision():
    torch.manual_seed(0)
    meta = {"modality": "image", "num_classes": 7, "image_size": 224, "patch": 16}
    model = randomise_head(build_model("vit_b_16", meta, pretrained=False))
    x = images(2, size=224)
    with torch.no_grad():
        reference = model.net(model.normalise(x))
        dropped = model(x, keep=torch.ones(2, 196), removal="drop")
    torch.testing.assert_close(dropped, reference, atol=1e-5, rtol=1e-5)


def test_vit_batched_drop_equals_per_image(small_vit):
    x = images(4, seed=1)
    g = torch.Generator().manual_seed(3)
    kept = torch.rand(4, 64, generator=g) < torch.tensor([[1.0], [0.5], [0.1], [0.0]])
    assert len(set(kept.sum(1).tolist())) == 4  # different lengths: padding is exercised
    with torch.no_grad():
        batched = small_vit(x, keep=kept.float(), removal="drop")
        reference = vit_reference(small_vit, x, kept)
    torch.testing.assert_close(batched, reference, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(batched[1], small_vit(x[1:2])[0], atol=1e-3)


def test_vit_drop_mixed_kept_sets_in_length_groups_equal_one_image_at_a_time(small_vit):
    n = 40  # enough images for several length groups
    x = images(n, seed=2)
    g = torch.Generator().manual_seed(4)
    kept = torch.rand(n, 64, generator=g) < torch.linspace(0, 1, n).unsqueeze(1)
    kept[3] = False  # only the class token left
    assert len(set(kept.sum(1).tolist())) > 20
    with torch.no_grad():
        batched = small_vit(x, keep=kept.float(), removal="drop")
        one_at_a_time = torch.cat([small_vit(x[i:i + 1], keep=kept[i:i + 1].float(), removal="drop") for i in range(n)])
        reference = vit_reference(small_vit, x, kept)
    torch.testing.assert_close(batched, reference, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(batched, one_at_a_time, atol=1e-5, rtol=1e-5)


def test_vit_b_16_drop_equals_only_the_kept_tokens():
    torch.manual_seed(0)
    meta = {"modality": "image", "num_classes": 7, "image_size": 224, "patch": 16}
    model = randomise_head(build_model("vit_b_16", meta, pretrained=False))
    x = images(2, size=224)
    kept = torch.rand(2, 196, generator=torch.Generator().manual_seed(1)) < torch.tensor([[0.3], [0.8]])
    with torch.no_grad():
        dropped = model(x, keep=kept.float(), removal="drop")
        reference = vit_reference(model, x, kept)
    torch.testing.assert_close(dropped, reference, atol=1e-4, rtol=1e-5)


def test_vit_drop_requires_tokens_as_features():
    vit8 = VisionTransformer(image_size=32, patch_size=8, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=16)
    model = ViTClassifier(vit8, num_classes=1000, image_size=32, patch=4)
    with pytest.raises(ValueError, match="tokens"):
        model(images(1), keep=torch.ones(1, 64), removal="drop")


def test_drop_only_for_vit(small_resnet):
    with pytest.raises(ValueError, match="ViT"):
        small_resnet(images(1), keep=torch.ones(1, 64), removal="drop")


def vit_weighted_reference(model, x, weight):
    """Keep weights in {0, ½, 1} through torchvision's own encoder: a token of weight 1 (and the
    class token) enters the sequence twice, one of weight ½ once, so each receives attention in
    proportion to its weight; copies stay identical layer after layer."""
    net = model.net
    out = []
    for image, w in zip(model.normalise(x), weight):
        tokens = net._process_input(image.unsqueeze(0))
        seq = torch.cat([net.class_token, tokens], dim=1) + net.encoder.pos_embedding
        copies = torch.cat([torch.tensor([2]), (2 * w).round().long()])
        index = torch.repeat_interleave(torch.arange(len(copies)), copies)
        out.append(net.heads(net.encoder.ln(net.encoder.layers(seq[:, index]))[:, 0]))
    return torch.cat(out)


def test_vit_partly_kept_tokens_receive_attention_in_proportion(small_vit):
    x = images(3, seed=4)
    weight = torch.randint(0, 3, (3, 64), generator=torch.Generator().manual_seed(5)).float() / 2
    with torch.no_grad():
        soft = small_vit(x, keep=weight, removal="drop")
        reference = vit_weighted_reference(small_vit, x, weight)
        tiny = small_vit(x, keep=torch.where(weight == 0, 0.0, 1e-30 * weight), removal="drop")
        dropped = small_vit(x, keep=torch.zeros_like(weight), removal="drop")
    torch.testing.assert_close(soft, reference, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tiny, dropped, atol=1e-5, rtol=1e-5)  # α → 0 is dropping


def test_vit_drop_is_differentiable_in_the_mask(small_vit):
    """The MuS explainers take ∂/∂α of the model's default removal: with dropping the gradient at
    α = 1 exists and matches central finite differences (α slightly above 1 is defined too)."""
    model = copy.deepcopy(small_vit).double()
    x = images(2, seed=6).double()
    alpha = torch.ones(2, 64, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x, keep=alpha, removal="drop")[:, 3].sum(), alpha)
    assert grad.abs().sum() > 0
    h = 1e-6
    for i in (0, 27, 63):
        step = torch.zeros(2, 64, dtype=torch.float64)
        step[:, i] = h
        with torch.no_grad():
            up = model(x, keep=1 + step, removal="drop")[:, 3]
            down = model(x, keep=1 - step, removal="drop")[:, 3]
        torch.testing.assert_close(grad[:, i], (up - down) / (2 * h), atol=1e-6, rtol=1e-4)


def test_vit_removal_option_makes_drop_the_default(small_vit, tmp_path):
    assert small_vit.default_removal == "black"
    dropping = build_model("vit", IMAGE_META, {"removal": "drop"})
    dropping.load_state_dict(small_vit.state_dict())
    assert dropping.default_removal == "drop" and dropping.options == {"removal": "drop"}
    x = images(6, seed=2)
    keep = (torch.rand(6, 64, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    with torch.no_grad():
        default = dropping(x, keep=keep)
        torch.testing.assert_close(default, small_vit(x, keep=keep, removal="drop"), atol=0, rtol=0)
        torch.testing.assert_close(default, vit_reference(small_vit, x, keep.bool()), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(dropping(x, keep=keep, removal="black"), small_vit(x, keep=keep), atol=0, rtol=0)
        assert not torch.allclose(default, small_vit(x, keep=keep), atol=1e-3)
        torch.testing.assert_close(dropping(x), small_vit(x), atol=0, rtol=0)
    path = tmp_path / "vit.pt"
    save_checkpoint(dropping, path)
    loaded, _ = load_checkpoint(path)
    assert loaded.default_removal == "drop"
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, keep=keep), default, atol=0, rtol=0)


def test_vit_removal_option_reaches_mus(small_vit):
    """Certificates and mask explanations without an explicit removal use the model's default."""
    from attrib.mus.smoothing import certified_accuracy_table
    from attrib.mus.explain import explain_masks

    dropping = build_model("vit", IMAGE_META, {"removal": "drop"})
    dropping.load_state_dict(small_vit.state_dict())
    x, y, target = images(4, seed=3), torch.arange(4), torch.zeros(4, dtype=torch.long)
    by_option = certified_accuracy_table(dropping, x, y, lam=0.25, q=8)
    explicit = certified_accuracy_table(small_vit, x, y, lam=0.25, q=8, removal="drop")
    black = certified_accuracy_table(small_vit, x, y, lam=0.25, q=8)
    assert by_option.equals(explicit) and not by_option.equals(black)
    for method in ("vgrad", "lime"):
        scores = explain_masks(dropping, x, target, method, n_samples=16) if method == "lime" else \
            explain_masks(dropping, x, target, method)
        torch.testing.assert_close(scores, explain_masks(small_vit, x, target, method, removal="drop",
                                                         **({"n_samples": 16} if method == "lime" else {})))
        assert scores.abs().sum() > 0


def test_vit_removal_option_is_validated():
    with pytest.raises(ValueError, match="model 'vit' option removal: unknown removal mode 'dorp'"):
        build_model("vit", IMAGE_META, {"removal": "dorp"})
    with pytest.raises(ValueError, match="no option"):
        build_model("resnet", IMAGE_META, {"removal": "drop"})
    meta = {"modality": "image", "num_classes": 7, "image_size": 224, "patch": 16}
    assert build_model("vit_b_16", meta, {"removal": "drop"}, pretrained=False).default_removal == "drop"
    with pytest.raises(ValueError, match="torchvision:vit_b_16: options.removal: expected one of .*, got 'zero'"):
        build_model("vit_b_16", meta, {"removal": "zero"}, pretrained=False)


def test_chunked_logits_matches_full_batch(small_vit):
    x = images(7)
    keep = (torch.rand(7, 64, generator=torch.Generator().manual_seed(0)) > 0.3).float()
    with torch.no_grad():
        full = small_vit(x, keep=keep, removal="drop")
    chunked = chunked_logits(small_vit, x, keep=keep, removal="drop", chunk_size=3)
    assert not chunked.requires_grad
    torch.testing.assert_close(chunked, full, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="rows"):
        chunked_logits(small_vit, x, keep=keep[:3])


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["textcnn", "bert"])
def test_text_models_mask_token_semantics(request, fixture):
    model = request.getfixturevalue(fixture)
    ids = token_ids(4)
    features = model.feature_mask(ids)
    specials = torch.isin(ids, torch.tensor(TEXT_META["special_ids"]))
    assert torch.equal(features, ~specials)
    with torch.no_grad():
        plain = model(ids)
        assert plain.shape == (4, 3)
        torch.testing.assert_close(model(ids, keep=torch.ones(ids.shape, dtype=torch.float)), plain, atol=0, rtol=0)

        keep = torch.ones(ids.shape)
        keep[:, 2] = 0  # position 2 is a real token in every row
        replaced = ids.clone()
        replaced[:, 2] = TEXT_META["mask_id"]
        torch.testing.assert_close(model(ids, keep=keep), model(replaced), atol=1e-6, rtol=1e-5)

        # specials and pads are never masked: keep = 0 there changes nothing
        torch.testing.assert_close(model(ids, keep=(~specials).float()), plain, atol=0, rtol=0)
        all_masked = torch.where(features, TEXT_META["mask_id"], ids)
        torch.testing.assert_close(model(ids, keep=torch.zeros(ids.shape)), model(all_masked), atol=1e-6, rtol=1e-5)


def kept_tokens_by_hand(net, ids, kept, pad_id):
    """Reference for ``delete``: each input rebuilt as the sequence of only its kept tokens (and
    its specials), at their original position ids, through the plain input_ids path."""
    out = []
    for row, keep_row in zip(ids, kept):
        index = torch.nonzero(keep_row & (row != pad_id)).flatten()
        out.append(net(input_ids=row[index][None], position_ids=index[None]).logits)
    return torch.cat(out)


def test_bert_delete_equals_the_sequence_of_kept_tokens(bert):
    ids = token_ids(5, seed=3)
    features = bert.feature_mask(ids)
    with torch.no_grad():
        plain = bert(ids)
        torch.testing.assert_close(bert(ids, keep=torch.ones(ids.shape), removal="delete"), plain, atol=1e-6, rtol=1e-5)
        # a different kept set per row, some rows with everything deleted
        g = torch.Generator().manual_seed(0)
        keep = (torch.rand(ids.shape, generator=g) < torch.tensor([[0.0], [0.3], [0.6], [0.9], [0.5]])).float()
        batched = bert(ids, keep=keep, removal="delete")
        kept = (keep >= 0.5) | ~features
        by_hand = kept_tokens_by_hand(transformers_bert(bert), ids, kept, TEXT_META["pad_id"])
        one_at_a_time = torch.cat([bert(ids[i:i + 1], keep=keep[i:i + 1], removal="delete") for i in range(5)])
    torch.testing.assert_close(batched, by_hand, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(batched, one_at_a_time, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(batched[2], plain[2], atol=1e-4)
    # deleting is not replacing by [MASK]
    assert not torch.allclose(batched[1:4], bert(ids, keep=keep)[1:4], atol=1e-4)


def test_delete_needs_an_attention_model(textcnn):
    from attrib.catalogue import MODELS as FACTS

    def supports_removal(name, removal):
        return removal in FACTS[name].removal_modes

    ids = token_ids(2)
    with pytest.raises(ValueError, match="'delete' is not a text mode of TextCNN"):
        textcnn(ids, keep=torch.ones(ids.shape), removal="delete")
    assert supports_removal("bert", "delete") and supports_removal("roberta", "delete")
    assert not supports_removal("textcnn", "delete") and not supports_removal("resnet", "delete")


def transformers_bert(model):
    """transformers' own BertForSequenceClassification with ``model``'s weights: the reference."""
    from transformers import BertConfig, BertForSequenceClassification

    reference = BertForSequenceClassification(BertConfig.from_pretrained(minilm_dir(), num_labels=model.num_classes))
    reference.load_state_dict(model.net.state_dict())
    return reference.eval()


def test_bert_is_transformers_bert_without_importing_it(bert):
    ids = token_ids(4, seed=1)
    ids[2, 3:] = TEXT_META["pad_id"]
    ids[2, 2] = 102
    reference = transformers_bert(bert)
    with torch.no_grad():
        theirs = reference(input_ids=ids, attention_mask=(ids != 0).long()).logits
        torch.testing.assert_close(bert(ids), theirs, atol=1e-6, rtol=1e-5)
    # training mode: the same dropout sites draw the same masks from the same seed, and the
    # gradients agree too
    model = copy.deepcopy(bert)
    model.train()
    reference.train()
    torch.manual_seed(1)
    ours_out = model(ids)
    torch.manual_seed(1)
    theirs_out = reference(input_ids=ids, attention_mask=(ids != 0).long()).logits
    torch.testing.assert_close(ours_out, theirs_out, atol=1e-6, rtol=1e-5)
    ours_out.sum().backward()
    theirs_out.sum().backward()
    ours = dict(model.net.named_parameters())
    for name, param in reference.named_parameters():
        torch.testing.assert_close(ours[name].grad, param.grad, atol=1e-5, rtol=1e-4, msg=name)
    code = "import sys, attrib.models as m; m.build_model('bert', {}); print('transformers' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code.replace("{}", repr(TEXT_META))], capture_output=True, text=True,
                         check=True)
    assert run.stdout.strip() == "False"


def test_bert_loads_minilm_and_only_bert_weights(tmp_path):
    from safetensors.torch import save_file
    from transformers import BertForSequenceClassification

    # the same seed draws the same new head and leaves the generator where transformers leaves
    # it, so fine-tuning draws the same dropout masks as it would through transformers
    torch.manual_seed(7)
    theirs = BertForSequenceClassification.from_pretrained(minilm_dir(), num_labels=3).state_dict()
    after_theirs = torch.random.get_rng_state()
    torch.manual_seed(7)
    ours = build_model("bert", TEXT_META).net.state_dict()
    assert torch.equal(torch.random.get_rng_state(), after_theirs)
    assert list(ours) == list(theirs)
    for name in ours:
        assert torch.equal(ours[name], theirs[name]), name

    (tmp_path / "config.json").write_text((minilm_dir() / "config.json").read_text())
    save_file({"encoder.layer.0.weird.weight": torch.zeros(2)}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="not a BertModel checkpoint"):
        bert_net(tmp_path, 3, pretrained=True)


def test_roberta_positions_and_missing_snapshot(tmp_path):
    from transformers import RobertaConfig, RobertaForSequenceClassification

    meta = {**TEXT_META, "pad_id": 1, "mask_id": 4, "special_ids": [0, 1, 2, 3, 4], "vocab_size": 60}
    with pytest.raises(FileNotFoundError, match="download rule"):
        build_model("roberta", meta, resources=tmp_path)
    config = RobertaConfig(
        vocab_size=60, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=40, pad_token_id=1, num_labels=3,
    )
    torch.manual_seed(0)
    RobertaForSequenceClassification(config).save_pretrained(hf_dir(ROBERTA_REPO, tmp_path))
    model = build_model("roberta", meta, resources=tmp_path)
    ids = token_ids(3, meta=meta, low=5, high=60)
    ids[:, 0] = 0
    ids[ids == 102] = 2
    ids[2] = torch.roll(ids[2], shifts=int((ids[2] == 1).sum()))  # left padding moves positions
    assert ids[2, 0] == 1
    with torch.no_grad():
        torch.testing.assert_close(
            model(ids), model.net(input_ids=ids, attention_mask=(ids != 1).long()).logits, atol=1e-6, rtol=0
        )


# --- registry and checkpoints -------------------------------------------------------------


def test_registry_errors():
    assert set(MODELS) == {"resnet", "vit", "resnet50", "vit_b_16", "bert", "roberta", "textcnn"}
    with pytest.raises(ValueError, match="known models.*resnet"):
        build_model("alexnet", IMAGE_META)
    with pytest.raises(ValueError, match="image data"):
        build_model("vit", TEXT_META)
    with pytest.raises(ValueError, match="text data"):
        build_model("textcnn", IMAGE_META)
    with pytest.raises(ValueError, match="no option"):
        build_model("resnet", IMAGE_META, {"widht": 16})


def test_text_rejects_image_removal(textcnn):
    ids = token_ids(2)
    with pytest.raises(ValueError, match="text mode"):
        textcnn(ids, keep=torch.ones(ids.shape), removal="black")


@pytest.mark.parametrize("fixture", ["small_resnet", "small_vit", "textcnn", "bert"])
def test_checkpoint_round_trip(request, fixture, tmp_path):
    model = request.getfixturevalue(fixture)
    x = token_ids(3) if model.modality == "text" else images(3)
    keep = torch.rand(x.shape[0], model.num_features(x), generator=torch.Generator().manual_seed(0))
    removal = "drop" if isinstance(model, ViTClassifier) else None
    path = tmp_path / "ck" / "model.pt"
    save_checkpoint(model, path, extra={"epoch": 3, "val_acc": 0.5})
    loaded, extra = load_checkpoint(path)
    assert extra == {"epoch": 3, "val_acc": 0.5} and not loaded.training
    assert type(loaded) is type(model)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=0, rtol=0)
        torch.testing.assert_close(loaded(x, keep=keep, removal=removal), model(x, keep=keep, removal=removal))
    if isinstance(model, HFTextClassifier):
        assert loaded.net.config.num_labels == 3


def test_resnet50_reads_weights_from_resources(tmp_path):
    meta = {"modality": "image", "num_classes": 1000, "image_size": 224, "patch": 28}
    with pytest.raises(FileNotFoundError, match="download rule") as err:
        build_model("resnet50", meta, resources=tmp_path)
    path = weights_path("resnet50", tmp_path)
    assert str(path) in str(err.value)
    assert path == tmp_path / "torch" / "hub" / "checkpoints" / "resnet50-0676ba61.pth"

    torch.manual_seed(1)
    source = build_model("resnet50", meta, pretrained=False)
    path.parent.mkdir(parents=True)
    torch.save(source.net.state_dict(), path)
    torch.manual_seed(2)
    model = build_model("resnet50", meta, resources=tmp_path)
    assert torch.equal(model.net.fc.weight, source.net.fc.weight)
    assert torch.equal(model.net.conv1.weight, source.net.conv1.weight)


def test_small_resnet_and_vit_compute_what_torchvision_computes_with_their_weights():
    """Our small ResNet and ViT against torchvision's (the independent reference): the same state
    dict loads into both, strictly, and the logits agree, in training and eval mode."""
    from torchvision.models.resnet import BasicBlock, ResNet

    meta = {**IMAGE_META, "image_size": 16}
    ours = build_model("resnet", meta, {"width": 8, "layers": [1, 2, 1, 1]}).net
    reference = ResNet(BasicBlock, [1, 2, 1, 1], num_classes=10)
    reference.inplanes = 8  # torchvision's stages are 64..512 wide: the stem, stages and head rebuilt
    reference.conv1 = nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1, bias=False)
    reference.bn1, reference.maxpool = nn.BatchNorm2d(8), nn.Identity()
    for stage, depth in enumerate([1, 2, 1, 1]):
        setattr(reference, f"layer{stage + 1}",
                reference._make_layer(BasicBlock, 8 * 2**stage, depth, stride=1 if stage == 0 else 2))
    reference.fc = nn.Linear(64, 10)
    reference.load_state_dict(ours.state_dict(), strict=True)
    x = images(5, size=16)
    for mode in (True, False):
        ours.train(mode), reference.train(mode)
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-4, atol=1e-5)  # channels-last sums in another order

    vit = randomise_head(build_model("vit", meta, {"num_layers": 2, "num_heads": 2, "hidden_dim": 16, "mlp_dim": 24}))
    reference = VisionTransformer(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=24,
                                  num_classes=10)
    reference.load_state_dict(vit.net.state_dict(), strict=True)
    reference.eval()
    torch.testing.assert_close(vit.net(x), reference(x))
    wrapped = ViTClassifier(reference, num_classes=10, image_size=16, patch=4, dataset_mean=(0.3, 0.4, 0.5))
    keep = (torch.rand(5, 16, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    torch.testing.assert_close(vit(x, keep=keep, removal="drop"), wrapped(x, keep=keep, removal="drop"))


def test_the_small_models_do_not_import_torchvision():
    """torchvision imports torch._dynamo (~2 s per job): the default models must not need it."""
    import subprocess
    import sys

    code = ("import sys; from attrib.models import build_model; from attrib.attribution import build_method; "
            "m = build_model('vit', {'modality': 'image', 'num_classes': 3, 'image_size': 16, 'patch': 4}); "
            "build_model('resnet', {'modality': 'image', 'num_classes': 3, 'image_size': 16, 'patch': 4}); "
            "print(sorted(k for k in sys.modules if k.split('.')[0] in ('torchvision', 'captum', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
