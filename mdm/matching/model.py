"""The Fellegi-Sunter model: m and u probabilities per comparison level, the prior, and how they are estimated.

- u (how often a level occurs between two records that are *not* the same entity) comes from a random sample of
  record pairs, as Splink does; for exact agreement it is computed exactly from value frequencies.
- m (how often a level occurs between two records of the same entity) and the match rate among candidate pairs
  come from expectation-maximisation over the candidate pairs (u kept fixed), run on distinct comparison patterns so
  its cost does not grow with the number of pairs.
- Steward decisions (labelled pairs) enter EM with their posterior fixed at 1 or 0, and labelled distinct pairs
  also refine u.
- The prior is the probability that two *random* records match: the EM match rate among candidates times the share
  of all pairs that are candidates (blocking is assumed to keep nearly all matches).

A level's weight is ``hint * log2(m / u)``; weights never increase from one level to the next (a weaker agreement
is never better evidence than a stronger one), and m and u are kept inside [1e-6, 1 - 1e-6].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .compare import Comparison

EPS = 1e-6
TF_CAP_BITS = 8.0  # a rare value can add at most this much over the average exact-agreement weight


@dataclass
class Model:
    """Estimated m/u per comparison level, the prior and the corpus statistics scoring needs."""

    comparisons: list[str]
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float
    weights_hint: dict[str, float] = field(default_factory=dict)
    token_df: dict[str, dict] = field(default_factory=dict)  # field -> {"n": N, "df": {token: count}}
    value_tf: dict[str, dict] = field(default_factory=dict)  # field -> {"n": N, "freq": {value: count}}
    info: dict = field(default_factory=dict)

    @classmethod
    def default(cls, comparisons: list[Comparison] | object, prior: float = 1e-4) -> Model:
        """The untrained model: each kind's default m and u (usable without any data or labels).

        Accepts a list of comparisons or a :class:`~mdm.matching.spec.MatchSpec`.
        """
        from .compare import comparisons_for

        comps = comparisons if isinstance(comparisons, list) else comparisons_for(comparisons)
        return cls(
            comparisons=[c.name for c in comps],
            m={c.name: list(c.default_m) for c in comps},
            u={c.name: list(c.default_u) for c in comps},
            prior=prior,
            weights_hint={c.name: c.weight for c in comps},
            info={"trained": False},
        )

    # -- weights -----------------------------------------------------------------------------------

    def weight_table(self, comps: list[Comparison]) -> np.ndarray:
        """(n_comparisons, max_levels) Fellegi-Sunter weights in bits; column 0 (missing) is 0."""
        width = max(c.n_levels for c in comps)
        table = np.zeros((len(comps), width), dtype=np.float64)
        for row, comp in enumerate(comps):
            m = np.clip(np.asarray(self.m.get(comp.name, comp.default_m), dtype=np.float64), EPS, 1 - EPS)
            u = np.clip(np.asarray(self.u.get(comp.name, comp.default_u), dtype=np.float64), EPS, 1 - EPS)
            hint = self.weights_hint.get(comp.name, comp.weight)
            w = hint * np.log2(m / u)
            w[0] = 0.0
            for level in range(2, comp.n_levels):
                w[level] = min(w[level], w[level - 1])
            w[comp.agree_levels + 1 :] = np.minimum(w[comp.agree_levels + 1 :], 0.0)
            table[row, : comp.n_levels] = w
        return table

    @property
    def prior_weight(self) -> float:
        p = min(max(self.prior, 1e-15), 1 - 1e-9)
        return math.log2(p / (1 - p))

    # -- persistence -------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "version": 1,
            "comparisons": list(self.comparisons),
            "m": {k: [float(x) for x in v] for k, v in self.m.items()},
            "u": {k: [float(x) for x in v] for k, v in self.u.items()},
            "prior": float(self.prior),
            "weights_hint": {k: float(v) for k, v in self.weights_hint.items()},
            "token_df": self.token_df,
            "value_tf": self.value_tf,
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        try:
            return cls(
                comparisons=list(data["comparisons"]),
                m={k: [float(x) for x in v] for k, v in data["m"].items()},
                u={k: [float(x) for x in v] for k, v in data["u"].items()},
                prior=float(data["prior"]),
                weights_hint={k: float(v) for k, v in data.get("weights_hint", {}).items()},
                token_df=data.get("token_df", {}),
                value_tf=data.get("value_tf", {}),
                info=data.get("info", {}),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a match model: {exc}") from exc


# ------------------------------------------------------------------------------------------------
# Estimation


def estimate_u(comps: list[Comparison], levels: np.ndarray, exact_u: dict[str, float], pseudo: float = 5.0) -> dict:
    """u per level from the levels of random pairs, smoothed toward the defaults; exact levels from frequencies."""
    u: dict[str, list[float]] = {}
    for c, comp in enumerate(comps):
        counts = np.bincount(levels[:, c], minlength=comp.n_levels)[: comp.n_levels].astype(np.float64)
        counts[0] = 0.0
        prior = np.asarray(comp.default_u, dtype=np.float64)
        prior[0] = 0.0
        prior = prior / prior.sum()
        est = (counts + pseudo * prior) / (counts.sum() + pseudo)
        if comp.name in exact_u and exact_u[comp.name] > 0:
            ex = min(max(exact_u[comp.name], EPS), 0.5)
            others = est[2:].sum()
            est[2:] = est[2:] * ((1 - ex) / others if others > 0 else 0)
            est[1] = ex
        est[0] = 0.0
        u[comp.name] = [float(x) for x in np.clip(est, 0, 1)]
    return u


# How much the default m of a kind weighs against the data in EM (share of the expected matches' mass).
# Identifiers, sizes and model numbers carry domain knowledge EM cannot find alone: candidate pairs are mostly
# siblings (same maker, same wording, another size or model), so a free mixture fits "same family" as the match
# class. Two different valid GTINs, or different sizes, are rarely the same product; the priors say so.
PRIOR_STRENGTH = {"identifier": 20.0, "numbers": 5.0, "codes": 2.0}
PRIOR_STRENGTH_OTHER = 0.02
ANCHOR_KINDS = ("identifier", "code", "text", "person_name", "org_name", "date", "address")
MIN_SESSION_PAIRS = 30


def em_sessions(
    comps: list[Comparison],
    levels: np.ndarray,
    u: dict[str, list[float]],
    labelled: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> tuple[dict[str, list[float]], float, int]:
    """EM in sessions anchored on each comparison's exact agreement, as Splink trains (robust to one field's
    agreement dominating the candidates, e.g. most candidate items sharing their manufacturer).

    Session *c* runs EM over the candidate pairs that agree exactly on comparison *c* and estimates m of every
    *other* comparison there (matches are common in such a subset, so the mixture is well posed, and *c* itself
    cannot hijack the match class). Each comparison's m is the average over the sessions that estimated it,
    weighted by their expected number of matches. The match rate among all candidates is then estimated with m
    and u fixed. Falls back to one EM over all pairs when no anchor has enough pairs.
    """
    n_comp = len(comps)
    sums = {c.name: np.zeros(c.n_levels) for c in comps}
    mass = {c.name: 0.0 for c in comps}
    total_iter = 0
    for c, comp in enumerate(comps):
        if comp.kind not in ANCHOR_KINDS:
            continue
        subset = levels[levels[:, c] == 1]
        if len(subset) < MIN_SESSION_PAIRS:
            continue
        others = [k for k in range(n_comp) if k != c]
        sub_comps = [comps[k] for k in others]
        lab_sub = labelled[:, others] if labelled is not None and len(labelled) else None
        m_c, lam_c, it = em(sub_comps, subset[:, others], u, labelled=lab_sub, labels=labels, lam0=0.5)
        total_iter += it
        weight = lam_c * len(subset)
        if weight <= 0:
            continue
        for k in others:
            name = comps[k].name
            sums[name] += weight * np.asarray(m_c[name])
            mass[name] += weight
    if not any(mass.values()):
        return em(comps, levels, u, labelled=labelled, labels=labels)
    m: dict[str, list[float]] = {}
    for comp in comps:
        if mass[comp.name] > 0 and not comp.fixed_m:
            vec = sums[comp.name] / mass[comp.name]
        else:
            vec = np.asarray(comp.default_m, dtype=np.float64)
        vec[0] = 0.0
        vec = vec / max(vec.sum(), EPS)
        m[comp.name] = [float(x) for x in vec]
    lam = match_rate(comps, levels, m, u)
    return m, lam, total_iter


def candidate_u(comps, levels, m, u_random, lam0: float, max_iter: int = 100, pseudo: float = 50.0):
    """u among the *non-matching candidates* and the candidates' match rate, by EM with m fixed.

    Random pairs tell how often two unrelated records agree; the pairs we score are candidates, whose non-matches
    are mostly near relatives (siblings share maker and wording). Scoring candidates with candidate u (and the
    candidates' match rate as prior) keeps a sibling's shared words from counting as evidence. The random-pair u
    enters as a prior (``pseudo`` pairs) so rare levels stay defined.
    """
    if len(levels) == 0:
        return u_random, lam0
    width = max(c.n_levels for c in comps)
    n_comp = len(comps)
    key = np.zeros(len(levels), dtype=np.int64)
    for c in range(n_comp):
        key = key * width + levels[:, c].astype(np.int64)
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    pats = levels[first].astype(np.int64)
    counts = counts.astype(np.float64)
    cols = np.arange(n_comp)
    lm = np.zeros((n_comp, width))
    uu = np.zeros((n_comp, width))
    u0 = np.zeros((n_comp, width))
    for c, comp in enumerate(comps):
        lm[c, : comp.n_levels] = np.log(np.clip(m[comp.name], EPS, 1 - EPS))
        u0[c, : comp.n_levels] = u_random[comp.name]
        uu[c, : comp.n_levels] = u_random[comp.name]
    u0[:, 0] = 0.0
    lam = min(max(lam0, 1e-6), 0.99)
    present = pats > 0
    lm_p = np.where(present, lm[cols, pats], 0.0).sum(1)
    for _ in range(max_iter):
        lu_p = np.where(present, np.log(np.clip(uu, EPS, 1 - EPS))[cols, pats], 0.0).sum(1)
        logit = lm_p - lu_p + math.log(lam / (1 - lam))
        post = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        w = (1 - post) * counts
        new_u = np.zeros((n_comp, width))
        for c in range(n_comp):
            sums = np.bincount(pats[:, c], weights=w, minlength=width)[:width]
            sums[0] = 0.0
            sums = sums + pseudo * u0[c] / max(u0[c].sum(), EPS)
            new_u[c] = sums / max(sums.sum(), EPS)
        new_u = np.clip(new_u, EPS, 1 - EPS)
        new_lam = float(np.clip((post * counts).sum() / counts.sum(), 1e-9, 0.999))
        delta = max(np.abs(new_u - uu).max(), abs(new_lam - lam))
        uu, lam = new_u, new_lam
        if delta < 1e-6:
            break
    return {c.name: [0.0, *[float(x) for x in uu[i, 1 : c.n_levels]]] for i, c in enumerate(comps)}, lam


def match_rate(comps, levels, m, u, max_iter: int = 200) -> float:
    """The share of matches among ``levels`` rows, by EM on the mixture weight alone (m and u fixed)."""
    if len(levels) == 0:
        return 0.0
    # Rows with the same levels have the same posterior: iterate over the distinct patterns, weighted by count.
    width = max(c.n_levels for c in comps)
    key = np.zeros(len(levels), dtype=np.int64)
    for c in range(len(comps)):
        key = key * width + levels[:, c].astype(np.int64)
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    patterns = levels[first]
    share = counts.astype(np.float64) / len(levels)
    llr = np.zeros(len(patterns))
    for c, comp in enumerate(comps):
        mm = np.clip(np.asarray(m[comp.name]), EPS, 1 - EPS)
        uu = np.clip(np.asarray(u[comp.name]), EPS, 1 - EPS)
        w = np.log(mm / uu)
        w[0] = 0.0
        llr += w[patterns[:, c]]
    lam = 0.05
    for _ in range(max_iter):
        logit = llr + math.log(lam / (1 - lam))
        post = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        new = float(np.clip(post @ share, 1e-9, 0.999))
        if abs(new - lam) < 1e-7:
            lam = new
            break
        lam = new
    return lam


def em(
    comps: list[Comparison],
    levels: np.ndarray,
    u: dict[str, list[float]],
    m0: dict[str, list[float]] | None = None,
    labelled: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    max_iter: int = 60,
    tol: float = 1e-5,
    lam0: float = 0.05,
) -> tuple[dict[str, list[float]], float, int]:
    """EM for m and the match rate over candidate pairs' levels, u fixed. Returns (m, match rate, iterations).

    ``labelled``/``labels``: extra pairs' levels with known outcome (True = match); their posterior is fixed.
    """
    n_comp = len(comps)
    width = max(c.n_levels for c in comps)
    if len(levels):
        key = np.zeros(len(levels), dtype=np.int64)
        for c in range(n_comp):
            key = key * width + levels[:, c].astype(np.int64)
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        patterns = levels[first].astype(np.int64)
        counts = counts.astype(np.float64)
    else:
        patterns = np.zeros((0, n_comp), dtype=np.int64)
        counts = np.zeros(0)
    fixed_pat = labelled.astype(np.int64) if labelled is not None and len(labelled) else np.zeros((0, n_comp), np.int64)
    fixed_post = labels.astype(np.float64) if labels is not None and len(labels) else np.zeros(0)

    m = np.zeros((n_comp, width))
    uu = np.zeros((n_comp, width))
    for c, comp in enumerate(comps):
        src = (m0 or {}).get(comp.name, comp.default_m)
        m[c, : comp.n_levels] = src
        uu[c, : comp.n_levels] = u[comp.name]
    m = np.clip(m, EPS, 1 - EPS)
    uu = np.clip(uu, EPS, 1 - EPS)
    lam = lam0
    iterations = 0
    all_pat = np.vstack([patterns, fixed_pat]) if len(fixed_pat) else patterns
    all_cnt = np.concatenate([counts, np.ones(len(fixed_pat))]) if len(fixed_pat) else counts
    if len(all_pat) == 0:
        return {c.name: list(c.default_m) for c in comps}, lam, 0
    cols = np.arange(n_comp)
    for iterations in range(1, max_iter + 1):  # noqa: B007
        lm = np.log(m)[cols, all_pat]
        lu = np.log(uu)[cols, all_pat]
        present = all_pat > 0
        llr = np.where(present, lm - lu, 0.0).sum(1)
        logit = llr + math.log(lam / (1 - lam))
        post = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        if len(fixed_pat):
            post[len(patterns) :] = fixed_post
        w = post * all_cnt
        new_m = np.full((n_comp, width), EPS)
        for c, comp in enumerate(comps):
            col = all_pat[:, c]
            sums = np.bincount(col, weights=w, minlength=width)[:width]
            sums[0] = 0.0
            # MAP estimate: a Dirichlet prior at the kind's default m, its strength a share of the data's mass.
            strength = PRIOR_STRENGTH.get(comp.kind, PRIOR_STRENGTH_OTHER) * sums.sum()
            prior_m = np.zeros(width)
            prior_m[1 : comp.n_levels] = comp.default_m[1:]
            sums = sums + strength * prior_m / max(prior_m.sum(), EPS)
            total = sums.sum()
            if total > 0:
                new_m[c, : comp.n_levels] = sums[: comp.n_levels] / total
            else:
                new_m[c, : comp.n_levels] = m[c, : comp.n_levels]
        for c, comp in enumerate(comps):
            if comp.fixed_m:
                new_m[c] = m[c]
        new_m = np.clip(new_m, EPS, 1 - EPS)
        new_lam = float(np.clip((post[: len(patterns)] * counts).sum() / max(counts.sum(), 1), 1e-9, 0.999))
        delta = np.abs(new_m - m).max()
        m, lam = new_m, new_lam
        if delta < tol:
            break
    return {c.name: [float(x) for x in m[i, : c.n_levels]] for i, c in enumerate(comps)}, lam, iterations
