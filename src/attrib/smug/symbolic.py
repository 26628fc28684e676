"""SMUG (Sahoo et al., ICLR 2021): the fewest input windows that keep the first layer's most
important neurons as active as they were, found by a 0/1 linear program.

The input is fixed and only the mask m is unknown, so every first-layer pre-activation is
linear in m: with model-input z (normalised pixels; text: token embeddings) and x′ = m ⊙ z,
neuron n's pre-activation is b_n + Σ_w m_w · c_{n,w}, c_{n,w} being window w's share of the
convolution sum (padding and stride honoured). The ``top_k`` neurons with the highest integrated
gradients of softmax[target] w.r.t. the first layer are chosen; each with a positive
pre-activation a_n must keep b_n + Σ_w m_w c_{n,w} > γ·a_n, and the kept pixels (tokens)
Σ_w area_w m_w are minimised. Two backends solve the same program: ``z3`` (``z3.Optimize``, as
the authors did) and ``milp`` (HiGHS through ``scipy.optimize.milp``; the strict inequality
becomes ≥ with a small margin). ``smug_base`` paints each chosen neuron's score over its
receptive field; ``smug`` keeps that map on the solver's mask.

Text is handled as an image of height 1: a Conv1d over (N, D, L) embeddings is a Conv2d over
(N, D, 1, L), one variable per real token (special tokens and padding stay as they are).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from scipy.optimize import Bounds, LinearConstraint, milp
from torch import nn

from attrib.catalogue import SMUG_BACKENDS, SMUG_DEFAULTS
from attrib.runtime import progress_bar

NEURON_SCORES = ("intgrad", "gradient", "activation")


@dataclass
class FirstLayer:
    """The first layer as one affine 2-D convolution on model-input space (N, C, H, W).

    ``weight``/``bias`` are float64 with batch norm folded in; ``module`` is the network module
    whose output is the pre-activation (hooked to score neurons); ``reference`` runs the real
    modules (in float64 copies) on a model-space input, for checking masks by a forward pass.
    """

    module: nn.Module
    weight: torch.Tensor
    bias: torch.Tensor
    stride: tuple[int, int]
    padding: tuple[int, int]
    reference: Callable[[torch.Tensor], torch.Tensor]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(z.double(), self.weight, self.bias, self.stride, self.padding)

    @property
    def kernel(self) -> tuple[int, int]:
        return tuple(self.weight.shape[-2:])

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        return (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1


def _plain_conv(conv: nn.Module, name: str) -> None:
    if conv.groups != 1 or any(d != 1 for d in conv.dilation) or conv.padding_mode != "zeros":
        raise ValueError(f"SMUG needs a plain first convolution ({name}: no groups, dilation or non-zero padding)")
    if isinstance(conv.padding, str):
        raise ValueError(f"SMUG needs numeric padding on {name}, got {conv.padding!r}")


def _stem(net: nn.Module) -> tuple[nn.Conv2d, nn.BatchNorm2d | None] | None:
    """The first layer where ``net``'s first modules are a Conv2d on RGB, an optional BatchNorm2d
    and a ReLU (ResNets, VGG, DenseNet, RegNet, ...: attrib.catalogue.TORCHVISION_FAMILIES);
    None otherwise. Modules are taken in the order they were created, torchvision's order of use."""
    leaves = [m for m in net.modules() if next(m.children(), None) is None][:3]
    if len(leaves) < 2 or not isinstance(leaves[0], nn.Conv2d) or leaves[0].in_channels != 3:
        return None
    conv, rest = leaves[0], leaves[1:]
    bn = rest.pop(0) if isinstance(rest[0], nn.BatchNorm2d) else None
    return (conv, bn) if rest and isinstance(rest[0], (nn.ReLU, nn.ReLU6)) else None


