"""E1 empirical: the box attack, an upper bound on the true stability radius of each input.

It searches for a counterexample, a set of allowed feature flips that changes the smoothed
prediction; one found at distance d proves the true radius is at most d − 1 (``r_max``).
Candidates of all inputs are evaluated together in shared batches, and only the masks that a
flip touches are recomputed: flipping feature i changes α̃_j = clamp(μ + α ⊙ s_j) only where
s_{j,i} = 1 (λq of the q masks), so the other masks keep their votes from the start point.
"""

from __future__ import annotations

import torch

from attrib.mus.smoothing import SmoothedClassifier
from attrib.seeding import sample_generator, sample_indices


class _Scorer:
    """Smoothed scores of flipped explanations, recomputing only the touched masks."""

    def __init__(self, smoothed: SmoothedClassifier, x, alpha, mu, x_index):
        self.smoothed, self.x = smoothed, x
        self.x_index, self.alpha, self.mu = smoothed.prepare(x, alpha, mu, x_index)
        self.s = smoothed.masks(self.alpha.shape[1]).to(x.device)
        q = self.s.shape[0]
        n = len(self.x_index)
        row = torch.arange(n, device=x.device).repeat_interleave(q)
        j = torch.arange(q, device=x.device).repeat(n)
        self.per_mask = smoothed.pair_scores(x, self.x_index, self.alpha, self.mu, row, j).view(n, q, -1)
        self.scores = self.per_mask.mean(dim=1)

    def __call__(self, owner, flips):
        """Scores (K, C) of the start points of ``owner`` with ``flips`` (K, p) toggled."""
        alpha = (self.alpha[owner] - flips).abs()
        touched = (flips @ self.s.T) > 0  # (K, q)
        cand, j = touched.nonzero(as_tuple=True)
        new = self.smoothed.pair_scores(self.x, self.x_index[owner], alpha, self.mu[owner], cand, j)
        delta = (new - self.per_mask[owner[cand], j]) / self.s.shape[0]
        return self.scores[owner].index_add(0, cand, delta)


def _cross_entropy(scores, label):
    return -torch.log(scores.gather(1, label[:, None]).squeeze(1).clamp_min(1e-12))


@torch.no_grad()
def box_attack(smoothed: SmoothedClassifier, x, alpha, allowed, *, mu=None, x_index=None, iterations=50,
               candidates=24, seed=0, batch_candidates=4096, index=None):
    """r_max (N,) for flips of the ``allowed`` features of the start explanations ``alpha``.

    Incremental stability: ``alpha`` = the explanation, ``allowed`` = features outside it;
    decremental: ``alpha`` = ones, ``allowed`` = features outside the explanation. Steps (spec):
    every single flip exhaustively; then ``iterations`` rounds of ``candidates`` random sets of
    up to max(r_max // 5, 3) flips around a current point per input; a counterexample at
    distance d sets r_max = d − 1, otherwise the point moves to the candidate of highest
    cross-entropy of the original prediction if that improves it, else restarts at the start.
    Each start point draws its candidates from its own generator, keyed by (``seed``, ``index``
    of the point: its evaluation-set sample, default 0..N−1), so a shard of the samples finds
    what the whole set would. Returns float r_max (N,), inf where no counterexample was found.
    """
    allowed = allowed.bool().to(x.device)
    scorer = _Scorer(smoothed, x, alpha, mu, x_index)
    n, p = allowed.shape
    pred = scorer.scores.argmax(dim=1)
    r_max = allowed.sum(dim=1)
    generators = [sample_generator(seed, "box_attack", i) for i in sample_indices(n, index)]

    def evaluate(owner, flips):
        out = [scorer(owner[a:a + batch_candidates], flips[a:a + batch_candidates])
               for a in range(0, len(owner), batch_candidates)]
        return torch.cat(out) if out else scorer.scores.new_zeros(0, scorer.scores.shape[1])

    owner, feature = allowed.nonzero(as_tuple=True)
    flips = torch.zeros(len(owner), p, device=x.device).index_put_((torch.arange(len(owner), device=x.device), feature),
                                                                    torch.tensor(1.0, device=x.device))
    changed = evaluate(owner, flips).argmax(dim=1) != pred[owner]
    r_max[owner[changed]] = 0
    refuted = r_max == 0

    point = torch.zeros(n, p, device=x.device)
    loss = _cross_entropy(scorer.scores, pred)
    for _ in range(iterations):
        active = (r_max >= 2).nonzero().squeeze(1)
        if len(active) == 0:
            break
        owner = active.repeat_interleave(candidates)
        most = torch.clamp(torch.maximum(r_max[owner] // 5, torch.full_like(owner, 3)), max=r_max[owner])
        draws = [(torch.rand(candidates, generator=generators[i]), torch.rand(candidates, p, generator=generators[i]))
                 for i in active.tolist()]
        size = (torch.cat([u for u, _ in draws]).to(x.device) * most).long() + 1
        keys = torch.where(allowed[owner], torch.cat([k for _, k in draws]).to(x.device), 2.0)
        rank = keys.argsort(dim=1).argsort(dim=1)
        step = (rank < size[:, None]).float()
        cand = (point[owner] - step).abs()
        distance = cand.sum(dim=1).long()
        valid = (distance >= 1) & (distance <= r_max[owner])
        scores = torch.zeros(len(owner), scorer.scores.shape[1], device=x.device)
        scores[valid] = evaluate(owner[valid], cand[valid])
        hit = valid & (scores.argmax(dim=1) != pred[owner])
        found = torch.full((n,), p + 1, dtype=torch.long, device=x.device)
        found = found.scatter_reduce(0, owner[hit], distance[hit], reduce="amin")
        r_max = torch.minimum(r_max, found - 1)
        refuted |= found <= p
        cand_loss = torch.where(valid & ~hit, _cross_entropy(scores, pred[owner]), -torch.inf).view(-1, candidates)
        best_loss, best = cand_loss.max(dim=1)
        better = best_loss > loss[active]
        best_point = cand.view(-1, candidates, p)[torch.arange(len(active)), best]
        point[active] = torch.where(better[:, None], best_point, torch.zeros_like(best_point))
        loss[active] = torch.where(better, best_loss, _cross_entropy(scorer.scores[active], pred[active]))
        beyond = point.sum(dim=1) > r_max  # beyond the new bound: restart
        point[beyond] = 0
        loss[beyond] = _cross_entropy(scorer.scores[beyond], pred[beyond])
    return torch.where(refuted, r_max.float(), torch.inf)
