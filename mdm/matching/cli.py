"""``python -m mdm.matching``: deduplicate or link plain CSV files described by a spec file.

    python -m mdm.matching dedupe --spec items.toml --input items.csv --output pairs.csv [--clusters clusters.csv]
    python -m mdm.matching link --spec people.json --left a.csv --right b.csv --output pairs.csv

Output: ``left_id,right_id,probability,band`` for every pair in the match or review band (``--explain`` adds an
``explanation`` JSON column). With no ``--model``, the model is fitted by EM on the input itself.
Exit status 2 with a one-line message for bad input (spec, missing column, unreadable file).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import sys
import time
from pathlib import Path

from .matcher import Matcher
from .model import Model
from .prepared import default_workers
from .spec import MatchSpec, load_spec


class InputError(Exception):
    pass


def read_csv(path: str, spec: MatchSpec, label: str) -> list[dict]:
    """Rows as dicts (cells stripped; empty cells are None); every spec column must be present."""
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"{label} file {path!r} cannot be read: {exc.strerror}") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise InputError(f"{label} file {path!r} is empty (expected a header row)") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{label} file {path!r} is not UTF-8: {exc.reason} at byte {exc.start}") from exc
        needed = [spec.id_field] + [f.name for f in spec.fields]
        for column in needed:
            if column not in header:
                raise InputError(
                    f"{label} file {path!r} has no column {column!r} (the spec needs: {', '.join(needed)})"
                )
        index = {name: header.index(name) for name in needed}
        rows = []
        try:
            for line, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                record = {}
                for name, pos in index.items():
                    cell = row[pos].strip() if pos < len(row) else ""
                    record[name] = cell or None
                if record[spec.id_field] is None:
                    raise InputError(f"{label} file {path!r}, line {line}: the id column {spec.id_field!r} is empty")
                rows.append(record)
        except UnicodeDecodeError as exc:
            raise InputError(f"{label} file {path!r} is not UTF-8: {exc.reason}") from exc
    return rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mdm.matching", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--spec", required=True, help="match spec file (.json or .toml)")
    common.add_argument("--output", required=True, help="pairs CSV to write")
    common.add_argument("--explain", action="store_true", help="add an explanation JSON column")
    common.add_argument("--workers", type=int, default=None, help="worker processes/threads (default: CPUs)")
    common.add_argument("--model", help="score with this model JSON instead of fitting one")
    common.add_argument("--save-model", help="write the fitted model as JSON")
    common.add_argument("--quiet", action="store_true", help="no progress on stderr")
    common.add_argument(
        "--candidates", help="also write every candidate pair blocking produced (left_id,right_id): blocking recall"
    )
    dedupe = sub.add_parser("dedupe", parents=[common], help="find duplicates within one file")
    dedupe.add_argument("--input", required=True, help="records CSV")
    dedupe.add_argument("--clusters", help="write record_id,cluster_id CSV")
    link = sub.add_parser("link", parents=[common], help="find records of --right that match --left")
    link.add_argument("--left", required=True, help="left records CSV")
    link.add_argument("--right", required=True, help="right records CSV")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # A run makes millions of small objects and no garbage cycles worth collecting on the way.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:
        if enabled:
            gc.enable()


def _run(args) -> int:
    started = time.perf_counter()
    try:
        spec = load_spec(args.spec)
        model = None
        if args.model:
            try:
                model = Model.from_dict(json.loads(Path(args.model).read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError, ValueError) as exc:
                raise InputError(f"model file {args.model!r} cannot be used: {exc}") from exc
        if args.workers is not None and args.workers < 1:
            raise InputError("--workers must be at least 1")
        matcher = Matcher(spec, model, workers=args.workers or default_workers(), verbose=not args.quiet)
        if args.command == "dedupe":
            records = read_csv(args.input, spec, "input")
            _log(args, f"read {len(records):,} records", started)
            # Without --explain the rows are not needed afterwards: hand them over so they are freed once
            # standardized, not held through blocking, scoring and clustering.
            result = matcher.dedupe(records if args.explain else _handed_over(records))
            left = right = None
            if args.explain:
                left = right = matcher.prepare(matcher._sorted_records(records))
        else:
            left_records = read_csv(args.left, spec, "left")
            right_records = read_csv(args.right, spec, "right")
            _log(args, f"read {len(left_records):,} + {len(right_records):,} records", started)
            result = matcher.link(left_records, right_records)
            left = right = None
            if args.explain:
                left = matcher.prepare(matcher._sorted_records(left_records))
                right = matcher.prepare(matcher._sorted_records(right_records))
    except (ValueError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _write_pairs(args.output, result.pairs, matcher, result.model, left, right, args.explain)
    if args.command == "dedupe" and args.clusters:
        with open(args.clusters, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["record_id", "cluster_id"])
            # Matcher.dedupe lists the clusters in record id order already.
            writer.writerows(result.clusters.items())
    if args.candidates and result.candidates is not None:
        left_ids, right_ids, pairs = result.candidates
        with open(args.candidates, "w", encoding="utf-8", newline="") as handle:
            handle.write("left_id,right_id\n")
            handle.writelines(f"{left_ids[a]},{right_ids[b]}\n" for a, b in pairs.tolist())
    if args.save_model:
        Path(args.save_model).write_text(json.dumps(result.model.to_dict()), encoding="utf-8")
    _log(args, f"wrote {len(result.pairs):,} pairs to {args.output}", started)
    return 0


def _handed_over(rows: list):
    """Yield the rows, emptying the list, so the caller keeps no reference to them."""
    rows.reverse()
    while rows:
        yield rows.pop()


def _write_pairs(path, pairs, matcher: Matcher, model, left, right, explain: bool):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["left_id", "right_id", "probability", "band"] + (["explanation"] if explain else []))
        if not explain:
            writer.writerows((p.left_id, p.right_id, f"{p.probability:.6f}", p.band) for p in pairs)
            return
        ctx = matcher._context(left, right, model)
        for pair in pairs:
            row = [pair.left_id, pair.right_id, f"{pair.probability:.6f}", pair.band]
            if explain:
                i, j = left.index(pair.left_id), right.index(pair.right_id)
                exp = matcher._explain_ctx(ctx, model, i, j)
                data = exp.to_dict()
                if pair.probability in (0.0, 1.0) and exp.probability != pair.probability:
                    data["decision"] = "match" if pair.probability == 1.0 else "distinct"
                data["band"] = pair.band
                row.append(json.dumps(data, ensure_ascii=False, default=str))
            writer.writerow(row)


def _log(args, message: str, started: float):
    if not getattr(args, "quiet", False):
        print(f"[match] {message} ({time.perf_counter() - started:.2f}s)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