def first_layer(model) -> FirstLayer:
    """The first layer of a supported CNN: a convolution on the normalised pixels (batch norm
    folded in) followed by a ReLU, and ``TextCNN``'s Conv1d over embeddings."""
    from attrib.models.text import TextCNN

    if isinstance(model, TextCNN):
        conv = model.conv
        _plain_conv(conv, "textcnn conv")
        ref = copy.deepcopy(conv).double()
        weight = conv.weight.detach().double().unsqueeze(2)
        bias = conv.bias.detach().double() if conv.bias is not None else weight.new_zeros(weight.shape[0])
        return FirstLayer(conv, weight, bias, (1, conv.stride[0]), (0, conv.padding[0]),
                          lambda z: ref(z.double().squeeze(2)).unsqueeze(2))
    net = getattr(model, "net", None)
    stem = _stem(net) if isinstance(net, nn.Module) and getattr(model, "modality", None) == "image" else None
    if stem is None:
        raise ValueError(
            f"SMUG needs a CNN whose first layer is a convolution (+ batch norm) followed by a ReLU, or textcnn; "
            f"got {type(model).__name__}{'' if net is None else ' with ' + type(net).__name__}"
        )
    conv, bn = stem
    _plain_conv(conv, "the first convolution")
    weight = conv.weight.detach().double()
    bias = conv.bias.detach().double() if conv.bias is not None else weight.new_zeros(weight.shape[0])
    ref_conv = copy.deepcopy(conv).double()
    if bn is None:
        return FirstLayer(conv, weight, bias, tuple(conv.stride), tuple(conv.padding), lambda z: ref_conv(z.double()))
    if bn.training:
        raise ValueError("SMUG folds batch norm with its running statistics: put the model in eval mode")
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    shift = bn.bias.detach().double() - bn.running_mean.double() * scale
    ref_bn = copy.deepcopy(bn).double()
    return FirstLayer(bn, weight * scale[:, None, None, None], shift + bias * scale, tuple(conv.stride),
                      tuple(conv.padding), lambda z: ref_bn(ref_conv(z.double())))


def model_space(model, x: torch.Tensor) -> torch.Tensor:
    """What the first layer reads, (N, C, H, W): normalised pixels, or (N, D, 1, L) embeddings."""
    if model.modality == "text":
        return model.token_embeddings()(x).detach().transpose(1, 2).unsqueeze(2)
    return model.normalise(x).detach()


