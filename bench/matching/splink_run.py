# ruff: noqa: S608 - SQL here is built from Splink's own table names and the benchmark's fixed paths.
"""Splink's documented approach on one benchmark data set (run by bench/.venv-splink/bin/python, never the hub).

    splink_run.py --dataset febrl3 --input records.csv --output pairs.csv [--clusters clusters.csv]
    splink_run.py --dataset febrl4 --left left.csv --right right.csv --output pairs.csv
    splink_run.py --dataset items --input records.csv --blocking-recall truth.csv   # candidates only

DuckDB backend; blocking rules for prediction, the loosest left out when Splink's own comparison count says
they would pass 50 million comparisons (``--comparison-budget``; this only bites at 1M items); comparisons from Splink's comparison library; the probability
that two random records match from deterministic rules and a guessed recall (as Splink's Febrl examples do);
u by random sampling; m by expectation maximisation over two training blocking rules; predictions at
match probability >= 0.5 (match weight 0, the point where Splink's model says "more likely a match than
not"), and for dedupe ``cluster_pairwise_predictions_at_threshold`` at the same 0.5.

Febrl models follow Splink's own Febrl3/Febrl4 examples (docs/demos/examples/duckdb/febrl3, febrl4). The
item and supplier models are what a Splink user would write for those columns, with the light cleaning
Splink's feature-engineering guide recommends (case, punctuation, digits-only identifiers); no model
setting was chosen by looking at the truth.

Output: ``left_id,right_id,probability,band`` (band is always ``match``), clusters as ``record_id,cluster_id``,
and one JSON line on stdout with the phase timings and counts.
"""

import argparse
import json
import os
import sys
import time

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules

THRESHOLD = 0.5
# Splink's guidance for DuckDB on one machine: tens of millions of comparisons, not hundreds.
COMPARISON_BUDGET = 50_000_000


def _read(con, path: str):
    return con.read_csv(path, header=True, all_varchar=True)


def _exec(con, sql: str) -> list:
    """Run one statement and drain its result (DuckDB 2 keeps a connection busy until it is fetched)."""
    return con.execute(sql).fetchall()


# --- Febrl: Splink's examples -------------------------------------------------------------------------


def febrl3(con, args):
    rel = _read(con, args.input)
    blocking = [
        block_on("soc_sec_id"),
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    deterministic = [
        block_on("soc_sec_id"),
        block_on("given_name", "surname", "date_of_birth"),
        "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
    ]
    training = {
        "deterministic": (deterministic, 0.9),
        "u_max_pairs": 1e6,
        "em": [block_on("date_of_birth"), block_on("postcode")],
        "em_without_tf": False,
    }
    return [rel], settings, training


def febrl4(con, args):
    rels = [_read(con, args.left), _read(con, args.right)]
    blocking = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d", invalid_dates_as_null=True
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
    )
    deterministic = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
    training = {
        "deterministic": (deterministic, 0.8),
        "u_max_pairs": 1e6,
        "em": [block_on("date_of_birth"), block_on("postcode")],
        "em_without_tf": True,
    }
    return rels, settings, training


# --- generated healthcare data: a Splink user's model ---------------------------------------------------

_LEGAL = r"\b(INC|INCORPORATED|LLC|L L C|LP|L P|LTD|LIMITED|CORP|CORPORATION|CO|COMPANY|GMBH|AG|SA|SAS|PLC|AB)\b"


def _words(expr: str) -> str:
    """Upper case, anything but letters and digits to one space."""
    return f"nullif(trim(regexp_replace(upper(coalesce({expr}, '')), '[^A-Z0-9]+', ' ', 'g')), '')"


def _org(expr: str) -> str:
    inner = f"regexp_replace(upper(coalesce({expr}, '')), '[^A-Z0-9]+', ' ', 'g')"
    return f"nullif(trim(regexp_replace(regexp_replace({inner}, '{_LEGAL}', '', 'g'), ' +', ' ', 'g')), '')"


def _alnum(expr: str) -> str:
    return f"nullif(regexp_replace(upper(coalesce({expr}, '')), '[^A-Z0-9]', '', 'g'), '')"


def _digits(expr: str) -> str:
    return f"nullif(regexp_replace(coalesce({expr}, ''), '[^0-9]', '', 'g'), '')"


