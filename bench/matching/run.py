"""Matching benchmark: our CLI and Splink on Febrl3, Febrl4 and generated healthcare items and suppliers.

    python -m bench.matching.run                         # febrl3, febrl4, items 10k/100k/1m, suppliers 10k/100k
    python -m bench.matching.run --sizes 10k --datasets items,suppliers
    python -m bench.matching.run --skip-splink           # only our engine
    python -m bench.matching.run --skip-ours             # only Splink (and the data)

Each tool runs in a fresh child process, one at a time, measured the same way: started by a small
launcher (``launch.py``) that reports the child's wall time, CPU time and peak RSS of its largest process
(``wait4``, the kernel's own high-water mark), and the peak of the summed proportional set size (PSS) of
the whole process tree, sampled every 0.2 s, for tools that fork workers. Each run has a timeout (default 30 min); a run that overruns is stopped and reported as
"did not finish". Truth is read only after a run, by the metrics.

Data is cached in ``var/bench/matching/`` (generated once per seed); results go to
``var/bench/matching/results.json`` and a Markdown table on stdout.
"""

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.matching import generate, metrics

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SPECS = HERE / "specs"
SPLINK_VENV = REPO / "bench/.venv-splink"
SPLINK_REQUIREMENTS = REPO / "bench/requirements-splink.txt"
DEFAULT_SIZES = {"items": ["10k", "100k", "1m"], "suppliers": ["10k", "100k"]}
ALL_DATASETS = ["febrl3", "febrl4", "items", "suppliers"]


# --- measuring one child process ------------------------------------------------------------------------


def _process_tree(root: int) -> list[int]:
    """``root`` and all its descendants, from the parent pids in /proc/*/stat."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the ppid is the 2nd field after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; (0, 0) once it has gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def measure(cmd: list[str], *, timeout: float, log_path: Path, cwd: Path = REPO, env: dict | None = None) -> dict:
    """Run ``cmd`` as a fresh child (through ``launch.py``) and return its status, times and peak memory."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    own = log_path.with_suffix(".rusage.json")
    own.unlink(missing_ok=True)
    with log_path.open("wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - the benchmark's own fixed commands
            [sys.executable, str(HERE / "launch.py"), str(own), *cmd],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        peak_tree_pss = peak_single_rss = 0
        status, usage, timed_out = None, None, False
        next_sample = 0.0
        while True:
            pid, wait_status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                status, usage = wait_status, ru
                break
            now = time.perf_counter()
            if now - start > timeout:
                timed_out = True
                status, usage = _stop(proc.pid)
                break
            if now >= next_sample:
                total = 0
                for p in _process_tree(proc.pid):
                    if p == proc.pid:
                        continue  # the launcher itself
                    rss, pss = _memory_kb(p)
                    total += pss
                    peak_single_rss = max(peak_single_rss, rss)
                peak_tree_pss = max(peak_tree_pss, total)
                next_sample = now + 0.2
            time.sleep(0.02)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    # A worker the tool left behind is still ours: stop it so the next run starts on a quiet machine.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    result = {
        "status": "timeout" if timed_out else ("ok" if proc.returncode == 0 else f"exit {proc.returncode}"),
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(peak_single_rss / 1024, 1),
        "peak_tree_pss_mb": round(peak_tree_pss / 1024, 1),
        "log": str(log_path),
    }
    if own.exists():
        tool = json.loads(own.read_text())
        result["wall_s"] = round(tool["wall_s"], 2)
        result["cpu_s"] = round(tool["cpu_s"], 2)
        result["peak_rss_mb"] = round(max(tool["max_rss_kb"], peak_single_rss) / 1024, 1)
    return result


