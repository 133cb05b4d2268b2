"""Pairwise precision, recall and F1 of predicted pairs and clusters against the truth (stdlib only).

Truth is ``id,entity_id[,family_id]`` per record: two records are a true pair when they share an entity id
(for a link, one from each side). A predicted pair counts once whatever its order or repetition. Family ids
mark the hard negatives (sibling sizes, related companies): a false positive inside one family is counted
apart so the report shows how often a tool merged siblings.
"""

import csv
from collections import defaultdict
from pathlib import Path

MATCH_BAND = "match"


def load_truth(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Return ({record id: entity id}, {record id: family id}) from a truth CSV."""
    entity, family = {}, {}
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            entity[row["id"]] = row["entity_id"]
            if row.get("family_id"):
                family[row["id"]] = row["family_id"]
    return entity, family


def pair_key(a: str, b: str, left_ids: set | None = None) -> tuple[str, str] | None:
    """Canonical key of a pair: (left, right) for a link, (smaller, larger) for a dedupe; None for a self pair.

    For a link a pair given the other way round (right id first) is turned around; two ids from the
    same side make no valid link pair and get the key of a dedupe pair, so they count as false positives.
    """
    if a == b:
        return None
    if left_ids is not None:
        if a in left_ids and b not in left_ids:
            return (a, b)
        if b in left_ids and a not in left_ids:
            return (b, a)
    return (a, b) if a < b else (b, a)


def true_pairs(entity: dict[str, str], left_ids: set | None = None) -> set[tuple[str, str]]:
    """All pairs of records that share an entity (only left x right pairs for a link)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for rid, e in entity.items():
        groups[e].append(rid)
    pairs = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        if left_ids is None:
            members.sort()
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    pairs.add((a, b))
        else:
            lefts = [m for m in members if m in left_ids]
            rights = [m for m in members if m not in left_ids]
            pairs.update((a, b) for a in lefts for b in rights)
    return pairs


def read_pairs(path: Path, left_ids: set | None = None) -> dict[str, set[tuple[str, str]]]:
    """Read ``left_id,right_id,probability,band`` and return the distinct pairs per band."""
    by_band: dict[str, set] = defaultdict(set)
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            key = pair_key(row["left_id"], row["right_id"], left_ids)
            if key is not None:
                by_band[(row.get("band") or MATCH_BAND).strip().lower()].add(key)
    return dict(by_band)


def cluster_pairs(path: Path) -> set[tuple[str, str]]:
    """Pairs implied by a ``record_id,cluster_id`` file: every two records placed in one cluster."""
    clusters: dict[str, list[str]] = defaultdict(list)
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            clusters[row["cluster_id"]].append(row["record_id"])
    return true_pairs({rid: cid for cid, members in clusters.items() for rid in members})


def score(predicted: set, truth: set, family: dict[str, str] | None = None) -> dict:
    """Precision, recall and F1 of ``predicted`` against ``truth`` (sets of pair keys)."""
    tp = len(predicted & truth)
    fp = len(predicted) - tp
    fn = len(truth) - tp
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "predicted_pairs": len(predicted),
    }
    if family:
        out["fp_same_family"] = sum(
            1 for a, b in predicted - truth if family.get(a) is not None and family.get(a) == family.get(b)
        )
    return out


def evaluate(
    pairs_csv: Path,
    truth_csv: Path,
    *,
    left_ids: set | None = None,
    clusters_csv: Path | None = None,
) -> dict:
    """Score a tool's output: the match band alone, match + review, and (if given) its clusters."""
    entity, family = load_truth(truth_csv)
    truth = true_pairs(entity, left_ids)
    bands = read_pairs(pairs_csv, left_ids)
    match = bands.get(MATCH_BAND, set())
    everything = set().union(*bands.values()) if bands else set()
    result = {
        "true_pairs": len(truth),
        "bands": {band: len(p) for band, p in sorted(bands.items())},
        "match": score(match, truth, family),
        "match_review": score(everything, truth, family),
    }
    if clusters_csv is not None and Path(clusters_csv).exists():
        result["clusters"] = score(cluster_pairs(clusters_csv), truth, family)
    return result


def candidate_recall(candidate_pairs: set, truth: set) -> float | None:
    """Share of true pairs the blocking put in front of the scorer."""
    return round(len(candidate_pairs & truth) / len(truth), 4) if truth else None
