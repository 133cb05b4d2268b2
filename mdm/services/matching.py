"""Matching in the hub: keys for online look-ups, batch runs over the master, incremental matching of new
source records, and stewards' decisions.

The engine (``mdm.matching``) knows nothing of the database. This module feeds it flat rows from each
entity's :class:`~mdm.registry.MatchingAdapter`, and stores what it finds: blocking keys (``MatchKey``),
the trained model (``MatchModel``), runs (``MatchRun``), proposals (``MatchCandidate``) and decisions
(``MatchDecision``). Record references are ``g:<golden id>`` and ``c:<crosswalk id>``.
"""

import logging
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from mdm import registry
from mdm.choices import LinkMethod
from mdm.models import (
    Crosswalk,
    DecisionLog,
    MatchCandidate,
    MatchDecision,
    MatchKey,
    MatchModel,
    MatchRun,
    SourceRecord,
)
from mdm.models.matching import golden_ref, ordered_refs, source_ref
from mdm.services.golden import crosswalk_link, golden_create_from_source

logger = logging.getLogger(__name__)

KEY_BATCH = 5000


class MatchingError(ValueError):
    """A request the matching service can't serve (unknown entity type, an entity that isn't matched...)."""


# --- the engine per entity type ------------------------------------------------------------------------


def matching_entity_types() -> list[str]:
    return [spec.entity_type for spec in registry.all_specs() if spec.matching is not None]


def _adapter(entity_type: str):
    try:
        spec = registry.get(entity_type)
    except KeyError as exc:
        raise MatchingError(str(exc.args[0])) from None
    if spec.matching is None:
        raise MatchingError(f"entity type {entity_type!r} is not matched; matched types: {matching_entity_types()}")
    return spec, spec.matching


_cache: dict[str, tuple[object, object]] = {}
_cache_lock = threading.Lock()


def matcher_for(entity_type: str):
    """The engine for ``entity_type`` with its trained model (or the default model before the first batch run).

    Cached per process; a newer trained model (another process's batch run) is picked up on the next call.
    """
    from mdm.matching import Matcher, MatchSpec, Model

    _, adapter = _adapter(entity_type)
    stamp = MatchModel.objects.filter(entity_type=entity_type).values_list("trained_at", flat=True).first()
    cached = _cache.get(entity_type)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    spec = MatchSpec.from_dict(adapter.spec)
    model = None
    if stamp is not None:
        params = MatchModel.objects.filter(entity_type=entity_type).values_list("params", flat=True).first()
        model = Model.from_dict(params) if params else None
    matcher = Matcher(spec, model=model)
    if model is None:
        matcher.model = _untrained_model(matcher)
    with _cache_lock:
        _cache[entity_type] = (stamp, matcher)
    return matcher


def _untrained_model(matcher):
    """The kinds' default weights, with the prior of a pair that blocking already found (about 1 in 100)
    rather than of any two records: the hub only ever scores blocked candidates."""
    from mdm.matching import Model

    return Model.default(matcher.comparisons, prior=settings.MDM_MATCH_UNTRAINED_PRIOR)


def _workers(requested: int | None) -> int | None:
    """Processes the engine may fork: none inside a daemonic process (a Celery prefork child may not have
    children), else as asked (the engine's default: the CPUs)."""
    if multiprocessing.current_process().daemon:
        return 1
    return requested


def _row_for_engine(row: dict, ref: str) -> dict:
    return {**row, "id": ref}


# --- blocking keys ----------------------------------------------------------------------------------------


def match_keys_refresh(entity_type: str, golden_ids: Iterable[int]) -> int:
    """Recompute the blocking keys of some golden records (retired ones lose theirs). Returns keys written."""
    _, adapter = _adapter(entity_type)
    ids = sorted(set(golden_ids))
    if not ids:
        return 0
    matcher = matcher_for(entity_type)
    written = 0
    with transaction.atomic():
        for start in range(0, len(ids), KEY_BATCH):
            chunk = ids[start : start + KEY_BATCH]
            MatchKey.objects.filter(entity_type=entity_type, golden_id__in=chunk).delete()
            keys = [
                MatchKey(entity_type=entity_type, key=key[:255], golden_id=row["id"])
                for row in adapter.golden_rows(chunk)
                for key in set(matcher.record_keys(row))
            ]
            MatchKey.objects.bulk_create(keys, batch_size=KEY_BATCH)
            written += len(keys)
    return written


