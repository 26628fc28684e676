"""SMUG: the encoding against the real first layer, both backends against each other and against
brute-force enumeration, timeouts, and the saliency metric / sparsity by hand."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import torchvision

import attrib.smug.symbolic as smug
from attrib.attribution import build_method
from attrib.smug.evaluate import (bounding_boxes, crop_and_resize, gini_index, kept_fraction, kept_tokens,
                                  saliency_metric, saliency_metric_summary, seed_thresholds)
from attrib.models import build_model
from attrib.models.base import ImageClassifier

TEXT_META = {"modality": "text", "num_classes": 3, "pad_id": 0, "mask_id": 4, "special_ids": [0, 1, 2, 4],
             "vocab_size": 50}


def strided_resnet(image_size=32, seed=0):
    """torchvision ResNet-18 (7x7 stride-2 padding-3 stem, as ResNet-50) with random batch-norm
    statistics, so that folding them into the convolution is exercised."""
    torch.manual_seed(seed)
    net = torchvision.models.resnet18(num_classes=3)
    bn = net.bn1
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-0.3, 0.3)
    model = ImageClassifier(net, num_classes=3, image_size=image_size, patch=4)
    model.name = "resnet18"
    return model.eval()


def small_resnet(seed=0, width=4):
    torch.manual_seed(seed)
    meta = {"modality": "image", "num_classes": 3, "image_size": 8, "patch": 4, "mean": [0.5, 0.5, 0.5]}
    model = build_model("resnet", meta, {"width": width})
    model.net.bn1.running_var.uniform_(0.5, 2.0)
    model.net.bn1.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


def textcnn(seed=0):
    torch.manual_seed(seed)
    return build_model("textcnn", TEXT_META, {"dim": 6, "channels": 5, "kernel": 3}).eval()


def token_ids(seed=0, n=3, length=9):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 50, (n, length), generator=g)
    ids[:, 0] = 1
    for i, real in enumerate(range(length - 1, length - 1 - n, -1)):
        ids[i, real] = 2
        ids[i, real + 1:] = 0
    return ids


def encoded(model, x, window=3, top_k=40, gamma=0.5, scores="intgrad"):
    layer = smug.first_layer(model)
    target = model(x).argmax(1)
    neuron, h = smug.neuron_scores(model, layer, x, target, method=scores, n_steps=8)
    var_of, area = smug.mask_variables(model, x, window)
    enc = smug.encode(layer, smug.model_space(model, x), neuron, var_of, area, top_k=top_k, gamma=gamma)
    return layer, enc, h


def real_first_layer_images(model, x, position_mask):
    """The model's own conv1 + bn1 (float32) on the masked normalised input."""
    z = model.normalise(x) * position_mask[:, None]
    with torch.no_grad():
        return model.net.bn1(model.net.conv1(z))


def real_first_layer_text(model, ids, position_mask):
    """The model's own Conv1d on embeddings whose masked token rows are zero."""
    with torch.no_grad():
        embeds = model.embedding(ids) * position_mask[..., None]
        return model.conv(embeds.transpose(1, 2))


# --- the encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [3, 4])
def test_symbolic_pre_activation_equals_real_first_layer_with_stride_and_padding(window):
    model = strided_resnet()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    layer, enc, h = encoded(model, x, window=window, top_k=300)
    assert layer.stride == (2, 2) and layer.padding == (3, 3) and layer.kernel == (7, 7)
    g = torch.Generator().manual_seed(2)
    for i, program in enumerate(enc.programs):
        assert np.allclose(program.activation, h[i].flatten()[enc.chosen[i]].double().numpy(), atol=1e-5)
        for _ in range(4):
            mask = (torch.rand(len(program.area), generator=g) < 0.5).numpy()
            positions = smug.positions_mask(mask, enc.var_of[i])
            real = real_first_layer_images(model, x[i:i + 1], positions[None]).flatten()[enc.chosen[i]]
            assert np.allclose(program.pre_activation(mask), real.double().numpy(), atol=1e-4)


