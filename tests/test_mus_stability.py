"""E1/E3 of MuS: sound integer radii, the box attack and the mask-space explainers, each
against exhaustive enumeration, captum or hand-computed cases."""

import functools
import itertools

import pytest
import torch
from captum.attr import IntegratedGradients

import attrib.mus.smoothing as mus
from attrib.mus.smoothing import certified_flips, SmoothedClassifier, sparsity_search, stability_table, top_fraction_masks, top_k_masks
from attrib.mus.attack import box_attack
from attrib.mus.explain import explain_masks, lime, shap
from test_mus import VectorModel, text_model

CASES = [(8, 8, 1 / 8), (8, 8, 2 / 8), (8, 16, 3 / 16), (7, 16, 5 / 16), (6, 8, 3 / 8), (6, 4, 1.0)]


def subsets(p):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=p)))


def true_radius(smoothed, x, alpha, mu, allowed):
    """The exact stability radius by enumeration: the largest k such that no set of ≤ k allowed
    flips of ``alpha`` changes the voting prediction; inf when no flips do."""
    n, p = alpha.shape
    s = subsets(p)
    size = s.sum(dim=1)
    pred = smoothed(x, alpha, mu).argmax(dim=1)
    flips = s.unsqueeze(0) * allowed.unsqueeze(1)
    ok = flips.sum(dim=2) == size  # only allowed features flipped
    new = (alpha.unsqueeze(1) - flips).abs().reshape(-1, p)
    idx = torch.arange(n).repeat_interleave(len(s))
    changed = smoothed(x, new, None if mu is None else mu[idx], x_index=idx).argmax(1).view(n, -1) != pred[:, None]
    smallest = torch.where(ok & changed, size, torch.inf).min(dim=1).values
    return smallest - 1


def directions(n, p, gen):
    """(name, start α, μ, allowed flips) for incremental/decremental, with and without μ = α."""
    expl = (torch.rand(n, p, generator=gen) < 0.4).float()
    ones = torch.ones(n, p)
    outside = 1 - expl
    return [("inc", expl, None, outside), ("dec", ones, None, outside),
            ("inc_mu", expl, expl, outside), ("dec_mu", ones, expl, outside)]


@functools.cache
def enumerated_case(p, q, lam):
    """Per direction: the smoothed scores of the start points and their exact radii."""
    model = VectorModel(p=p, num_classes=3, seed=p)
    gen = torch.Generator().manual_seed(p)
    x = 2 * torch.randn(24, p, generator=gen)
    smoothed = SmoothedClassifier(model, lam, q=q, seed=5, chunk_size=4096)
    with torch.no_grad():
        return smoothed.lam, [(smoothed(x, alpha, mu), true_radius(smoothed, x, alpha, mu, allowed))
                              for _, alpha, mu, allowed in directions(24, p, gen)]


def violations(flips_fn, p, q, lam):
    """(inputs certified beyond their exact radius, inputs certified ≥ 1) over all directions."""
    lam, cases = enumerated_case(p, q, lam)
    bad = certified = 0
    for scores, exact in cases:
        radius = flips_fn(scores, lam)
        bad += int((radius > exact).sum())
        certified += int((radius >= 1).sum())
    return bad, certified


@pytest.mark.parametrize("p,q,lam", CASES)
def test_certified_flips_sound_by_enumeration(p, q, lam):
    bad, certified = violations(certified_flips, p, q, lam)
    assert bad == 0
    assert certified > 0 or lam == 1.0


def test_planted_wrong_radius_formulas_fail():
    """The enumeration catches a radius twice too large and the floor of g/(2λ) at ties."""
    doubled = sum(violations(lambda s, lam: certified_flips(s, lam / 2), *c)[0] for c in CASES)
    floor = sum(violations(lambda s, lam: torch.floor(mus.certify(s, lam)[2] + 1e-6).long(), *c)[0] for c in CASES)
    assert doubled > 0 and floor > 0