def items(con, args):
    raw = _read(con, args.input)
    gtins = (
        "case when trim(coalesce(gtin, '')) = '' then null else list_transform(string_split(gtin, '|'), "
        "lambda x: lpad(regexp_replace(regexp_replace(x, '^\\(01\\)', ''), '[^0-9]', '', 'g'), 14, '0')) end"
    )
    rel = raw.project(
        f"id, {_words('description')} as desc_std, "
        f"list_filter(string_split({_words('description')}, ' '), lambda x: x <> '') as desc_tokens, "
        f"{_org('manufacturer')} as mfr, {_alnum('part_number')} as pn, {gtins} as gtins, "
        f"{_words('category')} as category"
    )
    blocking = [
        block_on("pn"),
        block_on("gtins", arrays_to_explode=["gtins"]),
        block_on("desc_std"),
        block_on("substr(pn, 1, 5)", "substr(mfr, 1, 4)"),
        block_on("substr(mfr, 1, 4)", "desc_tokens[1]", "desc_tokens[-1]"),
    ]
    description = cl.CustomComparison(
        output_column_name="desc_std",
        comparison_levels=[
            cll.NullLevel("desc_std"),
            cll.ExactMatchLevel("desc_std"),
            cll.JaroWinklerLevel("desc_std", 0.92),
            cll.ArrayIntersectLevel("desc_tokens", min_intersection=4),
            cll.JaroWinklerLevel("desc_std", 0.8),
            cll.ArrayIntersectLevel("desc_tokens", min_intersection=2),
            cll.ElseLevel(),
        ],
    )
    settings = SettingsCreator(
        unique_id_column_name="id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            description,
            cl.JaroWinklerAtThresholds("mfr", [0.92, 0.8]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("pn"),
            cl.ArrayIntersectAtSizes("gtins", [1]),
            cl.ExactMatch("category").configure(term_frequency_adjustments=True),
        ],
    )
    training = {
        "deterministic": ([block_on("pn"), block_on("desc_std", "mfr")], 0.7),
        "u_max_pairs": 1e7,
        "em": [block_on("pn"), block_on("desc_std")],
        "em_without_tf": True,
    }
    return [rel], settings, training


def suppliers(con, args):
    raw = _read(con, args.input)
    zip5 = f"lpad(substr({_digits('postcode')}, 1, 5), 5, '0')"
    rel = raw.project(
        f"id, {_org('name')} as name, {_digits('duns')} as duns, {_digits('ein')} as ein, "
        f"{_words('address')} as address, {_words('city')} as city, {zip5} as zip5, "
        f"{_words('state')} as state, right({_digits('phone')}, 10) as phone"
    )
    blocking = [
        block_on("duns"),
        block_on("ein"),
        block_on("phone"),
        block_on("name"),
        block_on("zip5", "substr(name, 1, 3)"),
        block_on("city", "substr(name, 1, 4)"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.7]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("duns"),
            cl.ExactMatch("ein"),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.8]),
            cl.JaroWinklerAtThresholds("city", [0.9]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("zip5").configure(term_frequency_adjustments=True),
            cl.ExactMatch("state"),
            cl.ExactMatch("phone"),
        ],
    )
    training = {
        "deterministic": ([block_on("duns"), block_on("ein")], 0.7),
        "u_max_pairs": 1e7,
        "em": [block_on("zip5"), block_on("substr(name, 1, 4)", "state")],
        "em_without_tf": True,
    }
    return [rel], settings, training


MODELS = {"febrl3": febrl3, "febrl4": febrl4, "items": items, "suppliers": suppliers}


def within_budget(sdfs, settings, budget: float) -> tuple[list, list[dict]]:
    """Keep the prediction blocking rules, in order, while their comparisons stay within ``budget``.

    Splink's own ``count_comparisons_from_blocking_rules`` (exact on small inputs, from a 5 % sample of
    each side on large ones) gives each rule's extra comparisons; a rule that would take the total past
    the budget is left out, as Splink's blocking guide advises for rules too loose for the data size.
    """
    rules = list(settings.blocking_rules_to_generate_predictions)
    records = sum(s.as_duckdbpyrelation().count("*").fetchall()[0][0] for s in sdfs)
    counts = count_comparisons_from_blocking_rules(
        sdfs if len(sdfs) > 1 else sdfs[0],
        blocking_rules=rules,
        link_type=settings.link_type,
        unique_id_column_name=settings.unique_id_column_name,
        record_sample_proportion=1.0 if records <= 50_000 else 0.05,
    )
    kept, report, total = [], [], 0
    for rule, count in zip(rules, counts, strict=True):
        extra = count["marginal_comparison_count"]
        keep = total + extra <= budget
        if keep:
            kept.append(rule)
            total += extra
        report.append({"rule": count["blocking_rule"], "comparisons": int(extra), "kept": keep})
    return kept, report


def build(args, *, budget: float | None = None):
    con = duckdb.connect()
    _exec(con, f"SET threads TO {args.threads}")
    rels, settings, training = MODELS[args.dataset](con, args)
    db_api = DuckDBAPI(connection=con)
    names = ["left_records", "right_records"] if len(rels) == 2 else ["records"]
    sdfs = [db_api.register(r, dataset_display_name=n) for r, n in zip(rels, names, strict=True)]
    report = []
    if budget:
        settings.blocking_rules_to_generate_predictions, report = within_budget(sdfs, settings, budget)
    linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], settings)
    linker.blocking_report = report
    return con, linker, training, len(rels) == 2