def test_windows_at_the_edge_are_smaller_and_cover_every_pixel():
    x = torch.rand(1, 3, 10, 10)
    var_of, area = smug.mask_variables(strided_resnet(), x, 4)
    assert area.tolist() == [16, 16, 8, 16, 16, 8, 8, 8, 4]
    assert torch.equal(torch.bincount(var_of.flatten()), area)


def test_symbolic_pre_activation_equals_real_conv1d_for_text():
    model, ids = textcnn(), token_ids()
    layer, enc, h = encoded(model, ids, top_k=25)
    feature = model.feature_mask(ids)
    g = torch.Generator().manual_seed(3)
    for i, program in enumerate(enc.programs):
        assert program.free.tolist() == feature[i].tolist()  # one variable per real token
        for _ in range(4):
            mask = (torch.rand(ids.shape[1], generator=g) < 0.5).numpy()
            positions = smug.positions_mask(mask, enc.var_of[i])[0]
            assert positions[~feature[i]].eq(1).all()  # specials and padding are never masked
            real = real_first_layer_text(model, ids[i:i + 1], positions[None]).flatten()[enc.chosen[i]]
            assert np.allclose(program.pre_activation(mask), real.double().numpy(), atol=1e-5)


def test_integrated_gradients_of_neurons_are_complete():
    """IG from h = 0: the scores sum to p(x) − p(first layer output 0), computed independently."""
    model = small_resnet()
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    target = model(x).argmax(1)
    layer = smug.first_layer(model)
    scores, h = smug.neuron_scores(model, layer, x, target, n_steps=64)
    net = model.net
    with torch.no_grad():
        def head(a):
            a = net.layer4(net.layer3(net.layer2(net.layer1(net.maxpool(net.relu(a))))))
            return net.fc(torch.flatten(net.avgpool(a), 1)).softmax(1).gather(1, target[:, None]).squeeze(1)
        want = head(h) - head(torch.zeros_like(h))
    assert torch.allclose(scores.flatten(1).sum(1), want, atol=2e-3)


def test_unsupported_models_are_refused_by_name():
    meta = {"modality": "image", "num_classes": 3, "image_size": 8, "patch": 4}
    with pytest.raises(ValueError, match="first layer is a convolution"):
        smug.first_layer(build_model("vit", meta, {"num_layers": 1, "num_heads": 1, "hidden_dim": 8, "mlp_dim": 8}))


# --- the solvers --------------------------------------------------------------------------------


def brute_force_minimum(program):
    """The least kept area over every 0/1 mask that satisfies the constraints (reference)."""
    free = np.flatnonzero(program.free)
    best = math.inf
    for bits in itertools.product([0, 1], repeat=len(free)):
        mask = ~program.free.copy()
        mask[free] = bits
        if program.satisfied(mask):
            best = min(best, program.kept(mask))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_both_backends_reach_the_brute_force_optimum(seed):
    model = small_resnet(seed)
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
    layer, enc, _ = encoded(model, x, window=3, top_k=60, gamma=0.5)  # 9 windows: 512 masks
    for i, program in enumerate(enc.programs):
        want = brute_force_minimum(program)
        for backend in smug.SMUG_BACKENDS:
            (solution,) = smug.solve(program, backend)
            assert solution.status == "optimal" and solution.proven
            assert solution.objective == want
            positions = smug.positions_mask(solution.mask, enc.var_of[i])
            real = real_first_layer_images(model, x[i:i + 1], positions[None]).flatten()[enc.chosen[i]].double()
            c = program.constrained
            assert (real.numpy()[c] > program.threshold[c]).all()  # checked by a forward pass


