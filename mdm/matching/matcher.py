"""The matcher: prepare, block, fit, score, explain, decide, cluster -- batch and online."""

from __future__ import annotations

import contextlib
import gc
import math
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .abbreviations import AbbreviationTable
from .blocking import BlockingConfig, candidate_pairs, keys_of_row
from .cluster import cluster, id_sort_key
from .compare import Comparison, Context, TokenWeights, all_levels, comparisons_for, token_df, value_frequencies
from .model import TF_CAP_BITS, Model, candidate_u, em_sessions, estimate_u
from .prepared import Prepared, Vocabulary, default_workers, prepare_records
from .spec import MatchSpec
from .standardize import Standardizer

U_SAMPLE_PAIRS = 100_000
MODEL_TOKEN_LIMIT = 100_000
SEED = 20240917


# Fewer records than this say nothing about which tokens and values are common (see Matcher._context).
MIN_STATS_RECORDS = 500


@dataclass
class Scores:
    """Per pair: ``match_weight`` (log2 odds), ``probability`` and ``levels`` (uint8, one column per comparison)."""

    match_weight: np.ndarray
    probability: np.ndarray
    levels: np.ndarray
    comparisons: list[str]


@dataclass
class Explanation:
    """Why a pair scored as it did: each comparison's level, label, values and weight (bits)."""

    probability: float
    match_weight: float
    prior_weight: float
    band: str
    fields: list[dict]
    decision: str | None = None

    def to_dict(self) -> dict:
        return {
            "probability": self.probability,
            "match_weight": self.match_weight,
            "prior_weight": self.prior_weight,
            "band": self.band,
            "fields": [dict(f) for f in self.fields],
            "decision": self.decision,
        }


@dataclass(frozen=True)
class PairResult:
    left_id: str
    right_id: str
    probability: float
    match_weight: float
    band: str


@dataclass
class DedupeResult:
    pairs: list[PairResult]
    clusters: dict[str, str]
    model: Model
    stats: dict = field(default_factory=dict)
    candidates: tuple | None = None
    """``(left ids, right ids, pairs)``: every pair blocking put in front of the scorer (rows of the id lists)."""


@dataclass
class LinkResult:
    pairs: list[PairResult]
    model: Model
    stats: dict = field(default_factory=dict)
    candidates: tuple | None = None


def _probability(mw: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(mw, -1000, 1000)))


def _decision_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


