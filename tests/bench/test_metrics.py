"""Pairwise precision, recall and F1 on hand-made pairs; clusters; link orientation; the run measurement."""

import sys

import pytest

from bench.matching import metrics
from bench.matching.run import markdown, measure

ENTITY = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "c1": "C"}


def test_true_pairs_of_a_dedupe():
    assert metrics.true_pairs(ENTITY) == {("a1", "a2"), ("a1", "a3"), ("a2", "a3"), ("b1", "b2")}


def test_true_pairs_of_a_link_are_left_right_only():
    entity = {"l1": "A", "l2": "A", "r1": "A", "l3": "B", "r2": "C"}
    assert metrics.true_pairs(entity, left_ids={"l1", "l2", "l3"}) == {("l1", "r1"), ("l2", "r1")}


def test_score_counts_each_pair_once_whatever_the_order():
    truth = metrics.true_pairs(ENTITY)
    predicted = {metrics.pair_key(a, b) for a, b in [("a2", "a1"), ("a1", "a2"), ("b1", "c1"), ("a3", "a1")]}
    s = metrics.score(predicted, truth)
    assert (s["tp"], s["fp"], s["fn"]) == (2, 1, 2)
    assert s["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["recall"] == 0.5
    assert s["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), abs=1e-4)


def test_score_of_nothing_is_zero_not_an_error():
    s = metrics.score(set(), {("a", "b")})
    assert (s["precision"], s["recall"], s["f1"]) == (0.0, 0.0, 0.0)


def test_pair_key_turns_a_link_pair_around_and_drops_self_pairs():
    left = {"l1"}
    assert metrics.pair_key("r1", "l1", left) == ("l1", "r1")
    assert metrics.pair_key("l1", "l1", left) is None
    assert metrics.pair_key("b", "a") == ("a", "b")


def test_false_positives_inside_a_family_are_counted_apart():
    family = {"x1": "F", "x2": "F", "y1": "G"}
    s = metrics.score({("x1", "x2"), ("x1", "y1")}, set(), family)
    assert s["fp"] == 2 and s["fp_same_family"] == 1


def _write(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8")
    return path


def test_evaluate_scores_match_band_match_plus_review_and_clusters(tmp_path):
    truth = _write(
        tmp_path / "truth.csv", ["id", "entity_id", "family_id"], [[k, v, "F" + v] for k, v in ENTITY.items()]
    )
    pairs = _write(
        tmp_path / "pairs.csv",
        ["left_id", "right_id", "probability", "band"],
        [["a1", "a2", "0.99", "match"], ["b2", "b1", "0.7", "review"], ["a1", "c1", "0.6", "review"]],
    )
    clusters = _write(
        tmp_path / "clusters.csv",
        ["record_id", "cluster_id"],
        [["a1", "k1"], ["a2", "k1"], ["a3", "k1"], ["b1", "k2"], ["b2", "k3"], ["c1", "k4"]],
    )
    result = metrics.evaluate(pairs, truth, clusters_csv=clusters)
    assert result["true_pairs"] == 4
    assert result["bands"] == {"match": 1, "review": 2}
    assert (result["match"]["tp"], result["match"]["fp"], result["match"]["recall"]) == (1, 0, 0.25)
    assert (result["match_review"]["tp"], result["match_review"]["fp"]) == (2, 1)
    assert (result["clusters"]["tp"], result["clusters"]["fp"], result["clusters"]["fn"]) == (3, 0, 1)


def test_cluster_pairs_are_every_two_records_in_one_cluster(tmp_path):
    clusters = _write(tmp_path / "c.csv", ["record_id", "cluster_id"], [["x", "1"], ["y", "1"], ["z", "1"], ["w", "2"]])
    assert metrics.cluster_pairs(clusters) == {("x", "y"), ("x", "z"), ("y", "z")}


def test_candidate_recall():
    assert metrics.candidate_recall({("a", "b"), ("c", "d")}, {("a", "b"), ("e", "f")}) == 0.5
    assert metrics.candidate_recall(set(), set()) is None


def test_measure_reports_peak_memory_of_the_child(tmp_path):
    code = "b = bytearray(120 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('done')"
    r = measure([sys.executable, "-c", code], timeout=60, log_path=tmp_path / "child.log")
    assert r["status"] == "ok"
    assert r["peak_rss_mb"] >= 120
    assert (tmp_path / "child.log").read_text().strip() == "done"


def test_measure_stops_a_run_past_its_timeout_and_reports_failures(tmp_path):
    slow = measure([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5, log_path=tmp_path / "s.log")
    assert slow["status"] == "timeout"
    failed = measure([sys.executable, "-c", "raise SystemExit(3)"], timeout=30, log_path=tmp_path / "f.log")
    assert failed["status"] == "exit 3"


def test_markdown_table_shows_unfinished_runs():
    rows = [
        {"dataset": "items-1m", "records": 1_000_000, "tool": "splink", "status": "timeout", "wall_s": 1800.0},
        {
            "dataset": "items-1m",
            "records": 1_000_000,
            "tool": "ours",
            "status": "ok",
            "wall_s": 50.0,
            "peak_rss_mb": 900.0,
            "peak_tree_pss_mb": 1200.0,
            "metrics": {
                "match": {"precision": 0.9, "recall": 0.8, "f1": 0.847},
                "match_review": {"f1": 0.85},
                "clusters": {"f1": 0.84},
            },
        },
    ]
    table = markdown(rows, 1800)
    assert "did not finish in 30 min" in table
    assert "**0.847**" in table


def test_candidate_count_is_read_from_the_engine_progress_lines(tmp_path):
    from bench.matching.run import _reported_candidates

    log = tmp_path / "ours.log"
    log.write_text("[match] read 5,000 records\n[match] 166,285 candidate pairs (0.59s)\n[match] done\n")
    assert _reported_candidates(log) == 166_285
    log.write_text("nothing here\n")
    assert _reported_candidates(log) is None


def test_measure_does_not_charge_the_runner_memory_to_a_small_child(tmp_path):
    """The kernel keeps a peak RSS across exec: a child forked from a big runner must not inherit it."""
    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])
    r = measure([sys.executable, "-c", "print('small')"], timeout=60, log_path=tmp_path / "small.log")
    del ballast
    assert r["status"] == "ok"
    assert r["peak_rss_mb"] < 100