def test_backends_agree_on_text_and_on_further_solutions():
    model, ids = textcnn(1), token_ids(1)
    _, enc, _ = encoded(model, ids, top_k=8, gamma=0.3)
    for program in enc.programs:
        by_backend = {b: smug.solve(program, b, num_solutions=3) for b in smug.SMUG_BACKENDS}
        objectives = {b: [s.objective for s in sols] for b, sols in by_backend.items()}
        assert objectives["milp"] == objectives["z3"] and len(objectives["z3"]) == 3
        assert objectives["z3"] == sorted(objectives["z3"])  # each later mask is the next best
        for sols in by_backend.values():
            masks = {tuple(s.mask) for s in sols}
            assert len(masks) == 3 and all(program.satisfied(s.mask) for s in sols)


def test_asking_for_more_masks_than_exist_stops_at_unsat():
    """Two real tokens allow at most four masks; both backends stop there without an error."""
    model = textcnn(2)
    ids = torch.tensor([[1, 7, 9, 2, 0, 0]])
    _, enc, _ = encoded(model, ids, top_k=10, gamma=0.0)
    (program,) = enc.programs
    feasible = sum(program.satisfied(np.array([True, a, b, True, True, True]))
                   for a, b in itertools.product([False, True], repeat=2))
    for backend in smug.SMUG_BACKENDS:
        solutions = smug.solve(program, backend, num_solutions=10)
        assert len(solutions) == feasible
        assert all(s.status == "optimal" for s in solutions)


def test_a_timeout_returns_a_flagged_mask_that_keeps_the_neurons_active():
    model = strided_resnet(64, seed=3)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    _, enc, _ = encoded(model, x, window=2, top_k=3000, gamma=0.3)
    (program,) = enc.programs
    for backend in smug.SMUG_BACKENDS:
        (solution,) = smug.solve(program, backend, timeout_s=0.001)
        assert solution.status in ("timeout", "fallback") and not solution.proven
        assert solution.mask.any() and program.satisfied(solution.mask)  # never a silent all-zero mask
        assert solution.objective == program.kept(solution.mask)


@pytest.mark.parametrize("incumbent, status", [([1.0, 1.0], "timeout"), ([1.0, 0.0], "fallback"),
                                               ([0.0, 0.0], "fallback")])
def test_a_milp_incumbent_cut_off_by_the_time_limit_is_checked(monkeypatch, incumbent, status):
    """One neuron 0 + m_0 + m_1 > 1: only the all-kept mask satisfies it. A time-limited HiGHS
    incumbent that breaks the constraint is no mask: the result is the all-kept fallback."""
    import scipy.sparse as sp
    from types import SimpleNamespace

    program = smug.Program(sp.csr_matrix(np.array([[1.0, 1.0]])), np.zeros(1), np.array([2.0]), np.array([1.0]),
                           np.array([True]), np.ones(2), np.ones(2, dtype=bool))
    monkeypatch.setattr(smug, "milp", lambda *a, **k: SimpleNamespace(status=1, x=np.array(incumbent)))
    (solution,) = smug.solve(program, "milp")
    assert solution.status == status and not solution.proven
    assert program.satisfied(solution.mask) and solution.mask.tolist() == [True, True]


def test_explain_reports_every_input_and_checks_masks_by_forward_pass():
    model = small_resnet()
    x = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    target = model(x).argmax(1)
    result = smug.explain(model, x, target, window=2, top_k=50, gamma=0.5, n_steps=8, progress=False)
    table = result.table
    assert list(table["input"]) == [0, 1, 2] and table["satisfied"].all() and table["proven"].all()
    assert np.allclose(table["kept_fraction"], result.mask.flatten(1).mean(1).numpy())
    assert torch.equal(result.smug == 0, (result.mask * result.base) <= 0)  # zero off the mask
    assert result.smug.max() <= 1 and result.smug.min() >= 0


def test_paint_takes_the_max_or_sum_over_overlapping_fields():
    scores = torch.tensor([[2.0, 5.0]])
    positions = torch.tensor([[[0, 1, -1], [1, 2, 3]]])
    assert paint_list(scores, positions, "max") == [2.0, 5.0, 5.0, 5.0, 0.0]
    assert paint_list(scores, positions, "sum") == [2.0, 7.0, 5.0, 5.0, 0.0]