def mask_variables(model, x: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Which variable each input position belongs to, and the number of positions per variable.

    Returns ``var_of`` (N, H, W) long, −1 where a position is not masked (text: special tokens
    and padding), and ``area`` (V,). Images: ⌈H/window⌉·⌈W/window⌉ windows, row-major, shared by
    all channels. Text: one variable per position (V = L).
    """
    if model.modality == "text":
        positions = torch.arange(x.shape[1], device=x.device).expand(x.shape[0], -1)
        var_of = torch.where(model.feature_mask(x), positions, -1).unsqueeze(1)
        return var_of, torch.ones(x.shape[1], dtype=torch.long)
    if window < 1:
        raise ValueError(f"SMUG window must be a positive number of pixels, got {window}")
    h, w = x.shape[-2:]
    cols = math.ceil(w / window)
    rows_idx = torch.arange(h, device=x.device) // window
    cols_idx = torch.arange(w, device=x.device) // window
    var_of = (rows_idx[:, None] * cols + cols_idx[None, :]).expand(x.shape[0], -1, -1)
    area = torch.bincount(var_of[0].flatten().cpu(), minlength=math.ceil(h / window) * cols)
    return var_of, area


def neuron_scores(model, layer: FirstLayer, x: torch.Tensor, target: torch.Tensor, *, method: str = "intgrad",
                  n_steps: int = 32, chunk_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, pre-activations), both shaped like the first layer's output.

    ``intgrad``: integrated gradients of softmax[target] w.r.t. the pre-activations h along
    0 → h (the layer output is replaced through a forward hook, captum integrates); through a
    ReLU this equals IG w.r.t. the activations, as ReLU(αh) = α·ReLU(h). ``gradient``: h ⊙ ∂p/∂h
    at h; ``activation``: h itself. (Captured outputs are cloned: ResNet's ReLU works in place.)
    """
    if method not in NEURON_SCORES:
        raise ValueError(f"unknown SMUG neuron score {method!r}; expected one of {NEURON_SCORES}")
    captured = {}
    handle = layer.module.register_forward_hook(lambda m, i, out: captured.update(h=out.detach().clone()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    h = captured["h"]
    if method == "activation":
        return h.clone(), h

    def probability(h_new, inputs, labels):
        # a copy, since the next layer may be an in-place ReLU
        replace = layer.module.register_forward_hook(lambda m, i, out: h_new.clone())
        try:
            return model(inputs).softmax(dim=1).gather(1, labels[:, None]).squeeze(1)
        finally:
            replace.remove()

    if method == "gradient":
        h_var = h.clone().requires_grad_()
        with torch.enable_grad():
            grad = torch.autograd.grad(probability(h_var, x, target).sum(), h_var)[0]
        return (h * grad).detach(), h
    import captum.attr

    ig = captum.attr.IntegratedGradients(probability)
    with torch.enable_grad():
        scores = ig.attribute(h, baselines=torch.zeros_like(h), additional_forward_args=(x, target),
                              n_steps=n_steps, internal_batch_size=chunk_size)
    return scores.detach(), h


@dataclass
class Program:
    """One input's SMUG program over V mask variables:
    minimise Σ area·m subject to offset + coef·m > threshold on the ``constrained`` rows.

    Rows are the chosen neurons (all of them, so the encoding can be checked); ``activation`` is
    each one's pre-activation with nothing masked (offset + Σ coef), ``threshold`` = γ·activation.
    """

    coef: sp.csr_matrix
    offset: np.ndarray
    activation: np.ndarray
    threshold: np.ndarray
    constrained: np.ndarray
    area: np.ndarray
    free: np.ndarray  # bool (V,): variables that exist (text: real tokens)

    def pre_activation(self, mask: np.ndarray) -> np.ndarray:
        """The chosen neurons' pre-activations when the input is masked by ``mask`` (V,)."""
        return self.offset + self.coef @ np.asarray(mask, dtype=np.float64)

    def satisfied(self, mask: np.ndarray) -> bool:
        rows = self.constrained
        return bool(np.all(self.pre_activation(mask)[rows] > self.threshold[rows]))

    def kept(self, mask: np.ndarray) -> float:
        return float(self.area[self.free] @ np.asarray(mask, dtype=np.float64)[self.free])


@dataclass
class Encoding:
    """Programs of a batch plus what the maps need: each chosen neuron's score and the input
    positions of its receptive field (flat index into H·W, −1 outside the input)."""

    programs: list[Program]
    scores: torch.Tensor  # (N, K)
    field_positions: torch.Tensor  # (N, K, kh·kw)
    var_of: torch.Tensor  # (N, H, W)
    chosen: torch.Tensor  # (N, K) flat neuron index into the layer output
    height: int
    width: int


def encode(layer: FirstLayer, z: torch.Tensor, scores: torch.Tensor, var_of: torch.Tensor, area: torch.Tensor, *,
           top_k: int, gamma: float) -> Encoding:
    """The SMUG programs of a batch: contributions c_{n,w} of every window to every chosen
    neuron, gathered from each neuron's receptive field at once (no per-neuron loop)."""
    if not 0 <= gamma < 1:
        raise ValueError(f"SMUG gamma must lie in [0, 1), got {gamma}")
    n, c_in, h, w = z.shape
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    ho, wo = layer.output_size(h, w)
    if scores.reshape(n, -1).shape[1] != layer.weight.shape[0] * ho * wo:
        raise ValueError(f"neuron scores of shape {tuple(scores.shape)} do not match the first layer's output")
    k = min(int(top_k), layer.weight.shape[0] * ho * wo)
    best = scores.reshape(n, -1).double().topk(k, dim=1)
    chosen = best.indices
    channel, location = chosen // (ho * wo), chosen % (ho * wo)
    di = torch.arange(kh, device=z.device).repeat_interleave(kw)
    dj = torch.arange(kw, device=z.device).repeat(kh)
    rows = (location // wo)[..., None] * sh + di  # in padded coordinates, (N, K, kh·kw)
    cols = (location % wo)[..., None] * sw + dj
    padded = F.pad(z.double(), (pw, pw, ph, ph))
    flat = (rows * (w + 2 * pw) + cols).reshape(n, 1, -1).expand(-1, c_in, -1)
    patches = padded.flatten(2).gather(2, flat).view(n, c_in, k, kh * kw)
    weights = layer.weight.flatten(2)[channel].permute(0, 2, 1, 3)  # (N, C_in, K, kh·kw)
    values = (patches * weights).sum(dim=1)  # (N, K, kh·kw): each input position's contribution
    rows, cols = rows - ph, cols - pw
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    positions = torch.where(inside, rows * w + cols, -1)
    var = torch.where(inside, var_of.reshape(n, -1).gather(1, positions.clamp_min(0).view(n, -1)).view_as(rows), -1)
    bias = layer.bias[channel]
    fixed = bias + torch.where(var < 0, values, 0.0).sum(dim=2)  # bias + positions that are not masked
    num_vars = len(area)
    area_np = area.numpy().astype(np.float64)
    programs = []
    for i in range(n):
        used = (var[i] >= 0).cpu().numpy()
        neuron = np.broadcast_to(np.arange(k)[:, None], used.shape)[used]
        coef = sp.csr_matrix((values[i].cpu().numpy()[used], (neuron, var[i].cpu().numpy()[used])),
                             shape=(k, num_vars))  # duplicates (one window, many pixels) are summed
        offset = fixed[i].cpu().numpy()
        activation = offset + np.asarray(coef.sum(axis=1)).ravel()
        free = np.zeros(num_vars, dtype=bool)
        free[np.unique(var_of[i][var_of[i] >= 0].cpu().numpy())] = True
        programs.append(Program(coef, offset, activation, gamma * activation, activation > 0, area_np, free))
    return Encoding(programs, best.values.float(), positions, var_of, chosen, h, w)


@dataclass
class Solution:
    """A mask over the program's variables (non-variables count as kept) and how it was found.

    ``status``: ``optimal`` (proven minimal); ``timeout`` (the best mask found before the time
    limit, checked against the constraints: a valid upper bound, not proven minimal);
    ``fallback`` (no valid mask in time: every window kept, which always satisfies the
    constraints since γ < 1; not a result, and never scored as one).
    """

    mask: np.ndarray
    objective: float
    status: str
    seconds: float

    @property
    def proven(self) -> bool:
        return self.status == "optimal"


def _blocking_rows(previous: list[np.ndarray], free: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Each earlier mask s excluded by Σ_{s_v=1} (1 − m_v) + Σ_{s_v=0} m_v ≥ 1 (free variables)."""
    out = []
    for s in previous:
        coef = np.where(free, np.where(s, -1.0, 1.0), 0.0)
        out.append((coef, 1.0 - float(s[free].sum())))
    return out


def _solve_milp(program: Program, previous, timeout_s: float, margin: float) -> Solution | None:
    rows = program.constrained
    slack = np.minimum(margin, (program.activation[rows] - program.threshold[rows]) / 2)
    constraints = []
    if rows.any():
        lower = program.threshold[rows] - program.offset[rows] + slack
        constraints.append(LinearConstraint(program.coef[rows], lower, np.inf))
    for coef, lower in _blocking_rows(previous, program.free):
        constraints.append(LinearConstraint(coef[None], lower, np.inf))
    cost = np.where(program.free, program.area, 0.0)
    bounds = Bounds(np.zeros(len(cost)), program.free.astype(np.float64))
    started = time.perf_counter()
    result = milp(cost, constraints=constraints, integrality=np.ones(len(cost)), bounds=bounds,
                  options={"time_limit": max(timeout_s, 1e-3), "mip_rel_gap": 0.0})
    seconds = time.perf_counter() - started
    if result.status == 2:  # infeasible: only after blocking every feasible mask
        return None
    if result.status == 0:
        return Solution(np.round(result.x).astype(bool), 0.0, "optimal", seconds)
    if result.x is not None:
        mask = np.round(result.x).astype(bool)
        if program.satisfied(mask):  # an incumbent cut off by the time limit is checked, as z3's
            return Solution(mask, 0.0, "timeout", seconds)
    return Solution(program.free.copy(), 0.0, "fallback", seconds)


def _solve_z3(program: Program, previous, timeout_s: float) -> Solution | None:
    import z3

    started = time.perf_counter()
    free = np.flatnonzero(program.free)
    names = {v: z3.Int(f"m{v}") for v in free}
    opt = z3.Optimize()
    opt.set("timeout", max(1, int(timeout_s * 1000)))  # on the optimizer: a global option does not stop it
    for m in names.values():
        opt.add(m >= 0, m <= 1)
    coef = program.coef.tocsr()
    for r in np.flatnonzero(program.constrained):
        lo, hi = coef.indptr[r], coef.indptr[r + 1]
        terms = [z3.RealVal(float(c)) * z3.ToReal(names[v]) for v, c in zip(coef.indices[lo:hi], coef.data[lo:hi])]
        opt.add(z3.Sum(terms) + z3.RealVal(float(program.offset[r])) > z3.RealVal(float(program.threshold[r])))
    for row, lower in _blocking_rows(previous, program.free):
        opt.add(z3.Sum([int(row[v]) * names[v] for v in free]) >= int(lower))
    opt.minimize(z3.Sum([int(program.area[v]) * names[v] for v in free]))
    outcome = opt.check()
    seconds = time.perf_counter() - started
    if outcome == z3.unsat:  # newer z3 raises when asked for a model after unsat
        return None
    status = "optimal" if outcome == z3.sat else "timeout"
    mask = np.zeros(len(program.free), dtype=bool)
    try:
        model = opt.model()
        values = [model.eval(names[v], model_completion=False) for v in free]
        found = all(z3.is_int_value(value) for value in values)
    except z3.Z3Exception:
        found = False
    if not found:
        return Solution(program.free.copy(), 0.0, "fallback", seconds)
    mask[free] = [value.as_long() == 1 for value in values]
    if status == "timeout" and not program.satisfied(mask):  # an intermediate model that is not a mask
        return Solution(program.free.copy(), 0.0, "fallback", seconds)
    return Solution(mask, 0.0, status, seconds)


def solve(program: Program, backend: str = "milp", *, timeout_s: float = 10.0, num_solutions: int = 1,
          margin: float = 1e-5) -> list[Solution]:
    """Up to ``num_solutions`` distinct masks, best first (each later one excludes the earlier
    ones by a blocking constraint); fewer when no other mask satisfies the constraints.
    ``timeout_s`` bounds each solve; ``margin`` turns the strict > into ≥ for HiGHS."""
    if backend not in SMUG_BACKENDS:
        raise ValueError(f"unknown SMUG backend {backend!r}; expected one of {SMUG_BACKENDS}")
    solutions: list[Solution] = []
    for _ in range(int(num_solutions)):
        previous = [s.mask for s in solutions]
        found = (_solve_milp(program, previous, timeout_s, margin) if backend == "milp"
                 else _solve_z3(program, previous, timeout_s))
        if found is None:
            break
        found.mask = found.mask | ~program.free
        found.objective = program.kept(found.mask)
        solutions.append(found)
        if found.status == "fallback":  # the all-kept mask cannot be improved on without a solver result
            break
    return solutions


def paint(scores: torch.Tensor, positions: torch.Tensor, size: int, combine: str = "max") -> torch.Tensor:
    """(N, size): each neuron's score over its receptive field, the max (or sum) where fields
    overlap; positions −1 (padding) are dropped, uncovered positions are 0."""
    if combine not in ("max", "sum"):
        raise ValueError(f"SMUG combine must be 'max' or 'sum', got {combine!r}")
    n = scores.shape[0]
    index = torch.where(positions >= 0, positions, size).reshape(n, -1)  # slot `size` collects padding
    values = scores[..., None].expand_as(positions).reshape(n, -1).float()
    out = torch.zeros(n, size + 1, dtype=torch.float32, device=scores.device)
    if combine == "sum":
        out.scatter_add_(1, index, values)
    else:
        out.scatter_reduce_(1, index, values, reduce="amax", include_self=False)
    return out[:, :size]


def scale_to_percentile(maps: torch.Tensor, q: float = 0.99) -> torch.Tensor:
    """Per map: divide by its q-quantile (the max where that is not positive), clip to [0, 1]."""
    flat = maps.flatten(1)
    level = flat.quantile(q, dim=1)
    level = torch.where(level > 0, level, flat.amax(dim=1))
    level = torch.where(level > 0, level, torch.ones_like(level))
    return (maps / level.view(-1, *[1] * (maps.dim() - 1))).clamp(0, 1)


@dataclass
class SmugResult:
    """Maps (N, H, W) (text: H = 1), the first solution's mask over input positions, and one
    table row per (input, solution): backend, status, time, kept positions, checks."""

    base: torch.Tensor
    mask: torch.Tensor
    smug: torch.Tensor
    table: pd.DataFrame
    masks: list[list[torch.Tensor]] = field(default_factory=list)  # every solution, per input


def positions_mask(solution_mask: np.ndarray, var_of: torch.Tensor) -> torch.Tensor:
    """A variable mask (V,) as a position mask (H, W); positions that are not variables are kept."""
    values = torch.as_tensor(solution_mask, dtype=torch.float32, device=var_of.device)
    return torch.where(var_of >= 0, values[var_of.clamp_min(0)], 1.0)


ENCODE_OPTIONS = ("window", "top_k", "gamma", "scores", "n_steps")
SOLVE_OPTIONS = ("backend", "timeout_s", "num_solutions", "combine", "margin")


def _with_defaults(options: dict, keys) -> dict:
    """The options named by ``keys``, ``SMUG_DEFAULTS`` where not given; any other name is an error."""
    unknown = set(options) - set(keys)
    if unknown:
        raise TypeError(f"unknown SMUG options {sorted(unknown)}; expected some of {sorted(keys)}")
    return {k: options.get(k, SMUG_DEFAULTS[k]) for k in keys}


def encode_inputs(model, inputs: torch.Tensor, target: torch.Tensor, *, chunk_size: int = 64,
                  **options) -> tuple[Encoding, FirstLayer, torch.Tensor]:
    """Score the first layer's neurons for class ``target`` (N,) and encode each input's program
    (options: ``ENCODE_OPTIONS``); returns the encoding, the layer and the model-space inputs
    (for checking masks)."""
    o = _with_defaults(options, ENCODE_OPTIONS)
    layer = first_layer(model)
    var_of, area = mask_variables(model, inputs, o["window"])
    z = model_space(model, inputs)
    neuron, _ = neuron_scores(model, layer, inputs, target, method=o["scores"], n_steps=o["n_steps"],
                              chunk_size=chunk_size)
    return encode(layer, z, neuron, var_of, area, top_k=o["top_k"], gamma=o["gamma"]), layer, z


def explain(model, inputs: torch.Tensor, target: torch.Tensor, *, chunk_size: int = 64, solve_masks: bool = True,
            progress: bool = True, **options) -> SmugResult:
    """SMUG maps of a batch explaining class ``target`` (N,): score neurons, encode, solve each
    input's program, check every mask by a forward pass of the real first layer, paint.
    ``solve_masks=False`` stops before solving (``smug_base`` alone; the mask keeps everything).
    Options are those of ``SMUG_DEFAULTS``."""
    _with_defaults(options, ENCODE_OPTIONS + SOLVE_OPTIONS)
    enc, layer, z = encode_inputs(model, inputs, target, chunk_size=chunk_size,
                                  **{k: v for k, v in options.items() if k in ENCODE_OPTIONS})
    return explain_encoding(enc, layer, z, solve_masks=solve_masks, progress=progress,
                            **{k: v for k, v in options.items() if k in SOLVE_OPTIONS})


def explain_encoding(enc: Encoding, layer: FirstLayer, z: torch.Tensor, *, solve_masks: bool = True,
                     progress: bool = True, **options) -> SmugResult:
    """Solve encoded programs (:func:`encode_inputs`), check the masks, paint the maps
    (options: ``SOLVE_OPTIONS``)."""
    o = _with_defaults(options, SOLVE_OPTIONS)
    backend = o["backend"]
    base = paint(enc.scores, enc.field_positions, enc.height * enc.width, o["combine"]).view(enc.var_of.shape)
    if not solve_masks:
        return SmugResult(base, torch.ones_like(base), scale_to_percentile(base), pd.DataFrame())
    rows, first_masks, all_masks = [], [], []
    bar = progress_bar(enumerate(enc.programs), total=len(enc.programs), desc=f"SMUG ({backend})", disable=not progress)
    for i, program in bar:
        solutions = solve(program, backend, timeout_s=o["timeout_s"], num_solutions=o["num_solutions"],
                          margin=o["margin"])
        masks = [positions_mask(s.mask, enc.var_of[i]) for s in solutions]
        all_masks.append(masks)
        first_masks.append(masks[0])
        real = layer.reference(z[i:i + 1] * torch.stack(masks)[:, None].to(z))  # (S, C, Ho, Wo)
        real = real.detach().flatten(1)[:, enc.chosen[i]].cpu().numpy()
        for j, (s, pre) in enumerate(zip(solutions, real)):
            c = program.constrained
            rows.append({**solution_record(program, s, backend), "input": i, "solution": j,
                         "satisfied": bool(np.all(pre[c] > program.threshold[c]))})
    mask = torch.stack(first_masks)
    table = pd.DataFrame(rows)
    table = table[["input", "solution", *[c for c in table.columns if c not in ("input", "solution")]]]
    return SmugResult(base, mask, scale_to_percentile(mask * base), table, all_masks)


def solution_record(program: Program, solution: Solution, backend: str) -> dict:
    """One table row: how a mask was found and how much of the input it keeps."""
    total = float(program.area[program.free].sum())
    return {"backend": backend, "status": solution.status, "proven": solution.proven, "seconds": solution.seconds,
            "kept": solution.objective, "total": total, "kept_fraction": solution.objective / max(total, 1.0),
            "variables": int(program.free.sum()), "neurons": len(program.activation),
            "constraints": int(program.constrained.sum())}


def explain_in_chunks(model, inputs: torch.Tensor, target: torch.Tensor, *, chunk_size: int = 64,
                      timing_backends=(), timing_inputs: int = 0, progress: bool = True,
                      **options) -> SmugResult:
    """:func:`explain` over ``chunk_size`` inputs at a time (memory stays bounded), one table
    with global input indices and ``role`` = maps. The first ``timing_inputs`` programs are
    solved again by every other backend in ``timing_backends`` (rows with ``role`` = timing),
    so that the backends' times compare on the same programs."""
    options = _with_defaults(options, ENCODE_OPTIONS + SOLVE_OPTIONS)
    parts, tables = [], []
    for start in range(0, inputs.shape[0], chunk_size):
        stop = min(start + chunk_size, inputs.shape[0])
        enc, layer, z = encode_inputs(model, inputs[start:stop], target[start:stop], chunk_size=chunk_size,
                                      **{k: options[k] for k in ENCODE_OPTIONS})
        part = explain_encoding(enc, layer, z, progress=progress,
                                **{k: options[k] for k in SOLVE_OPTIONS})
        tables.append(part.table.assign(input=part.table["input"] + start, role="maps"))
        for backend in timing_backends:
            if backend == options["backend"]:
                continue  # the maps' own solves are that backend's timing rows
            records = []
            for i, program in enumerate(enc.programs[: max(0, timing_inputs - start)]):
                (solution,) = solve(program, backend, timeout_s=options["timeout_s"], margin=options["margin"])
                records.append({"input": start + i, "solution": 0, **solution_record(program, solution, backend),
                                "satisfied": program.satisfied(solution.mask), "role": "timing"})
            tables.append(pd.DataFrame(records))
        parts.append(part)
    table = pd.concat([t for t in tables if len(t)], ignore_index=True)
    return SmugResult(torch.cat([p.base for p in parts]), torch.cat([p.mask for p in parts]),
                      torch.cat([p.smug for p in parts]), table, [m for p in parts for m in p.masks])