class Matcher:
    """Entity matching over records described by a :class:`MatchSpec`.

    ``model``: a trained :class:`Model` to score with; without one, ``dedupe``/``link`` fit one on their input and
    ``score``/``match_one`` use :meth:`Model.default`. ``workers``: processes for standardization and threads for
    string comparison (default: the CPUs this process may use). ``verbose``: progress and timings on stderr.
    """

    def __init__(
        self,
        spec: MatchSpec,
        model: Model | None = None,
        *,
        workers: int | None = None,
        blocking: BlockingConfig | None = None,
        verbose: bool = False,
    ):
        self.spec = spec
        self.model = model
        self.comparisons: list[Comparison] = comparisons_for(spec)
        self.workers = workers or default_workers()
        self.blocking = blocking or BlockingConfig()
        self.verbose = verbose
        self.vocab = Vocabulary()
        self.standardizer = Standardizer(AbbreviationTable.load(spec.abbreviations))
        self._default_model: Model | None = None

    # -- logging -------------------------------------------------------------------------------

    def _log(self, message: str, started: float | None = None):
        if self.verbose:
            suffix = f" ({time.perf_counter() - started:.2f}s)" if started is not None else ""
            print(f"[match] {message}{suffix}", file=sys.stderr, flush=True)

    # -- preparation and blocking ----------------------------------------------------------------

    def prepare(self, records: Iterable[dict]) -> Prepared:
        """Standardize all fields of ``records`` into columns (``.ids``, ``len()``)."""
        return prepare_records(self.spec, self.standardizer, self.vocab, records, workers=self.workers)

    def record_keys(self, record: dict) -> list[str]:
        """Every blocking key of one raw record (sorted), as :meth:`candidates` derives them.

        :meth:`candidates` joins on the same keys, skipping keys held by more than ``blocking.cap`` records and
        joining each record only on its rarest shared ``tok:`` keys; an online lookup should do the same (ignore
        keys held by too many records, rank candidates by shared keys).
        """
        rec = dict(record)
        if not str(rec.get(self.spec.id_field) or "").strip():
            rec[self.spec.id_field] = "__query__"
        prep = self.prepare([rec])
        return keys_of_row(prep, 0)

    def candidates(self, prepared: Prepared) -> np.ndarray:
        """Candidate pairs (i, j), i < j, sorted and distinct, for deduplicating ``prepared``."""
        return candidate_pairs([prepared], self.blocking, link=False)

    def candidates_link(self, left: Prepared, right: Prepared) -> np.ndarray:
        """Candidate pairs (left row, right row), sorted and distinct."""
        return candidate_pairs([left, right], self.blocking, link=True)

    # -- statistics ------------------------------------------------------------------------------

    def _text_fields(self) -> list[str]:
        return [f.name for f in self.spec.fields if f.kind in ("text", "org_name", "address")]

    def _tf_fields(self) -> list[str]:
        return [c.field for c in self.comparisons if c.tf]

    def _context(self, left: Prepared, right: Prepared, model: Model) -> Context:
        if right.vocab is not left.vocab:
            raise ValueError("both sides must be prepared by the same matcher")
        vocab = left.vocab
        preps = [left] if left is right else [left, right]
        idf: dict[str, np.ndarray] = {}
        size = len(vocab.tokens)
        # Token and value frequencies come from the model (the master it was trained on) or, failing that, from
        # the records at hand -- unless those are too few to say what is common (one record against its online
        # candidates): then every token weighs the same and exact agreement gets no rarity adjustment.
        enough = sum(len(p) for p in preps) >= MIN_STATS_RECORDS
        # Arrays derived from a model's stored counts only grow with the vocabulary: cached on the model and
        # extended, so an online call costs nothing per token or value the process has seen before.
        for name in self._text_fields():
            stored = model.token_df.get(name)
            if stored:
                df = self._model_array(model, vocab, name, "df", stored["df"], vocab.tokens)
                n_docs = stored["n"]
                idf[name] = self._derived(
                    model, vocab, name, "idf", size, lambda a, b, df=df, n=n_docs: TokenWeights(n, df[a:b]).idf(b - a)
                )
            elif enough:
                n_docs, df = token_df(preps, name, size)
                idf[name] = TokenWeights(n_docs, df).idf(size)
            else:
                idf[name] = self._derived(
                    model, vocab, name, "idf-flat", size, lambda a, b: TokenWeights(2, np.ones(b - a)).idf(b - a)
                )
        tf: dict[str, np.ndarray] = {}
        for name in self._tf_fields():
            interner = vocab.field(name)
            stored = model.value_tf.get(name)
            if stored:
                counts = self._model_array(model, vocab, name, "tf", stored["freq"], interner)
                total = max(stored["n"], 1)
                tf[name] = self._derived(
                    model,
                    vocab,
                    name,
                    "tf-freq",
                    len(interner),
                    lambda a, b, c=counts, t=total: np.maximum(c[a:b], 1.0) / t,
                )
            elif enough:
                tf[name] = value_frequencies(preps, name, len(interner))
        return Context(left, right, idf, tf)

    def _derived(self, model: Model, vocab, name: str, what: str, size: int, compute) -> np.ndarray:
        """An elementwise array over ids ``0..size`` (``compute(start, stop)`` gives a slice), cached on the model
        and extended as the vocabulary grows."""
        cache = _model_cache(model)
        key = (id(vocab), name, what)
        cached = cache.get(key)
        if cached is None or len(cached) < size:
            start = 0 if cached is None else len(cached)
            ext = compute(start, size)
            cached = ext if cached is None else np.concatenate([cached, ext])
            cache[key] = cached
        return cached if len(cached) == size else cached[:size]

    def _model_array(self, model: Model, vocab, name: str, what: str, table: dict, interner) -> np.ndarray:
        """Counts stored in a model, as an array over a vocabulary's ids (cached, extended as ids grow)."""
        cache = _model_cache(model)
        key = (id(vocab), name, what)
        cached = cache.get(key)
        if cached is None:
            cached = np.zeros(0, dtype=np.float64)
        start = len(cached)
        if start < len(interner):
            ext = np.fromiter((table.get(t, 1) for t in interner.items[start:]), dtype=np.float64)
            cached = np.concatenate([cached, ext])
            cache[key] = cached
        return cached

    def _stats_for_model(self, preps: list[Prepared]) -> tuple[dict, dict]:
        vocab = preps[0].vocab
        size = len(vocab.tokens)
        tokens = vocab.tokens.items
        token_stats = {}
        for name in self._text_fields():
            n_docs, df = token_df(preps, name, size)
            idx = np.flatnonzero(df >= 2)
            if len(idx) > MODEL_TOKEN_LIMIT:
                idx = idx[np.argsort(-df[idx], kind="stable")[:MODEL_TOKEN_LIMIT]]
            token_stats[name] = {"n": int(n_docs), "df": {tokens[i]: int(df[i]) for i in sorted(idx.tolist())}}
        value_stats = {}
        for name in self._tf_fields():
            interner = vocab.field(name)
            counts = np.zeros(len(interner), dtype=np.int64)
            total = 0
            for p in preps:
                uid = p.columns[name].uid
                present = uid[uid >= 0]
                counts += np.bincount(present, minlength=len(interner))[: len(interner)]
                total += len(present)
            idx = np.flatnonzero(counts >= 2)
            if len(idx) > MODEL_TOKEN_LIMIT:
                idx = idx[np.argsort(-counts[idx], kind="stable")[:MODEL_TOKEN_LIMIT]]
            value_stats[name] = {
                "n": int(total),
                "freq": {interner.items[i]: int(counts[i]) for i in sorted(idx.tolist())},
            }
        return token_stats, value_stats

    def default_model(self) -> Model:
        if self._default_model is None:
            self._default_model = Model.default(self.comparisons)
        return self._default_model

    def _model(self, model: Model | None) -> Model:
        return model or self.model or self.default_model()

    # -- fitting ---------------------------------------------------------------------------------

    def fit(
        self,
        left: Prepared,
        right: Prepared | None = None,
        pairs: np.ndarray | None = None,
        labels: Iterable[tuple[str, str, bool]] = (),
        *,
        levels: np.ndarray | None = None,
    ) -> Model:
        """Estimate a model without labels (u from random pairs, m and the match rate by EM on candidates).

        ``labels``: steward decisions ``(id_a, id_b, is_match)`` (ids of ``left`` / ``right``), which fix those
        pairs' posteriors in EM and refine u.
        """
        started = time.perf_counter()
        link = right is not None and right is not left
        rp = right if link else left
        if pairs is None:
            pairs = self.candidates_link(left, rp) if link else self.candidates(left)
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        preps = [left, rp] if link else [left]
        token_stats, value_stats = self._stats_for_model(preps)
        draft = Model(
            comparisons=[c.name for c in self.comparisons],
            m={c.name: list(c.default_m) for c in self.comparisons},
            u={c.name: list(c.default_u) for c in self.comparisons},
            prior=1e-4,
            weights_hint={c.name: c.weight for c in self.comparisons},
            token_df=token_stats,
            value_tf=value_stats,
        )
        ctx = self._context(left, rp, draft)
        # u: random pairs (seeded), exact agreement from value frequencies.
        rng = np.random.default_rng(SEED)
        n_l, n_r = len(left), len(rp)
        total_pairs = n_l * n_r if link else n_l * (n_l - 1) // 2
        n_u = int(min(U_SAMPLE_PAIRS, max(total_pairs, 0)))
        if n_u > 0:
            ra = rng.integers(0, n_l, size=n_u * 2)
            rb = rng.integers(0, n_r, size=n_u * 2)
            if not link:
                keep = ra != rb
                ra, rb = ra[keep], rb[keep]
            ra, rb = ra[:n_u], rb[:n_u]
            random_levels = all_levels(self.comparisons, ctx, ra, rb, self.workers)
        else:
            random_levels = np.zeros((0, len(self.comparisons)), dtype=np.uint8)
        exact = {}
        for comp in self.comparisons:
            if comp.kind in ("person_name", "org_name", "code", "date", "text", "address"):
                freq = ctx.tf.get(comp.field)
                if freq is None:
                    freq = value_frequencies(preps, comp.field, len(left.vocab.field(comp.field)))
                exact[comp.name] = float(np.sum(freq**2))
        label_list = list(labels)
        lab_levels, lab_values = self._label_levels(left, rp, label_list, ctx)
        u = estimate_u(self.comparisons, random_levels, exact)
        if len(lab_levels) and (~lab_values).any():
            u = self._refine_u(u, random_levels, lab_levels[~lab_values])
        self._log(f"u from {len(random_levels):,} random pairs", started)
        t = time.perf_counter()
        if levels is None:
            levels = all_levels(self.comparisons, ctx, pairs[:, 0], pairs[:, 1], self.workers)
            self._log(f"levels of {len(pairs):,} candidate pairs", t)
        t = time.perf_counter()
        m, lam, iterations = em_sessions(self.comparisons, levels, u, labelled=lab_levels, labels=lab_values)
        if len(levels):
            u, lam = candidate_u(self.comparisons, levels, m, u, lam)
            prior = float(min(max(lam, 1e-9), 0.5))
        else:
            n_matches = lam * len(pairs)
            if len(lab_values):
                n_matches = max(n_matches, float(lab_values.sum()))
            prior = n_matches / max(total_pairs, 1)
            prior = float(min(max(prior, 1e-12), 0.5))
        self._log(f"EM: {iterations} iterations, match rate among candidates {lam:.4f}, prior {prior:.3g}", t)
        return Model(
            comparisons=[c.name for c in self.comparisons],
            m=m,
            u=u,
            prior=prior,
            weights_hint={c.name: c.weight for c in self.comparisons},
            token_df=token_stats,
            value_tf=value_stats,
            info={
                "trained": True,
                "records": int(n_l + (n_r if link else 0)),
                "candidate_pairs": int(len(pairs)),
                "random_pairs": int(len(random_levels)),
                "em_iterations": int(iterations),
                "match_rate_candidates": float(lam),
                "labels": len(label_list),
            },
        )

    def _label_levels(self, left, right, labels, ctx):
        rows_a, rows_b, values = [], [], []
        for id_a, id_b, is_match in labels:
            try:
                i, j = left.index(id_a), right.index(id_b)
            except KeyError:
                try:
                    i, j = left.index(id_b), right.index(id_a)
                except KeyError:
                    continue
            rows_a.append(i)
            rows_b.append(j)
            values.append(bool(is_match))
        if not rows_a:
            return np.zeros((0, len(self.comparisons)), dtype=np.uint8), np.zeros(0, dtype=bool)
        lv = all_levels(self.comparisons, ctx, np.asarray(rows_a), np.asarray(rows_b), 1)
        return lv, np.asarray(values, dtype=bool)

    def _refine_u(self, u, random_levels, distinct_levels):
        out = {}
        for c, comp in enumerate(self.comparisons):
            extra = np.bincount(distinct_levels[:, c], minlength=comp.n_levels)[: comp.n_levels].astype(np.float64)
            extra[0] = 0
            base = np.asarray(u[comp.name], dtype=np.float64)
            n_base = max(int((random_levels[:, c] > 0).sum()), 1)
            mixed = base * n_base + extra
            mixed[0] = 0
            out[comp.name] = [float(x) for x in mixed / max(mixed.sum(), 1e-12)]
        return out

    # -- scoring ---------------------------------------------------------------------------------

    def _weights(self, model: Model) -> np.ndarray:
        cache = _model_cache(model)
        key = ("W", tuple(c.name for c in self.comparisons))
        table = cache.get(key)
        if table is None:
            table = cache[key] = model.weight_table(self.comparisons)
        return table

    def _tf_adjust(self, comp_index: int, model: Model, ctx: Context, a, b, levels) -> np.ndarray:
        """Extra bits for exact agreement on a value rarer (or commoner) than average: log2(u_exact / freq)."""
        comp = self.comparisons[comp_index]
        adj = np.zeros(len(a), dtype=np.float64)
        freq = ctx.tf.get(comp.field)
        if freq is None:
            return adj
        exact = levels == 1
        if not exact.any():
            return adj
        uid = ctx.left.columns[comp.field].uid[a[exact]]
        f = np.maximum(freq[uid] if len(freq) else np.ones(len(uid)), 1e-12)
        u_exact = min(max(model.u.get(comp.name, comp.default_u)[1], 1e-12), 1.0)
        hint = model.weights_hint.get(comp.name, comp.weight)
        adj[exact] = hint * np.clip(np.log2(u_exact / f), -TF_CAP_BITS, TF_CAP_BITS)
        return adj

    def score(self, left: Prepared, right: Prepared | None, pairs, model: Model | None = None) -> Scores:
        """Levels, match weights (log2 odds) and probabilities of ``pairs`` (rows of left, rows of right)."""
        model = self._model(model)
        rp = right if right is not None else left
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        ctx = self._context(left, rp, model)
        return self._score_ctx(ctx, model, pairs[:, 0], pairs[:, 1])

    def _score_ctx(self, ctx: Context, model: Model, a: np.ndarray, b: np.ndarray, levels=None) -> Scores:
        if levels is None:
            levels = all_levels(self.comparisons, ctx, a, b, self.workers)
        table = self._weights(model)
        mw = np.full(len(a), model.prior_weight, dtype=np.float64)
        for c, comp in enumerate(self.comparisons):
            mw += table[c][levels[:, c]]
            if comp.tf:
                mw += self._tf_adjust(c, model, ctx, a, b, levels[:, c])
        return Scores(mw, _probability(mw), levels, [c.name for c in self.comparisons])

    def band(self, probability: float) -> str:
        """``match`` / ``review`` / ``distinct`` by the spec's thresholds."""
        if probability >= self.spec.match_threshold:
            return "match"
        if probability >= self.spec.review_threshold:
            return "review"
        return "distinct"

    def _bands(self, probability: np.ndarray) -> np.ndarray:
        return np.where(
            probability >= self.spec.match_threshold,
            "match",
            np.where(probability >= self.spec.review_threshold, "review", "distinct"),
        )

    # -- explanation -----------------------------------------------------------------------------

    def explain(
        self, left: Prepared, i: int, right: Prepared | None, j: int, model: Model | None = None
    ) -> Explanation:
        """Each comparison's values, level and weight for the pair (left row i, right row j)."""
        model = self._model(model)
        rp = right if right is not None else left
        ctx = self._context(left, rp, model)
        return self._explain_ctx(ctx, model, int(i), int(j))

    def _explain_ctx(self, ctx: Context, model: Model, i: int, j: int, levels_row=None, decision=None) -> Explanation:
        left, right = ctx.left, ctx.right
        a, b = np.asarray([i]), np.asarray([j])
        if levels_row is None:
            levels_row = all_levels(self.comparisons, ctx, a, b, 1)[0]
        table = self._weights(model)
        prior_weight = model.prior_weight
        fields = []
        total = prior_weight
        for c, comp in enumerate(self.comparisons):
            level = int(levels_row[c])
            weight = float(table[c][level])
            if comp.tf:
                weight += float(self._tf_adjust(c, model, ctx, a, b, np.asarray([level]))[0])
            total += weight
            lv, rv = _shown(left, i, comp), _shown(right, j, comp)
            fields.append(
                {
                    "field": comp.name,
                    "kind": comp.kind,
                    "left": lv,
                    "right": rv,
                    "left_raw": _raw(left, i, comp.field),
                    "right_raw": _raw(right, j, comp.field),
                    "level": level,
                    "label": comp.labels[level],
                    "weight": weight,
                }
            )
        probability = float(_probability(np.asarray([total]))[0])
        if decision == "match":
            probability = 1.0
        elif decision == "distinct":
            probability = 0.0
        return Explanation(
            probability=probability,
            match_weight=float(total),
            prior_weight=float(prior_weight),
            band=self.band(probability),
            fields=fields,
            decision=decision,
        )

    # -- batch -----------------------------------------------------------------------------------

    def _sorted_records(self, records: Iterable[dict]) -> list[dict]:
        records = list(records)
        key = self.spec.id_field

        def sort_key(record):
            value = record.get(key)
            return id_sort_key(str(value).strip()) if value is not None else (2, 0, "")

        return sorted(records, key=sort_key)

    def _decisions(self, decisions: Mapping) -> dict[tuple[str, str], bool]:
        return {_decision_key(str(a), str(b)): bool(v) for (a, b), v in (decisions or {}).items()}

    def dedupe(
        self,
        records: Iterable[dict],
        decisions: Mapping[tuple[str, str], bool] | None = None,
        model: Model | None = None,
    ) -> DedupeResult:
        """Find duplicates within ``records``: pairs in the match or review band, and clusters.

        ``decisions``: steward decisions by (id, id) in either order. True forces a match (probability 1), False
        forces distinct (never proposed, a cannot-link for clustering). Without a model, one is fitted by EM on
        the records themselves (the decisions serve as labels).
        """
        with _gc_paused():
            return self._dedupe(records, decisions, model)

    def _dedupe(self, records, decisions, model) -> DedupeResult:
        t0 = time.perf_counter()
        decisions = self._decisions(decisions)
        prep = self.prepare(self._sorted_records(records))
        self._log(f"prepared {len(prep):,} records", t0)
        t = time.perf_counter()
        pairs = self.candidates(prep)
        self._log(f"{len(pairs):,} candidate pairs", t)
        pairs, forced = self._with_decisions(prep, prep, pairs, decisions, link=False)
        labels = [(a, b, v) for (a, b), v in decisions.items()]
        model, ctx, levels = self._model_and_levels(prep, prep, pairs, labels, model or self.model, link=False)
        t = time.perf_counter()
        scores = self._score_ctx(ctx, model, pairs[:, 0], pairs[:, 1], levels)
        prob = scores.probability.copy()
        prob[forced > 0] = 1.0
        prob[forced < 0] = 0.0
        self._log(f"scored {len(pairs):,} pairs", t)
        t = time.perf_counter()

        def score_pairs(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
            s = self._score_ctx(ctx, model, xa.astype(np.int64), xb.astype(np.int64))
            return s.probability

        roots = cluster(
            len(prep),
            pairs,
            prob,
            forced,
            self.spec.match_threshold,
            self.spec.review_threshold,
            score_pairs,
        )
        clusters = self._cluster_ids(prep.ids, roots)
        self._log(f"clustered into {len(set(clusters.values())):,} entities", t)
        # A pair above the match threshold that clustering kept apart (it conflicts with other evidence, e.g. a
        # steward's "not a match" or a distinct third record) is not auto-linked: it goes to review.
        split = roots[pairs[:, 0]] != roots[pairs[:, 1]]
        results = self._pair_results(prep, prep, pairs, prob, scores.match_weight, forced, demote=split)
        self._log(f"dedupe done: {len(results):,} pairs in match/review band", t0)
        return DedupeResult(
            pairs=results,
            clusters=clusters,
            model=model,
            stats={"records": len(prep), "candidate_pairs": int(len(pairs)), "seconds": time.perf_counter() - t0},
            candidates=(prep.ids, prep.ids, pairs),
        )

    def link(
        self,
        left_records: Iterable[dict],
        right_records: Iterable[dict],
        decisions: Mapping[tuple[str, str], bool] | None = None,
        model: Model | None = None,
    ) -> LinkResult:
        """Find records of ``right_records`` that are the same entity as records of ``left_records``."""
        with _gc_paused():
            return self._link(left_records, right_records, decisions, model)

    def _link(self, left_records, right_records, decisions, model) -> LinkResult:
        t0 = time.perf_counter()
        decisions = self._decisions(decisions)
        left = self.prepare(self._sorted_records(left_records))
        right = self.prepare(self._sorted_records(right_records))
        self._log(f"prepared {len(left):,} + {len(right):,} records", t0)
        t = time.perf_counter()
        pairs = self.candidates_link(left, right)
        self._log(f"{len(pairs):,} candidate pairs", t)
        pairs, forced = self._with_decisions(left, right, pairs, decisions, link=True)
        labels = [(a, b, v) for (a, b), v in decisions.items()]
        model, ctx, levels = self._model_and_levels(left, right, pairs, labels, model or self.model, link=True)
        t = time.perf_counter()
        scores = self._score_ctx(ctx, model, pairs[:, 0], pairs[:, 1], levels)
        prob = scores.probability.copy()
        prob[forced > 0] = 1.0
        prob[forced < 0] = 0.0
        self._log(f"scored {len(pairs):,} pairs", t)
        results = self._pair_results(left, right, pairs, prob, scores.match_weight, forced)
        self._log(f"link done: {len(results):,} pairs in match/review band", t0)
        return LinkResult(
            pairs=results,
            model=model,
            stats={
                "records": len(left) + len(right),
                "candidate_pairs": int(len(pairs)),
                "seconds": time.perf_counter() - t0,
            },
            candidates=(left.ids, right.ids, pairs),
        )

    def _model_and_levels(self, left, right, pairs, labels, model, link: bool):
        """The model to score with (fitted on the input when none is given), its context, and the pairs' levels.

        Levels depend on the corpus statistics only, which a model fitted on this input shares with the data, so
        they are computed once for fitting and scoring.
        """
        if model is not None:
            ctx = self._context(left, right, model)
            t = time.perf_counter()
            levels = all_levels(self.comparisons, ctx, pairs[:, 0], pairs[:, 1], self.workers)
            self._log(f"levels of {len(pairs):,} pairs", t)
            return model, ctx, levels
        preps = [left, right] if link else [left]
        token_stats, value_stats = self._stats_for_model(preps)
        draft = Model.default(self.comparisons)
        draft.token_df, draft.value_tf = token_stats, value_stats
        ctx = self._context(left, right, draft)
        t = time.perf_counter()
        levels = all_levels(self.comparisons, ctx, pairs[:, 0], pairs[:, 1], self.workers)
        self._log(f"levels of {len(pairs):,} candidate pairs", t)
        model = self.fit(left, right if link else None, pairs=pairs, labels=labels, levels=levels)
        return model, ctx, levels

    def _with_decisions(self, left, right, pairs, decisions, link: bool):
        """Add decided pairs that blocking missed; return pairs and forced (+1 match, -1 distinct, 0)."""
        if not decisions:
            return pairs, np.zeros(len(pairs), dtype=np.int8)
        n_r = len(right)
        extra = []
        wanted: dict[int, int] = {}
        for (x, y), value in decisions.items():
            for p, q in ((x, y), (y, x)):
                try:
                    i, j = left.index(p), right.index(q)
                except KeyError:
                    continue
                if not link:
                    if i == j:
                        continue
                    i, j = min(i, j), max(i, j)
                code = i * n_r + j
                wanted[code] = 1 if value else -1
                extra.append((i, j))
                break
        if extra:
            pairs = np.unique(np.concatenate([pairs, np.asarray(extra, dtype=np.int64)]), axis=0)
        codes = pairs[:, 0] * n_r + pairs[:, 1]
        forced = np.zeros(len(pairs), dtype=np.int8)
        if wanted:
            keys = np.fromiter(wanted.keys(), dtype=np.int64)
            vals = np.fromiter(wanted.values(), dtype=np.int8)
            order = np.argsort(keys)
            keys, vals = keys[order], vals[order]
            pos = np.minimum(np.searchsorted(keys, codes), len(keys) - 1)
            hit = keys[pos] == codes
            forced[hit] = vals[pos[hit]]
        return pairs, forced

    def _pair_results(self, left, right, pairs, prob, mw, forced, demote=None) -> list[PairResult]:
        keep = (prob >= self.spec.review_threshold) & (forced >= 0)
        idx = np.flatnonzero(keep)
        bands = self._bands(prob[idx])
        if demote is not None:
            bands[(bands == "match") & demote[idx] & (forced[idx] == 0)] = "review"
        # Best first, ties by ids: rows are in id order on both sides (see ``_sorted_records``).
        order = np.lexsort((pairs[idx, 1], pairs[idx, 0], -prob[idx]))
        idx, bands = idx[order], bands[order]
        lids, rids = left.ids, right.ids
        return [
            PairResult(lids[i], rids[j], p, w, band)
            for i, j, p, w, band in zip(
                pairs[idx, 0].tolist(),
                pairs[idx, 1].tolist(),
                prob[idx].tolist(),
                mw[idx].tolist(),
                bands.tolist(),
                strict=True,
            )
        ]

    @staticmethod
    def _cluster_ids(ids: list[str], roots: np.ndarray) -> dict[str, str]:
        """Record id -> cluster id. Rows are in id order (see ``_sorted_records``), so a cluster's smallest id is
        the id of its smallest row, whatever row ``roots`` names for it."""
        roots = np.asarray(roots, dtype=np.int64)
        smallest = np.arange(len(ids), dtype=np.int64)
        if len(ids):
            smallest = np.full(len(ids), len(ids), dtype=np.int64)
            np.minimum.at(smallest, roots, np.arange(len(ids), dtype=np.int64))
            smallest = smallest[roots]
        return dict(zip(ids, [ids[k] for k in smallest.tolist()], strict=True))

    # -- online ----------------------------------------------------------------------------------

    def match_one(
        self,
        record: dict,
        candidates: list[dict] | Prepared,
        model: Model | None = None,
        top_k: int = 10,
        decisions: Mapping[tuple[str, str], bool] | None = None,
    ) -> list[tuple[str, float, Explanation]]:
        """Score one incoming record against candidate records; best first (ties by id), with explanations.

        ``candidates`` may be raw records or an already prepared set (faster when the caller keeps it).
        A steward decision for (record id, candidate id) overrides the score: a "not a match" drops the candidate.
        """
        model = self._model(model)
        rec = dict(record)
        query_id = str(rec.get(self.spec.id_field) or "").strip()
        if not query_id:
            rec[self.spec.id_field] = query_id = "__query__"
        query = self.prepare([rec])
        cands = candidates if isinstance(candidates, Prepared) else self.prepare(candidates)
        if len(cands) == 0:
            return []
        decisions = self._decisions(decisions)
        ctx = self._context(query, cands, model)
        b = np.arange(len(cands), dtype=np.int64)
        a = np.zeros(len(cands), dtype=np.int64)
        scores = self._score_ctx(ctx, model, a, b)
        prob = scores.probability.copy()
        decided = {}
        if decisions:
            for k, cid in enumerate(cands.ids):
                value = decisions.get(_decision_key(query_id, cid))
                if value is not None:
                    decided[k] = "match" if value else "distinct"
                    prob[k] = 1.0 if value else 0.0
        order = sorted(
            (k for k in range(len(cands)) if decided.get(k) != "distinct"),
            key=lambda k: (-prob[k], id_sort_key(cands.ids[k])),
        )[:top_k]
        return [
            (
                cands.ids[k],
                float(prob[k]),
                self._explain_ctx(ctx, model, 0, k, levels_row=scores.levels[k], decision=decided.get(k)),
            )
            for k in order
        ]


def _shown(prep: Prepared, i: int, comp: Comparison) -> str:
    col = prep.columns[comp.field]
    if comp.kind == "numbers":
        items = prep.vocab.numbers.items
        return " ".join(items[x] for x in col.num[i] if x >= 0)
    if comp.kind == "codes":
        items = prep.vocab.codes.items
        return " ".join(items[x] for x in col.code[i] if x >= 0)
    return prep.std(comp.field, i)


def _raw(prep: Prepared, i: int, name: str):
    value = prep.raw[name][i]
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return value if isinstance(value, str | int | float | bool) else str(value)


@contextlib.contextmanager
def _gc_paused():
    """No cyclic garbage collection during a batch run: it makes millions of small tuples and lists (no cycles),
    and every collection would walk all of them again. Collection resumes, as it was, afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _model_cache(model: Model) -> dict:
    """Derived arrays cached on the model object (not serialized)."""
    cache = model.__dict__.get("_cache")
    if cache is None:
        cache = model.__dict__["_cache"] = {}
    return cache