def _uid(linker) -> str:
    return linker._settings_obj.column_info_settings.unique_id_input_column.unquote().name


def _oriented_pairs_sql(table: str, link: bool, uid: str) -> str:
    """Pairs as (left_id, right_id): left file first for a link, the smaller id first for a dedupe."""
    if link:
        return (
            f"select case when source_dataset_l = 'left_records' then {uid}_l else {uid}_r end as left_id, "
            f"case when source_dataset_l = 'left_records' then {uid}_r else {uid}_l end as right_id from {table}"
        )
    return f"select least({uid}_l, {uid}_r) as left_id, greatest({uid}_l, {uid}_r) as right_id from {table}"


def blocking_recall(args) -> dict:
    """Candidate pairs Splink's prediction blocking rules generate, and how many true pairs they contain."""
    start = time.perf_counter()
    con, linker, _, link = build(args, budget=args.comparison_budget)
    blocked = linker.inference.deterministic_link()
    _exec(con, f"create table cand as {_oriented_pairs_sql(blocked.physical_name, link, _uid(linker))}")
    truth = _read(con, args.blocking_recall)
    con.register("truth_rel", truth)
    if link:
        left_ids = _read(con, args.left)
        con.register("left_rel", left_ids)
        _exec(
            con,
            "create table tp as select a.id as left_id, b.id as right_id from truth_rel a join truth_rel b "
            "on a.entity_id = b.entity_id where a.id in (select rec_id from left_rel) "
            "and b.id not in (select rec_id from left_rel)",
        )
    else:
        _exec(
            con,
            "create table tp as select a.id as left_id, b.id as right_id from truth_rel a join truth_rel b "
            "on a.entity_id = b.entity_id and a.id < b.id",
        )
    candidates = con.execute("select count(*) from (select distinct left_id, right_id from cand)").fetchall()[0][0]
    true_pairs = con.execute("select count(*) from tp").fetchall()[0][0]
    found = con.execute(
        "select count(*) from tp join (select distinct * from cand) c using (left_id, right_id)"
    ).fetchall()[0][0]
    return {
        "candidate_pairs": candidates,
        "true_pairs": true_pairs,
        "true_pairs_in_candidates": found,
        "blocking_recall": found / true_pairs if true_pairs else None,
        "seconds": round(time.perf_counter() - start, 2),
        "blocking_rules": linker.blocking_report,
    }


def run(args) -> dict:
    phases = {}
    t0 = time.perf_counter()
    con, linker, training, link = build(args, budget=args.comparison_budget)
    phases["load"] = time.perf_counter() - t0

    t = time.perf_counter()
    rules, recall = training["deterministic"]
    linker.training.estimate_probability_two_random_records_match(rules, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=training["u_max_pairs"], seed=2)
    for rule in training["em"]:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=training["em_without_tf"]
        )
    phases["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    oriented = _oriented_pairs_sql(predictions.physical_name, link, _uid(linker)).replace(
        " from ", ", match_probability as probability, 'match' as band from ", 1
    )
    _exec(con, f"copy ({oriented}) to '{args.output}' (header, delimiter ',')")
    phases["predict"] = time.perf_counter() - t
    pairs = con.execute(f"select count(*) from {predictions.physical_name}").fetchall()[0][0]

    result = {"pairs": pairs, "threshold": THRESHOLD}
    if args.clusters and not link:
        t = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=THRESHOLD
        )
        _exec(
            con,
            f"copy (select {_uid(linker)} as record_id, cluster_id from {clusters.physical_name}) "
            f"to '{args.clusters}' (header, delimiter ',')",
        )
        phases["cluster"] = time.perf_counter() - t
    result["phases"] = {k: round(v, 2) for k, v in phases.items()}
    result["blocking_rules"] = linker.blocking_report
    result["probability_two_random_records_match"] = linker._settings_obj._probability_two_random_records_match
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True, choices=sorted(MODELS))
    parser.add_argument("--input")
    parser.add_argument("--left")
    parser.add_argument("--right")
    parser.add_argument("--output")
    parser.add_argument("--clusters")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--comparison-budget",
        type=float,
        default=COMPARISON_BUDGET,
        help=f"most comparisons the prediction blocking rules may generate (default {COMPARISON_BUDGET:,.0f})",
    )
    parser.add_argument("--blocking-recall", metavar="TRUTH_CSV", help="count candidates and true pairs in them")
    args = parser.parse_args(argv)
    if args.dataset == "febrl4" and not (args.left and args.right):
        parser.error("febrl4 needs --left and --right")
    if args.dataset != "febrl4" and not args.input:
        parser.error(f"{args.dataset} needs --input")
    if not args.blocking_recall and not args.output:
        parser.error("--output is required unless --blocking-recall is given")
    result = blocking_recall(args) if args.blocking_recall else run(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