def paint_list(scores, positions, combine):
    return smug.paint(scores, positions, 5, combine)[0].tolist()


def test_registry_methods_have_the_attribution_shapes():
    model = small_resnet()
    x = torch.rand(2, 3, 8, 8)
    for name in ("smug_base", "smug"):
        result = build_method(name, model, window=2, top_k=20, n_steps=4).attribute(x)
        assert result.map.shape == (2, 3, 8, 8) and result.features.shape == (2, 4)
    text, ids = textcnn(), token_ids()
    result = build_method("smug", text, top_k=10, n_steps=4).attribute(ids)
    assert result.map is None and result.features.shape == ids.shape
    assert (result.features[~text.feature_mask(ids)] == 0).all()


# --- saliency metric and sparsity ---------------------------------------------------------------


class BrightnessModel(torch.nn.Module):
    """Two classes; logit of class 1 = mean of channel 0, of class 0 = 0: p(1) = sigmoid(mean)."""

    modality = "image"

    def forward(self, x):
        mean = x[:, 0].mean(dim=(1, 2))
        return torch.stack([torch.zeros_like(mean), mean], dim=1)


class CountModel(torch.nn.Module):
    """Text: logit of class 1 = number of tokens with id 5; ids 1, 2 are special, 0 padding."""

    modality = "text"
    pad_id = 0

    def feature_mask(self, ids):
        return ids > 2

    def forward(self, ids):
        count = (ids == 5).sum(1).float()
        return torch.stack([torch.zeros_like(count), count], dim=1)


def sig(v):
    return 1 / (1 + math.exp(-v))


class ConstantModel(torch.nn.Module):
    """Two classes with equal logits whatever the input: p = ½, so the score is the area term."""

    modality = "image"

    def forward(self, x):
        return torch.zeros(x.shape[0], 2)


def test_saliency_metric_on_images_by_hand():
    x = torch.zeros(1, 3, 8, 8)
    x[0, 0, 2:5, 3:7] = 0.8  # a bright block; the map's top pixel lies inside it
    maps = torch.zeros(1, 8, 8)
    maps[0, 3, 4] = 1.0
    maps[0, 2:5, 3:7] += 0.2  # above threshold 0.1, below 0.5
    table = saliency_metric(BrightnessModel(), x, maps, 1, protocol="thresholds", thresholds=(0.1, 0.5))
    # t = 0.1: the 3x4 block, area 12/64, its crop is constant 0.8
    # t = 0.5: one pixel, area 1/64 < 0.05 is clamped to 0.05, crop constant 0.8
    want = [math.log(12 / 64) - math.log(sig(0.8)), math.log(0.05) - math.log(sig(0.8))]
    assert np.allclose(table["score"], want, atol=1e-6)
    assert np.allclose(table["area"], [12 / 64, 1 / 64])
    best = saliency_metric_summary(table)
    assert best["best_threshold"].tolist() == pytest.approx([0.6])  # 0.5 × the max 1.2


def test_seed_thresholds_step_through_the_maps_distinct_values():
    maps = torch.zeros(3, 250)
    maps[0] = torch.arange(1, 251) / 250  # 250 values + the prepended 0: n = 251, every round(2.51) = 3rd
    maps[1, :249] = torch.arange(1, 250) / 249  # n = 250, round(2.5) = 2 (halves to even)
    maps[1, 249] = 1.0
    maps[2, :2] = torch.tensor([0.5, 1.0])  # n = 4: every value; the 0 held twice is listed once
    levels, valid = seed_thresholds(maps)
    got = [levels[i][valid[i]].tolist() for i in range(3)]
    assert got[0] == pytest.approx([0.0] + [j / 250 for j in range(3, 251, 3)])
    assert got[1] == pytest.approx([0.0] + [j / 249 for j in range(2, 250, 2)])
    assert got[2] == [0.0, 0.5, 1.0]
    text_levels, text_valid = seed_thresholds(maps[:1], every_value=True)
    assert text_levels[0][text_valid[0]].tolist() == pytest.approx([0.0] + [j / 250 for j in range(1, 251)])