def test_certified_flips_hand_cases():
    # votes 0.5/0.25/0.25 at λ = 1/8: g/(2λ) = 1 toward both; class 0 predicted, runners-up above it may tie
    scores = torch.tensor([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    # [0, 1, 0]: g/(2λ) = 4, but class 0 (lower index) wins a tie after 4 flips, so 3
    assert certified_flips(scores, 1 / 8).tolist() == [1, 0, 3, 0]
    assert (certified_flips(scores, 1 / 8) <= torch.floor(mus.certify(scores, 1 / 8)[2])).all()


@pytest.mark.parametrize("p,q,lam", CASES[1::2])
def test_box_attack_bounds_the_true_radius(p, q, lam):
    model = VectorModel(p=p, num_classes=3, seed=p)
    gen = torch.Generator().manual_seed(p + 1)
    x = 2 * torch.randn(16, p, generator=gen)
    for mode in ("voting", "soft"):
        smoothed = SmoothedClassifier(model, lam, q=q, seed=5, mode=mode, chunk_size=97)
        voting = SmoothedClassifier(model, lam, q=q, seed=5, chunk_size=97)
        for name, alpha, mu, allowed in directions(16, p, gen):
            r_max = box_attack(smoothed, x, alpha, allowed, mu=mu, iterations=30, candidates=8, seed=1,
                               batch_candidates=13)
            if mode == "voting":
                exact = true_radius(smoothed, x, alpha, mu, allowed)
                assert (r_max >= exact).all(), name
                assert (r_max[exact == 0] == 0).all(), name  # the exhaustive radius-1 check
                assert (r_max >= certified_flips(voting(x, alpha, mu), voting.lam)).all()
                assert (r_max == exact).float().mean() > 0.7, name  # it finds most true radii


def test_attack_scorer_matches_full_evaluation():
    from attrib.mus.attack import _Scorer

    model = VectorModel(p=7)
    x = torch.randn(4, 7)
    alpha = (torch.rand(4, 7) < 0.5).float()
    smoothed = SmoothedClassifier(model, 3 / 16, q=16, seed=2, mode="soft")
    scorer = _Scorer(smoothed, x, alpha, None, None)
    owner = torch.tensor([0, 0, 1, 3, 3, 2])
    flips = (torch.rand(6, 7) < 0.3).float()
    want = smoothed(x, (alpha[owner] - flips).abs(), x_index=owner)
    assert torch.allclose(scorer(owner, flips), want, atol=1e-6)


def test_top_k_and_top_fraction_masks():
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.5], [3.0, 2.0, 1.0, 0.0]])
    assert top_k_masks(scores, 2).tolist() == [[0, 1, 1, 0], [1, 1, 0, 0]]
    assert top_k_masks(scores, torch.tensor([1, 3])).tolist() == [[0, 1, 0, 0], [1, 1, 1, 0]]
    features = torch.tensor([[True, True, True, True], [False, True, True, False]])
    # second row: 2 real features, ⌈2 · 3/8⌉ = 1 kept; non-features read as kept
    assert top_fraction_masks(scores, 3 / 8, features).tolist() == [[0, 1, 1, 0], [1, 1, 0, 1]]


def test_stability_table_many_explanations_match_single_calls():
    model = VectorModel(p=6)
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(3))
    alphas = (torch.rand(5, 3, 6, generator=torch.Generator().manual_seed(4)) < 0.5).float()
    table = stability_table(model, x, alphas, 0.25, q=8, seed=0, chunk_size=7)
    for e in range(3):
        single = stability_table(model, x, alphas[:, e], 0.25, q=8, seed=0)
        part = table[table["explanation"] == e].reset_index(drop=True)
        for column in single.columns.drop(["explanation"]):
            assert (part[column] == single[column]).all(), column