def _stop(pid: int):
    """Terminate a run's process group (the run was started in a session of its own); reap the leader."""
    os.killpg(pid, signal.SIGTERM)
    deadline = time.perf_counter() + 5
    while time.perf_counter() < deadline:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done == pid:
            return status, usage
        time.sleep(0.05)
    os.killpg(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    return status, usage


def last_json_line(path: Path) -> dict:
    """The last line of a log that parses as a JSON object (the tools' own summaries)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return {}


# --- environments and data -------------------------------------------------------------------------------


def splink_python() -> Path:
    """The benchmark's own interpreter with Splink, DuckDB and recordlinkage; created on first use."""
    py = SPLINK_VENV / "bin/python"
    stamp = SPLINK_VENV / ".installed"
    if not py.exists() or not stamp.exists() or stamp.read_text() != SPLINK_REQUIREMENTS.read_text():
        print(f"creating {SPLINK_VENV} from {SPLINK_REQUIREMENTS.name} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(SPLINK_VENV)], check=True)  # noqa: S603
        # Keep the environment out of version control without touching the project's .gitignore.
        (SPLINK_VENV / ".gitignore").write_text("*\n")
        subprocess.run(  # noqa: S603
            [str(py), "-m", "pip", "install", "--quiet", "-r", str(SPLINK_REQUIREMENTS)], check=True
        )
        stamp.write_text(SPLINK_REQUIREMENTS.read_text())
    return py


def ensure_febrl(root: Path, timeout: float) -> None:
    if all((root / name / "meta.json").exists() for name in ("febrl3", "febrl4")):
        return
    cmd = [str(splink_python()), str(HERE / "febrl.py"), str(root)]
    subprocess.run(cmd, check=True, timeout=timeout)  # noqa: S603


def ensure_generated(kind: str, size: str, root: Path, seed: int) -> Path:
    """Generate a data set in a child process (1M records take a few GB while being built)."""
    n = generate.parse_size(size)
    out = root / f"{kind}-{generate.size_label(n)}"
    meta = out / "meta.json"
    if meta.exists() and (out / "truth.csv").exists():
        info = json.loads(meta.read_text())
        if info.get("seed") == seed and info.get("generator_version") == generate.GENERATOR_VERSION:
            return out
    print(f"generating {out.name} ...", file=sys.stderr)
    subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench.matching.generate",
            kind,
            "--size",
            size,
            "--seed",
            str(seed),
            "--out",
            str(root),
        ],
        check=True,
        cwd=REPO,
    )
    return out