def test_seed_protocol_rescales_each_crop_to_the_pixel_range():
    x = torch.zeros(2, 3, 8, 8)
    x[0, :, 2:4, 3] = 0.2  # a 2x2 block: left column 0.2, right column 0.6, in every channel
    x[0, :, 2:4, 4] = 0.6
    x[1, :, 2:4, 3:5] = 0.6  # the same block, constant
    maps = torch.zeros(2, 8, 8)
    maps[:, 2:4, 3:5] = 1.0  # thresholds 0 and 1; nothing lies above 1, so t = 0 alone is scored
    seed = saliency_metric(BrightnessModel(), x, maps, 1)
    plain = saliency_metric(BrightnessModel(), x, maps, 1, protocol="thresholds", thresholds=(0.0,))
    # the box is the block, area 4/64; bilinear upsampling keeps the mean of [0.2, 0.6]: 0.4;
    # stretched to [0, 1] first, the crop's columns are 0 and 1: mean 0.5
    assert seed["threshold"].tolist()[0] == 0.0 and np.allclose(seed["area"][0], 4 / 64)
    assert np.allclose(seed["score"][0], math.log(4 / 64) - math.log(sig(0.5)), atol=1e-6)
    assert np.allclose(plain["score"][0], math.log(4 / 64) - math.log(sig(0.4)), atol=1e-6)
    # a constant crop cannot be stretched: not scored by the seed protocol, scored as is otherwise
    assert math.isnan(seed["score"][1]) and np.allclose(plain["score"][1], math.log(4 / 64) - math.log(sig(0.6)))
    assert saliency_metric_summary(seed)["score"].isna().tolist() == [False, True]


@pytest.mark.parametrize("protocol", ["seed", "thresholds"])
def test_an_all_zero_map_is_not_scored(protocol):
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    maps = torch.zeros(2, 8, 8)
    maps[1, 0, 0] = 1.0
    table = saliency_metric(ConstantModel(), x, maps, 1, protocol=protocol)
    zero = table[table["input"] == 0]
    assert len(zero) == 1 and zero[["threshold", "area", "prob", "score"]].isna().all(axis=None)
    best = saliency_metric_summary(table)
    assert best["input"].tolist() == [0, 1] and best["score"].isna().tolist() == [True, False]
    assert np.allclose(best["score"][1], math.log(0.05) + math.log(2))  # one pixel, clamped area


def test_the_protocols_disagree_where_fractions_of_the_max_miss_a_small_box():
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    maps = torch.zeros(1, 8, 8)
    maps[0, 3, 3] = 1.0
    maps[0, 0, 0] = maps[0, 7, 7] = 0.95  # above every fraction (≤ 0.9) of the max: the box is the image
    seed = saliency_metric_summary(saliency_metric(ConstantModel(), x, maps, 1))
    fractions = saliency_metric_summary(saliency_metric(ConstantModel(), x, maps, 1, protocol="thresholds"))
    assert np.allclose(fractions["score"], math.log(2)) and np.allclose(fractions["area"], 1.0)
    # the seed also thresholds at the map's own value 0.95: the top pixel alone
    assert np.allclose(seed["best_threshold"], 0.95) and np.allclose(seed["score"], math.log(0.05) + math.log(2))


def test_saliency_metric_on_text_by_hand():
    ids = torch.tensor([[1, 5, 6, 5, 6, 2, 0, 0]])
    maps = torch.tensor([[0.0, 1.0, 0.0, 0.2, 0.1, 0.0, 0.0, 0.0]])
    table = saliency_metric(CountModel(), ids, maps, 1, protocol="thresholds", thresholds=(0.0, 0.5))
    # t = 0: tokens 1, 3, 4 of 4 real ones, two 5s kept; t = 0.5: token 1 alone, one 5
    assert np.allclose(table["area"], [0.75, 0.25])
    assert np.allclose(table["score"], [math.log(0.75) - math.log(sig(2)), math.log(0.25) - math.log(sig(1))])
    # the seed's text thresholds: every distinct value (0, 0.1, 0.2; nothing lies above 1)
    seed = saliency_metric(CountModel(), ids, maps, 1)
    assert np.allclose(seed["threshold"], [0.0, 0.1, 0.2]) and np.allclose(seed["area"], [0.75, 0.5, 0.25])
    assert np.allclose(seed["score"], [math.log(0.75) - math.log(sig(2)), math.log(0.5) - math.log(sig(2)),
                                       math.log(0.25) - math.log(sig(1))])