def test_sparsity_search_matches_linear_scan():
    model = VectorModel(p=8, seed=3)
    x = 2 * torch.randn(12, 8, generator=torch.Generator().manual_seed(5))
    scores = torch.randn(12, 8, generator=torch.Generator().manual_seed(6))
    smoothed = SmoothedClassifier(model, 1 / 8, q=16, seed=1)
    for with_mu in (False, True):
        k, ok = sparsity_search(smoothed, x, scores, with_mu=with_mu)
        full = smoothed(x)
        for i in range(12):
            good = []
            for kk in range(1, 9):
                a = top_k_masks(scores[i:i + 1], kk)
                if with_mu:
                    dec, inc = smoothed(x[i:i + 1], None, a), smoothed(x[i:i + 1], a, a)
                else:
                    dec, inc = full[i:i + 1], smoothed(x[i:i + 1], a)
                good.append(bool(dec.argmax() == inc.argmax()) and certified_flips(dec, 1 / 8).item() >= 1
                            and certified_flips(inc, 1 / 8).item() >= 1)
            assert ok[i].item() == good[-1]
            if good[-1] and all(good[good.index(True):]):  # monotone: the binary search is exact
                assert k[i].item() == good.index(True) + 1
            if not good[-1]:
                assert k[i].item() == 8


def linear_g(w):
    return lambda alpha, rows: (alpha * w[rows]).sum(dim=1)


def test_vgrad_and_igrad_match_autograd_and_captum():
    model = text_model()
    ids = torch.tensor([[3, 5, 7, 9, 0, 0], [4, 4, 11, 2, 19, 0]])
    target = torch.tensor([0, 2])
    got = explain_masks(model, ids, target, "vgrad", chunk_size=1)
    for i in range(2):
        jac = torch.autograd.functional.jacobian(
            lambda a: model(ids[i:i + 1], keep=a[None]).softmax(1)[0, target[i]], torch.ones(6))
        real = ids[i] != 0
        assert torch.allclose(got[i, real], jac.abs()[real], atol=1e-6)
        assert got[i, ~real].isinf().all()
    ig = IntegratedGradients(lambda a: model(ids.repeat(a.shape[0] // 2, 1), keep=a).softmax(1))
    want = ig.attribute(torch.ones(2, 6), baselines=torch.zeros(2, 6), target=target, n_steps=16,
                        method="riemann_middle").abs()
    got = explain_masks(model, ids, target, "igrad", n_steps=16, chunk_size=5)
    assert torch.allclose(got[ids != 0], want[ids != 0], atol=1e-5)


def test_shap_and_lime_on_a_linear_function():
    w = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    # gradient SHAP of a linear g is w ⊙ E[1 − b]: the sign and order of w where b varies
    got = shap(linear_g(w), 3, 5, "cpu", n_background=50, n_samples=400, seed=1)
    gen = torch.Generator().manual_seed(1)
    background = (torch.rand(50, 5, generator=gen) < 0.5).float()
    background[0] = 1
    pick = background[torch.randint(50, (400,), generator=gen)]
    assert torch.allclose(got, w * (1 - pick).mean(dim=0), atol=1e-5)
    # LIME without ridge recovers a linear function exactly
    got = lime(linear_g(w), 3, 5, "cpu", n_samples=64, ridge=0.0, seed=2)
    assert torch.allclose(got, w.abs(), atol=1e-5)


class RowCounter(VectorModel):
    """Counts the (input, mask) rows the model evaluates."""

    rows = 0

    def forward(self, x, keep=None, removal=None):
        self.rows += x.shape[0]
        return super().forward(x, keep, removal)


def test_mus_lime_draws_the_papers_48_rows_per_input():
    model = RowCounter()
    x = torch.randn(2, 6, generator=torch.Generator().manual_seed(0))
    explain_masks(model, x, torch.tensor([0, 1]), "lime", chunk_size=1000)
    assert model.rows == 2 * 48


def test_the_attack_smooths_with_its_own_q():
    from attrib.mus.experiments import e1_attack_table

    model = VectorModel()
    x = torch.randn(3, 6, generator=torch.Generator().manual_seed(1))
    table = e1_attack_table(model, x, torch.randn(3, 6), 0.5, 0.375, q=4, seed=0, chunk_size=64, modes=["voting"],
                            iterations=1, candidates=2)
    assert (table["q"] == 4).all() and (table["lambda"] == 0.25).all()  # ⌊0.375 · 4⌋ / 4
    assert (table["requested_lambda"] == 0.375).all()