def _ids(path: Path, column: str) -> set[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {row[column] for row in csv.DictReader(fh)}


# --- the two tools ---------------------------------------------------------------------------------------


def our_cli_help() -> str:
    """``python -m mdm.matching dedupe --help``, or "" when the engine's CLI is not there yet."""
    if not (REPO / "mdm/matching/__main__.py").exists():
        return ""
    try:
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "mdm.matching", "dedupe", "--help"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return ""
    return out.stdout if out.returncode == 0 else ""


def run_ours(case: dict, out: Path, args, help_text: str) -> dict:
    spec = str(case["spec"])
    pairs = out / "ours-pairs.csv"
    if case["link"]:
        cmd = [sys.executable, "-m", "mdm.matching", "link", "--spec", spec, "--left", str(case["left"])]
        cmd += ["--right", str(case["right"]), "--output", str(pairs)]
    else:
        cmd = [sys.executable, "-m", "mdm.matching", "dedupe", "--spec", spec, "--input", str(case["input"])]
        cmd += ["--output", str(pairs), "--clusters", str(out / "ours-clusters.csv")]
    if "--workers" in help_text:
        cmd += ["--workers", str(args.workers)]
    candidates = out / "ours-candidates.csv"
    for stale in (pairs, out / "ours-clusters.csv", candidates):
        stale.unlink(missing_ok=True)
    result = {"tool": "ours", "command": " ".join(cmd)}
    result.update(measure(cmd, timeout=args.timeout, log_path=out / "ours.log"))
    if result["status"] == "ok" and "--candidates" in help_text:
        # Blocking recall needs every candidate pair written out: a second, untimed run, so writing millions of
        # candidate rows never counts in the timed one.
        recall_cmd = [*cmd, "--quiet", "--candidates", str(candidates), "--output", str(out / "ours-pairs-again.csv")]
        measure(recall_cmd, timeout=args.timeout, log_path=out / "ours-candidates.log")
    if result["status"] == "ok" and pairs.exists():
        result["metrics"] = metrics.evaluate(
            pairs,
            case["truth"],
            left_ids=case["left_ids"],
            clusters_csv=None if case["link"] else out / "ours-clusters.csv",
        )
        if candidates.exists():
            result["blocking"] = _candidate_recall(candidates, case)
        else:
            # Without the pairs themselves only the count the engine reports can be shown, not the recall.
            count = _reported_candidates(out / "ours.log")
            if count is not None:
                result["blocking"] = {"candidate_pairs": count, "blocking_recall": None}
    return result


def _reported_candidates(log: Path) -> int | None:
    """The candidate-pair count from the engine's progress lines (``... 166,285 candidate pairs ...``)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = re.findall(r"([\d,]+) candidate pairs", text)
    return int(found[-1].replace(",", "")) if found else None


def _candidate_recall(path: Path, case: dict) -> dict:
    entity, _ = metrics.load_truth(case["truth"])
    truth = metrics.true_pairs(entity, case["left_ids"])
    cand = set()
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            key = metrics.pair_key(row["left_id"], row["right_id"], case["left_ids"])
            if key:
                cand.add(key)
    return {"candidate_pairs": len(cand), "blocking_recall": metrics.candidate_recall(cand, truth)}


def run_splink(case: dict, out: Path, args) -> dict:
    py = str(splink_python())
    script = str(HERE / "splink_run.py")
    pairs = out / "splink-pairs.csv"
    clusters = out / "splink-clusters.csv"
    inputs = (
        ["--left", str(case["left"]), "--right", str(case["right"])]
        if case["link"]
        else ["--input", str(case["input"])]
    )
    base = [py, script, "--dataset", case["model"], *inputs, "--threads", str(args.workers)]
    cmd = base + ["--output", str(pairs)] + ([] if case["link"] else ["--clusters", str(clusters)])
    for stale in (pairs, clusters):
        stale.unlink(missing_ok=True)
    result = {"tool": "splink", "command": " ".join(cmd)}
    result.update(measure(cmd, timeout=args.timeout, log_path=out / "splink.log"))
    summary = last_json_line(out / "splink.log")
    if summary:
        result["splink"] = summary
    if result["status"] == "ok" and pairs.exists():
        result["metrics"] = metrics.evaluate(
            pairs, case["truth"], left_ids=case["left_ids"], clusters_csv=None if case["link"] else clusters
        )
        # Splink's blocking recall: its prediction blocking rules alone, in a separate (untimed) child.
        blocking = measure(
            base + ["--blocking-recall", str(case["truth"])], timeout=args.timeout, log_path=out / "splink-blocking.log"
        )
        found = last_json_line(out / "splink-blocking.log")
        if blocking["status"] == "ok" and found:
            result["blocking"] = {
                "candidate_pairs": found["candidate_pairs"],
                "blocking_recall": round(found["blocking_recall"], 4) if found["blocking_recall"] is not None else None,
            }
    return result


# --- cases, report -----------------------------------------------------------------------------------------


def cases(args, root: Path) -> list[dict]:
    wanted = args.datasets
    out = []
    if "febrl3" in wanted or "febrl4" in wanted:
        ensure_febrl(root, args.timeout)
    if "febrl3" in wanted:
        d = root / "febrl3"
        out.append(
            {"name": "febrl3", "size": 5000, "model": "febrl3", "spec": SPECS / "febrl.json", "link": False}
            | {"input": d / "records.csv", "truth": d / "truth.csv", "left_ids": None}
        )
    if "febrl4" in wanted:
        d = root / "febrl4"
        out.append(
            {"name": "febrl4", "size": 10000, "model": "febrl4", "spec": SPECS / "febrl.json", "link": True}
            | {"left": d / "left.csv", "right": d / "right.csv", "truth": d / "truth.csv"}
            | {"left_ids": _ids(d / "left.csv", "rec_id")}
        )
    for kind in ("items", "suppliers"):
        if kind not in wanted:
            continue
        for size in args.sizes or DEFAULT_SIZES[kind]:
            d = ensure_generated(kind, size, root, args.seed)
            n = generate.parse_size(size)
            out.append(
                {"name": f"{kind}-{generate.size_label(n)}", "size": n, "model": kind, "spec": SPECS / f"{kind}.json"}
                | {"link": False, "input": d / "records.csv", "truth": d / "truth.csv", "left_ids": None}
            )
    return out


def machine() -> dict:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib),
        "python": platform.python_version(),
        "date": dt.date.today().isoformat(),
    }


def _fmt(value, digits=3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(results: list[dict], timeout: float) -> str:
    head = (
        "| data set | records | tool | precision | recall | F1 | F1 match+review | F1 clusters | blocking recall "
        "| candidate pairs | wall s | peak RSS MB | tree PSS MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        m = r.get("metrics") or {}
        b = r.get("blocking") or {}
        if r["status"] == "ok" and m:
            cells = [
                _fmt(m["match"]["precision"]),
                _fmt(m["match"]["recall"]),
                f"**{_fmt(m['match']['f1'])}**",
                _fmt(m["match_review"]["f1"]),
                _fmt((m.get("clusters") or {}).get("f1")),
            ]
            wall = _fmt(r["wall_s"], 1)
        else:
            reason = f"did not finish in {timeout / 60:.0f} min" if r["status"] == "timeout" else r["status"]
            cells = [reason, "", "", "", ""]
            wall = f"> {timeout:.0f}" if r["status"] == "timeout" else _fmt(r.get("wall_s"), 1)
        rows.append(
            f"| {r['dataset']} | {r['records']:,} | {r['tool']} | "
            + " | ".join(cells)
            + f" | {_fmt(b.get('blocking_recall'))} | {_fmt(b.get('candidate_pairs'))} | {wall} | "
            f"{_fmt(r.get('peak_rss_mb'), 0)} | {_fmt(r.get('peak_tree_pss_mb'), 0)} |"
        )
    return head + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matching.run", description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(ALL_DATASETS), help="comma list of " + ",".join(ALL_DATASETS))
    parser.add_argument(
        "--sizes",
        help="sizes for items and suppliers, e.g. 10k,100k,1m (default: items 10k,100k,1m; suppliers 10k,100k)",
    )
    parser.add_argument("--skip-splink", action="store_true")
    parser.add_argument("--skip-ours", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run (default 1800)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="our --workers and Splink's threads")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--data-dir", type=Path, default=REPO / "var/bench/matching")
    parser.add_argument("--results", type=Path, help="default: <data-dir>/results.json")
    args = parser.parse_args(argv)
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = sorted(set(args.datasets) - set(ALL_DATASETS))
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}: choose from {', '.join(ALL_DATASETS)}")
    if args.sizes:
        try:
            args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
            [generate.parse_size(s) for s in args.sizes]
        except ValueError as exc:
            parser.error(str(exc))
    root = args.data_dir
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    help_text = "" if args.skip_ours else our_cli_help()
    if not args.skip_ours and not help_text:
        print("our engine's CLI (python -m mdm.matching) is not usable yet: running Splink only", file=sys.stderr)
    results = []
    for case in cases(args, root):
        out = root / "runs" / case["name"]
        out.mkdir(parents=True, exist_ok=True)
        tools = []
        if help_text:
            tools.append(("ours", lambda c=case, o=out: run_ours(c, o, args, help_text)))
        if not args.skip_splink:
            tools.append(("splink", lambda c=case, o=out: run_splink(c, o, args)))
        for name, fn in tools:
            print(f"{case['name']}: {name} ...", file=sys.stderr, flush=True)
            r = fn()
            r.update(dataset=case["name"], records=case["size"])
            results.append(r)
            m = (r.get("metrics") or {}).get("match") or {}
            print(f"  {r['status']} {r['wall_s']} s, F1 {m.get('f1', '-')}", file=sys.stderr, flush=True)
    total = round(time.perf_counter() - started, 1)
    report = {
        "machine": machine(),
        "settings": {
            "timeout_s": args.timeout,
            "workers": args.workers,
            "seed": args.seed,
            "splink_threshold": 0.5,
            "our_match_band": metrics.MATCH_BAND,
        },
        "total_seconds": total,
        "runs": results,
    }
    data_meta = {}
    for case in cases_meta(root):
        data_meta[case[0]] = case[1]
    report["datasets"] = data_meta
    results_path = args.results or root / "results.json"
    results_path.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(results, args.timeout))
    print(f"whole run: {total:.0f} s; results in {results_path}")
    return 0


def cases_meta(root: Path):
    for meta in sorted(root.glob("*/meta.json")):
        try:
            yield meta.parent.name, json.loads(meta.read_text())
        except ValueError:
            continue


if __name__ == "__main__":
    raise SystemExit(main())