def test_kept_tokens_deletes_and_repads():
    ids = torch.tensor([[1, 5, 6, 7, 2, 0]])
    keep = torch.tensor([[True, False, True, False, True, False]])
    assert kept_tokens(ids, keep, 0).tolist() == [[1, 6, 2, 0, 0, 0]]


def test_crop_and_resize_equals_interpolate_of_each_crop():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 12, 12, generator=g)
    boxes = torch.tensor([[0, 0, 12, 12], [2, 3, 5, 9], [7, 7, 8, 8], [1, 0, 12, 4]])
    got = crop_and_resize(x, boxes)
    for i, (r0, c0, r1, c1) in enumerate(boxes.tolist()):
        want = F.interpolate(x[i:i + 1, :, r0:r1, c0:c1], size=(12, 12), mode="bilinear", align_corners=False)
        assert torch.allclose(got[i:i + 1], want, atol=1e-5)


def test_bounding_boxes_by_hand():
    sel = torch.zeros(2, 5, 6, dtype=torch.bool)
    sel[0, 1, 2] = sel[0, 3, 4] = True
    assert bounding_boxes(sel).tolist() == [[1, 2, 4, 5], [0, 0, 5, 6]]


def test_sparsity_measures_by_hand():
    maps = torch.tensor([[0.0, 0.0, 0.0, 4.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.01, 0.5, 1.0]])
    assert kept_fraction(maps, 0.05).tolist() == [0.25, 1.0, 0.5]
    gini = gini_index(maps)
    assert np.allclose(gini[:2], [0.75, 0.0])
    valid = torch.tensor([[True, True, False, True]] * 3)
    assert kept_fraction(maps, 0.05, valid).tolist() == pytest.approx([1 / 3, 1.0, 1 / 3])
    assert math.isnan(gini_index(torch.zeros(1, 4))[0].item())


def test_saliency_metric_table_shape_for_a_real_model():
    model = small_resnet()
    x = torch.rand(3, 3, 8, 8)
    table = saliency_metric(model, x, torch.rand(3, 8, 8), protocol="thresholds", thresholds=(0.0, 0.5, 0.9),
                            chunk_size=4)
    assert isinstance(table, pd.DataFrame) and len(table) == 9
    assert (table["prob"] > 0).all() and (table["area"] <= 1).all()
    seed = saliency_metric(model, x, torch.rand(3, 8, 8), chunk_size=5)  # 64 distinct values: every one
    assert len(seed) == 3 * 64 and (seed.groupby("input")["threshold"].min() == 0).all()
    assert (seed["prob"] > 0).all()


def test_explaining_in_chunks_equals_one_batch_and_times_other_backends():
    model = small_resnet()
    x = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(6))
    target = model(x).argmax(1)
    options = dict(window=2, top_k=30, gamma=0.5, n_steps=4, progress=False)
    whole = smug.explain(model, x, target, **options)
    chunked = smug.explain_in_chunks(model, x, target, chunk_size=2, timing_backends=["milp", "z3"],
                                     timing_inputs=3, **options)
    assert torch.allclose(whole.smug, chunked.smug, atol=1e-6) and torch.equal(whole.mask, chunked.mask)
    maps = chunked.table[chunked.table["role"] == "maps"]
    timing = chunked.table[chunked.table["role"] == "timing"]
    assert maps["input"].tolist() == [0, 1, 2, 3, 4] and (maps["backend"] == "milp").all()
    assert timing["input"].tolist() == [0, 1, 2] and (timing["backend"] == "z3").all()
    assert timing["kept"].tolist() == maps["kept"].tolist()[:3]  # same programs, same optimum