def match_keys_rebuild(entity_type: str, rows: list[dict] | None = None) -> int:
    """Replace every blocking key of ``entity_type`` (batch runs; after a model or spec change)."""
    _, adapter = _adapter(entity_type)
    matcher = matcher_for(entity_type)
    rows = rows if rows is not None else adapter.golden_rows(None)
    written = 0
    with transaction.atomic():
        MatchKey.objects.filter(entity_type=entity_type).delete()
        pending: list[MatchKey] = []
        for row in rows:
            pending.extend(
                MatchKey(entity_type=entity_type, key=key[:255], golden_id=row["id"])
                for key in set(matcher.record_keys(row))
            )
            if len(pending) >= KEY_BATCH:
                MatchKey.objects.bulk_create(pending, batch_size=KEY_BATCH)
                written += len(pending)
                pending = []
        MatchKey.objects.bulk_create(pending, batch_size=KEY_BATCH)
        written += len(pending)
    return written


def candidate_golden_ids(entity_type: str, keys: Iterable[str], *, limit: int | None = None) -> list[int]:
    """Golden records sharing blocking keys with a record, most shared keys first.

    A key held by more than ``MDM_MATCH_KEY_CAP`` records says little (a common word) and is skipped, so
    one look-up reads at most ``cap + 1`` rows per key: one indexed query, whatever the size of the master.
    """
    keys = sorted({key[:255] for key in keys})
    if not keys:
        return []
    cap = settings.MDM_MATCH_KEY_CAP
    limit = limit or settings.MDM_MATCH_ONLINE_CANDIDATES
    table = connection.ops.quote_name(MatchKey._meta.db_table)
    # Each key reads at most cap + 1 rows from the index; keys that hit the cap are dropped and the rest are
    # counted per golden record in the database, so only the best `limit` ids travel back.
    part = f"SELECT * FROM (SELECT key, golden_id FROM {table} WHERE entity_type = %s AND key = %s LIMIT {cap + 1}) AS k{{n}}"  # noqa: S608 - table name from the model, values bound
    hits = " UNION ALL ".join(part.format(n=n) for n in range(len(keys)))
    sql = (
        f"WITH hits AS ({hits}), "  # noqa: S608 - built from the fixed fragments above
        f"useful AS (SELECT key FROM hits GROUP BY key HAVING COUNT(*) <= {cap}) "
        "SELECT golden_id FROM hits WHERE key IN (SELECT key FROM useful) "
        "GROUP BY golden_id ORDER BY COUNT(*) DESC, golden_id LIMIT %s"
    )
    params = [value for key in keys for value in (entity_type, key)] + [limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [golden_id for (golden_id,) in cursor.fetchall()]


# Keys follow the golden records: saves of golden rows and watched children mark them, and the keys of
# everything marked in a transaction are refreshed once, after it commits.
_pending = threading.local()


def _watched() -> dict[str, tuple[str, str | None]]:
    table: dict[str, tuple[str, str | None]] = {}
    for spec in registry.all_specs():
        if spec.matching is None:
            continue
        table[spec.model_label.lower()] = (spec.entity_type, None)
        for model_label, attname in spec.matching.watch:
            table[model_label.lower()] = (spec.entity_type, attname)
    return table


def _flush_pending() -> None:
    marked: dict[str, set[int]] = getattr(_pending, "marked", {})
    _pending.marked = {}
    for entity_type, ids in marked.items():
        try:
            match_keys_refresh(entity_type, ids)
        except Exception:  # keys are derived data: a failure must not break the write that triggered it
            logger.exception(
                "refreshing match keys of %s %s failed; the next batch run rebuilds them", entity_type, ids
            )


def on_model_saved(sender, instance, **kwargs) -> None:
    """``post_save`` receiver: mark the golden record whose match row this save changed."""
    if kwargs.get("raw"):
        return
    watched = getattr(_pending, "watched", None)
    if watched is None:
        watched = _pending.watched = _watched()
    entry = watched.get(sender._meta.label_lower)
    if entry is None:
        return
    entity_type, attname = entry
    golden_id = instance.pk if attname is None else getattr(instance, attname)
    if golden_id is None:
        return
    marked = getattr(_pending, "marked", None)
    if marked is None:
        marked = _pending.marked = {}
    marked.setdefault(entity_type, set()).add(golden_id)
    # A callback per save: the first to run after a commit refreshes everything marked (the rest find nothing
    # to do). Marks of a rolled-back transaction are refreshed with the next commit, which re-reads the
    # database and so drops keys of rows that never came to be.
    transaction.on_commit(_flush_pending)


# --- decisions ------------------------------------------------------------------------------------------


def _decisions(
    entity_type: str, refs: set[str] | None = None, *, as_golden: bool = False
) -> dict[tuple[str, str], bool]:
    """Stewards' decisions by pair of references.

    ``as_golden``: for runs over golden records, a decision about a source record counts for the golden
    record that source record now belongs to ("C-9 is not Bard Access" -> "the record made from C-9 is not").
    """
    qs = MatchDecision.objects.filter(entity_type=entity_type)
    if refs is not None:
        qs = qs.filter(Q(left_ref__in=refs) | Q(right_ref__in=refs))
    decisions = {
        (left, right): is_match for left, right, is_match in qs.values_list("left_ref", "right_ref", "is_match")
    }
    if not as_golden:
        return decisions
    crosswalk_ids = {int(ref[2:]) for pair in decisions for ref in pair if ref.startswith("c:")}
    owner = {
        source_ref(pk): golden_ref(golden_id)
        for pk, golden_id in Crosswalk.objects.filter(pk__in=crosswalk_ids, golden_id__isnull=False).values_list(
            "pk", "golden_id"
        )
    }
    translated: dict[tuple[str, str], bool] = {}
    for (left, right), is_match in decisions.items():
        left, right = owner.get(left, left), owner.get(right, right)
        if left.startswith("g:") and right.startswith("g:") and left != right:
            pair = ordered_refs(left, right)
            # a "not a match" anywhere on the pair wins over a match
            translated[pair] = translated.get(pair, True) and is_match
    return translated


def match_decision_record(
    *, entity_type: str, left_ref: str, right_ref: str, is_match: bool, actor, reason: str = "", candidate=None
) -> MatchDecision:
    """Remember a steward's decision on a pair (the latest decision on a pair wins)."""
    left, right = ordered_refs(left_ref, right_ref)
    decision, _ = MatchDecision.objects.update_or_create(
        entity_type=entity_type,
        left_ref=left,
        right_ref=right,
        defaults={
            "is_match": is_match,
            "reason": reason,
            "decided_by": actor,
            "candidate": candidate,
            "evidence": candidate.explanation if candidate is not None else {},
        },
    )
    return decision


# --- online ---------------------------------------------------------------------------------------------


def match_online(entity_type: str, record: dict, *, top_k: int = 10) -> list[dict]:
    """The golden records most like ``record`` (a flat row in the entity's spec fields), best first."""
    _, adapter = _adapter(entity_type)
    matcher = matcher_for(entity_type)
    ids = candidate_golden_ids(entity_type, matcher.record_keys(record))
    if not ids:
        return []
    rows = [_row_for_engine(row, golden_ref(row["id"])) for row in adapter.golden_rows(ids)]
    labels = {row["id"]: adapter.label(row) for row in rows}
    query = _row_for_engine(record, "query")
    results = []
    for ref, probability, explanation in matcher.match_one(query, rows, top_k=top_k):
        results.append(
            {
                "golden_id": int(ref.split(":", 1)[1]),
                "display": labels.get(ref, ""),
                "probability": probability,
                "band": matcher.band(probability),
                "explanation": explanation.to_dict(),
            }
        )
    return results


# --- batch ----------------------------------------------------------------------------------------------


def _finish(run: MatchRun, timings: dict, **counts) -> MatchRun:
    for name, value in counts.items():
        setattr(run, name, value)
    run.timings = {stage: round(seconds, 3) for stage, seconds in timings.items()}
    run.status = MatchRun.Status.DONE
    run.finished_at = timezone.now()
    run.save()
    return run


def _fail(run: MatchRun, exc: Exception) -> None:
    MatchRun.objects.filter(pk=run.pk).update(
        status=MatchRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
    )


def _priority(band: str) -> int:
    return 1 if band == MatchCandidate.Band.MATCH else 2


def _upsert_candidate(
    *, run, entity_type, kind, left_ref, right_ref, probability, match_weight, band, explanation, **extra
):
    pending = MatchCandidate.objects.filter(
        entity_type=entity_type,
        left_ref=left_ref,
        right_ref=right_ref,
        status__in=[MatchCandidate.Status.OPEN, MatchCandidate.Status.DEFERRED],
    ).first()
    values = {
        "run": run,
        "probability": probability,
        "match_weight": match_weight,
        "band": band,
        "explanation": explanation,
        "priority": _priority(band),
        **extra,
    }
    if pending is None:
        return MatchCandidate.objects.create(
            entity_type=entity_type, kind=kind, left_ref=left_ref, right_ref=right_ref, **values
        )
    for name, value in values.items():
        setattr(pending, name, value)
    pending.save()
    return pending


def match_run(entity_type: str, *, actor=None, workers: int | None = None) -> MatchRun:
    """Batch-match the whole master of ``entity_type``: train the model (EM, refined by stewards' decisions),
    score every candidate pair, propose duplicates for review, rebuild the blocking keys.

    Golden records are never merged here: a merge is a steward's change. Pairs a steward decided are not
    proposed again; pending proposals the run no longer finds are marked superseded.
    """
    _, adapter = _adapter(entity_type)
    run = MatchRun.objects.create(
        entity_type=entity_type, mode=MatchRun.Mode.BATCH, actor=actor, parameters={"workers": workers}
    )
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        rows = [_row_for_engine(row, golden_ref(row["id"])) for row in adapter.golden_rows(None)]
        timings["load"] = time.perf_counter() - started

        from mdm.matching import Matcher, MatchSpec

        spec = MatchSpec.from_dict(adapter.spec)
        engine = Matcher(spec, workers=_workers(workers))
        started = time.perf_counter()
        prepared = engine.prepare(rows)
        decisions = _decisions(entity_type, as_golden=True)
        labels = [(left, right, is_match) for (left, right), is_match in decisions.items()]
        trained = len(rows) >= settings.MDM_MATCH_MIN_TRAINING_RECORDS
        # EM needs a master of some size to tell matches from siblings; below it the kinds' defaults are better.
        model = engine.fit(prepared, labels=labels) if trained else _untrained_model(engine)
        timings["train"] = time.perf_counter() - started
        run.parameters = {**run.parameters, "trained": trained}
        if trained:
            with transaction.atomic():
                MatchModel.objects.update_or_create(
                    entity_type=entity_type,
                    defaults={
                        "params": model.to_dict(),
                        "trained_at": timezone.now(),
                        "trained_on": len(rows),
                        "run": run,
                    },
                )

        started = time.perf_counter()
        engine = Matcher(spec, model=model, workers=_workers(workers))
        result = engine.dedupe(rows, decisions=decisions, model=model)
        timings["match"] = time.perf_counter() - started

        started = time.perf_counter()
        index = {ref: position for position, ref in enumerate(prepared.ids)}
        proposed: set[tuple[str, str]] = set()
        match_pairs = review_pairs = 0
        with transaction.atomic():
            for pair in result.pairs:
                left, right = ordered_refs(pair.left_id, pair.right_id)
                if (left, right) in decisions:
                    continue
                match_pairs += pair.band == "match"
                review_pairs += pair.band == "review"
                explanation = engine.explain(prepared, index[left], None, index[right], model).to_dict()
                _upsert_candidate(
                    run=run,
                    entity_type=entity_type,
                    kind=MatchCandidate.Kind.DUPLICATE,
                    left_ref=left,
                    right_ref=right,
                    probability=pair.probability,
                    match_weight=pair.match_weight,
                    band=pair.band,
                    explanation=explanation,
                    left_golden_id=int(left[2:]),
                    right_golden_id=int(right[2:]),
                )
                proposed.add((left, right))
            stale = MatchCandidate.objects.filter(
                entity_type=entity_type,
                kind=MatchCandidate.Kind.DUPLICATE,
                status__in=[MatchCandidate.Status.OPEN, MatchCandidate.Status.DEFERRED],
            ).exclude(run=run)
            stale.update(status=MatchCandidate.Status.SUPERSEDED, updated_at=timezone.now())
        timings["store"] = time.perf_counter() - started

        started = time.perf_counter()
        _cache.pop(entity_type, None)
        match_keys_rebuild(entity_type, [{**row, "id": int(row["id"][2:])} for row in rows])
        timings["keys"] = time.perf_counter() - started

        clusters = Counter(result.clusters.values())
        return _finish(
            run,
            timings,
            records=len(rows),
            candidate_pairs=result.stats.get("candidate_pairs", 0),
            match_pairs=match_pairs,
            review_pairs=review_pairs,
            clusters=sum(1 for size in clusters.values() if size > 1),
        )
    except Exception as exc:
        _fail(run, exc)
        raise


# --- incremental ----------------------------------------------------------------------------------------


def _unlinked_source_records(entity_type: str, source_record_ids: Iterable[int] | None):
    qs = SourceRecord.objects.filter(
        entity_type=entity_type, is_current=True, crosswalk__golden_id__isnull=True
    ).select_related("crosswalk", "system")
    if source_record_ids is not None:
        qs = qs.filter(pk__in=list(source_record_ids))
    pending_refs = MatchCandidate.objects.filter(
        entity_type=entity_type,
        kind=MatchCandidate.Kind.LINK,
        status__in=[MatchCandidate.Status.OPEN, MatchCandidate.Status.DEFERRED],
    ).values("source_record_id")
    # Records already waiting for a steward stay in the inbox; a new version of one is matched afresh.
    return qs.exclude(pk__in=pending_refs).order_by("system__trust_rank", "crosswalk_id")


def match_source_records(
    entity_type: str, *, source_record_ids: Iterable[int] | None = None, actor=None, run: MatchRun | None = None
) -> MatchRun:
    """Match new and changed source records that no golden record holds yet, against the master and each other.

    Per record, the best golden record decides: match band -> the crosswalk is linked (``auto_match``,
    with the score); review band -> a link proposal for stewards (one per golden record in the band);
    nothing -> a new entity. New entities are deduplicated among themselves first: one golden record per
    cluster, created from its most trusted source, the others linked to it (or proposed, in the review band).
    """
    spec, adapter = _adapter(entity_type)
    run = run or MatchRun.objects.create(entity_type=entity_type, mode=MatchRun.Mode.INCREMENTAL, actor=actor)
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        records = list(_unlinked_source_records(entity_type, source_record_ids))
        rows = {
            source_ref(rec.crosswalk_id): _row_for_engine(
                adapter.source_row(rec.standardized), source_ref(rec.crosswalk_id)
            )
            for rec in records
        }
        by_ref = {source_ref(rec.crosswalk_id): rec for rec in records}
        matcher = matcher_for(entity_type)
        decisions = _decisions(entity_type, set(rows))
        # a steward already said "this source record is that golden record"
        confirmed: dict[str, list[str]] = {}
        for (left, right), is_match in decisions.items():
            for ref, other in ((left, right), (right, left)):
                if is_match and other.startswith("g:"):
                    confirmed.setdefault(ref, []).append(other)
        timings["load"] = time.perf_counter() - started

        started = time.perf_counter()
        candidate_ids: dict[str, list[int]] = {
            ref: candidate_golden_ids(entity_type, matcher.record_keys(row)) for ref, row in rows.items()
        }
        needed = sorted({golden_id for ids in candidate_ids.values() for golden_id in ids})
        golden_rows = {
            golden_ref(row["id"]): _row_for_engine(row, golden_ref(row["id"])) for row in adapter.golden_rows(needed)
        }
        timings["candidates"] = time.perf_counter() - started

        started = time.perf_counter()
        auto_linked = review_pairs = match_pairs = 0
        new_entities: list[str] = []
        with transaction.atomic():
            for ref, row in rows.items():
                record = by_ref[ref]
                forced = confirmed.get(ref)
                if forced:
                    crosswalk_link(
                        record.crosswalk, golden_id=int(forced[0][2:]), method=LinkMethod.STEWARD, actor=actor
                    )
                    auto_linked += 1
                    continue
                candidates = [golden_rows[golden_ref(i)] for i in candidate_ids[ref] if golden_ref(i) in golden_rows]
                scored = matcher.match_one(row, candidates, top_k=settings.MDM_MATCH_REVIEW_TOP_K, decisions=decisions)
                in_band = [(g, p, e) for g, p, e in scored if matcher.band(p) != "distinct"]
                if in_band and matcher.band(in_band[0][1]) == "match":
                    golden, probability, _ = in_band[0]
                    crosswalk_link(
                        record.crosswalk,
                        golden_id=int(golden[2:]),
                        method=LinkMethod.AUTO_MATCH,
                        actor=actor,
                        score=probability,
                    )
                    auto_linked += 1
                    match_pairs += 1
                elif in_band:
                    for golden, probability, explanation in in_band:
                        explained = explanation.to_dict()
                        _upsert_candidate(
                            run=run,
                            entity_type=entity_type,
                            kind=MatchCandidate.Kind.LINK,
                            left_ref=ref,
                            right_ref=golden,
                            probability=probability,
                            match_weight=explained["match_weight"],
                            band=matcher.band(probability),
                            explanation=explained,
                            right_golden_id=int(golden[2:]),
                            source_record=record,
                        )
                        review_pairs += 1
                else:
                    new_entities.append(ref)
            created = _create_new_entities(
                entity_type, spec, adapter, matcher, [rows[ref] for ref in new_entities], by_ref, decisions, run, actor
            )
        timings["decide"] = time.perf_counter() - started
        if created["failed"]:
            shown = "\n".join(created["failed"][:50])
            more = len(created["failed"]) - 50
            run.error = f"{len(created['failed'])} new record(s) could not become golden records:\n{shown}" + (
                f"\n... and {more} more" if more > 0 else ""
            )
        return _finish(
            run,
            timings,
            records=len(rows),
            candidate_pairs=sum(len(ids) for ids in candidate_ids.values()),
            match_pairs=match_pairs + created["linked"],
            review_pairs=review_pairs + created["review"],
            auto_linked=auto_linked + created["linked"],
            created_golden=created["created"],
            clusters=created["clusters"],
        )
    except Exception as exc:
        _fail(run, exc)
        raise


def _create_new_entities(entity_type, spec, adapter, matcher, rows, by_ref, decisions, run, actor) -> dict:
    """One golden record per cluster of new records; the cluster's other records linked or proposed."""
    counts = {"created": 0, "linked": 0, "review": 0, "clusters": 0, "failed": []}
    if not rows or not adapter.create_new or spec.create_golden is None or not settings.MDM_MATCH_CREATE_NEW:
        return counts
    # the hub's model, never one fitted on a handful of new records
    result = matcher.dedupe(rows, decisions=decisions, model=matcher.model)
    members: dict[str, list[str]] = {}
    for row in rows:
        members.setdefault(result.clusters.get(row["id"], row["id"]), []).append(row["id"])
    rows_by_ref = {row["id"]: row for row in rows}
    for refs in members.values():
        # rows arrive ordered by source trust, so the first member is the most trusted source's record
        founder, *others = refs
        try:
            with transaction.atomic():
                golden = golden_create_from_source(by_ref[founder], actor=actor, reason="new entity (matching)")
        except Exception as exc:  # reported on the run; the records stay unlinked for a steward
            counts["failed"].append(f"{by_ref[founder].system.name}:{by_ref[founder].external_id}: {exc}")
            continue
        counts["created"] += 1
        counts["clusters"] += bool(others)
        founder_row = {**rows_by_ref[founder], "id": golden_ref(golden.pk)}
        for ref in others:
            scored = matcher.match_one(rows_by_ref[ref], [founder_row], top_k=1)
            if not scored:
                continue
            _, probability, explanation = scored[0]
            band = matcher.band(probability)
            if band == "match":
                crosswalk_link(
                    by_ref[ref].crosswalk,
                    golden_id=golden.pk,
                    method=LinkMethod.AUTO_MATCH,
                    actor=actor,
                    score=probability,
                )
                counts["linked"] += 1
            elif band == "review":
                explained = explanation.to_dict()
                _upsert_candidate(
                    run=run,
                    entity_type=entity_type,
                    kind=MatchCandidate.Kind.LINK,
                    left_ref=ref,
                    right_ref=golden_ref(golden.pk),
                    probability=probability,
                    match_weight=explained["match_weight"],
                    band=band,
                    explanation=explained,
                    right_golden_id=golden.pk,
                    source_record=by_ref[ref],
                )
                counts["review"] += 1
    return counts


# --- stewards' decisions ------------------------------------------------------------------------------------


class DecisionError(ValueError):
    pass


@transaction.atomic
def match_candidate_decide(candidate: MatchCandidate, *, decision: str, actor, reason: str = "") -> MatchCandidate:
    """A steward's verdict on a proposal: ``match``, ``distinct`` (not a match) or ``defer``.

    ``match`` on a link proposal links the source record to the golden record; on a duplicate proposal it
    confirms the pair for merging (the merge itself is a change to golden records, made separately).
    ``distinct`` is remembered so the pair is never proposed again; a source record whose every proposal
    was rejected becomes a new entity. Decisions are final for the pair until a steward decides again.
    """
    candidate = MatchCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status not in (MatchCandidate.Status.OPEN, MatchCandidate.Status.DEFERRED):
        raise DecisionError(f"This proposal is already {candidate.get_status_display().lower()}.")
    if decision == "defer":
        candidate.status = MatchCandidate.Status.DEFERRED
    elif decision in ("match", "distinct"):
        is_match = decision == "match"
        match_decision_record(
            entity_type=candidate.entity_type,
            left_ref=candidate.left_ref,
            right_ref=candidate.right_ref,
            is_match=is_match,
            actor=actor,
            reason=reason,
            candidate=candidate,
        )
        candidate.status = MatchCandidate.Status.CONFIRMED if is_match else MatchCandidate.Status.REJECTED
        DecisionLog.objects.create(
            action=DecisionLog.Action.MATCH if is_match else DecisionLog.Action.DISTINCT,
            actor=actor,
            entity_type=candidate.entity_type,
            object_id=candidate.right_golden_id,
            summary=f"{'Same' if is_match else 'Not the same'}: {candidate.left_ref} and {candidate.right_ref} "
            f"(probability {candidate.probability:.3f})",
            reason=reason,
            requested_by=actor.get_username() if actor is not None else "",
            match_candidate=candidate,
            evidence={"probability": candidate.probability, "band": candidate.band},
        )
    else:
        raise DecisionError(f"Unknown decision {decision!r}: expected match, distinct or defer.")
    candidate.decided_at = timezone.now()
    candidate.decided_by = actor
    candidate.decision_reason = reason
    candidate.save()

    if candidate.kind == MatchCandidate.Kind.LINK and decision != "defer":
        crosswalk = Crosswalk.objects.select_for_update().get(pk=int(candidate.left_ref[2:]))
        siblings = MatchCandidate.objects.filter(
            entity_type=candidate.entity_type,
            left_ref=candidate.left_ref,
            status__in=[MatchCandidate.Status.OPEN, MatchCandidate.Status.DEFERRED],
        ).exclude(pk=candidate.pk)
        if decision == "match":
            crosswalk_link(crosswalk, golden_id=candidate.right_golden_id, method=LinkMethod.STEWARD, actor=actor)
            siblings.update(status=MatchCandidate.Status.SUPERSEDED, updated_at=timezone.now())
        elif not siblings.exists() and crosswalk.golden_id is None:
            spec, adapter = _adapter(candidate.entity_type)
            if adapter.create_new and spec.create_golden is not None and settings.MDM_MATCH_CREATE_NEW:
                record = SourceRecord.objects.get(crosswalk=crosswalk, is_current=True)
                golden_create_from_source(record, actor=actor, reason="new entity: steward rejected every match")
    return candidate