def test_magnitude_maps_reads_each_methods_stored_map():
    from attrib.smug.evaluate import magnitude_maps

    image_attr = {"magnitude": torch.arange(2 * 3 * 3).float().view(2, 3, 3), "features": torch.zeros(2, 9)}
    saved = {"base": -torch.ones(3, 3, 3), "smug": torch.full((3, 3, 3), 2.0)}
    maps = magnitude_maps({"intgrad": image_attr}, saved, n=2, text=False)
    assert list(maps) == ["intgrad", "smug_base", "smug"]
    assert maps["intgrad"].shape == (2, 3, 3) and maps["smug_base"].eq(1).all() and maps["smug"].shape == (2, 3, 3)

    text_attr = {"features": torch.tensor([[-1.0, 2.0, 0.0]]), "magnitude": None}
    saved = {"base": torch.ones(1, 1, 3), "smug": torch.zeros(1, 1, 3)}
    maps = magnitude_maps({"saliency": text_attr}, saved, n=1, text=True)
    assert maps["saliency"].tolist() == [[1.0, 2.0, 0.0]] and maps["smug_base"].shape == (1, 3)


def test_example_rows_are_one_row_per_input_method_and_position():
    from attrib.smug.figures import example_rows

    table = example_rows("d", "m", {"smug": torch.tensor([[[0.0, 1.0], [2.0, 3.0]]]), "intgrad": torch.ones(1, 2, 2)})
    assert len(table) == 8 and list(table.columns) == ["dataset", "model", "input", "method", "position", "value"]
    smug_rows = table[table["method"] == "smug"]
    assert smug_rows["position"].tolist() == [0, 1, 2, 3] and smug_rows["value"].tolist() == [0.0, 1.0, 2.0, 3.0]


# --- solver statuses in the tables and figures --------------------------------------------------


def test_failed_solves_are_counted_and_never_scored_as_results():
    from attrib.smug.figures import smug_saliency_figure, smug_status_counts, smug_summary

    solver = pd.DataFrame({"dataset": "d", "model": "m", "backend": "milp", "input": [0, 1, 2, 3, 0],
                           "solution": 0, "role": ["maps"] * 4 + ["timing"],
                           "status": ["optimal", "timeout", "fallback", "optimal", "fallback"]})
    counts = smug_status_counts(solver)
    assert counts[["optimal", "timeout", "fallback"]].values.tolist() == [[2, 1, 1]]  # timing rows apart
    nan = float("nan")
    scores = pd.DataFrame({
        "dataset": "d", "model": "m", "input": [0, 1, 2, 3] * 2,
        "method": ["smug"] * 4 + ["intgrad"] * 4,
        "status": ["optimal", "timeout", "fallback", "optimal"] + [None] * 4,
        "saliency_metric": [1.0, 2.0, nan, 3.0, 4.0, 5.0, 6.0, 8.0],
        "kept_fraction": [0.1, 0.2, nan, 0.3, 0.5, 0.5, 0.5, 0.5],
    })
    summary = smug_summary(scores).set_index("method")
    assert summary.loc["smug", ["inputs", "scored", "median_saliency_metric"]].tolist() == [2, 2, 2.0]
    assert summary.loc["smug (timeout)", "median_saliency_metric"] == 2.0
    assert summary.loc["smug (fallback)", ["inputs", "scored"]].tolist() == [1, 0]
    assert summary.loc["intgrad", "median_saliency_metric"] == 5.5
    assert summary.loc["intgrad", "median_saliency_metric_paired"] == 6.0  # inputs 0 and 3: SMUG optimal
    fig = smug_saliency_figure(scores)
    ax = fig.axes[0]
    assert "1 optimal" not in ax.get_title() and "2 optimal, 1 timeout, 1 fallback" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SMUG", "SMUG (timeout)", "IntGrad"]
