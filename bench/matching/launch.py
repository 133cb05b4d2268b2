"""Run one command and write its wall time, CPU time and peak RSS as JSON (stdlib only, run as a script).

    python bench/matching/launch.py RESULT.json COMMAND [ARG ...]

The benchmark runner starts every tool through this small process. The kernel keeps a process's peak RSS
across ``exec``, so a tool forked straight from the runner (which holds a million truth pairs in memory)
would inherit the runner's peak; forked from this launcher, the peak is the tool's own.
"""

import json
import os
import subprocess
import sys
import time


def main() -> int:
    result_path, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)  # noqa: S603 - the runner's own fixed commands
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(result_path, "w") as fh:
        json.dump(
            {
                "exit_code": code,
                "wall_s": wall,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "max_rss_kb": usage.ru_maxrss,
            },
            fh,
        )
    return code if 0 <= code < 256 else 1


if __name__ == "__main__":
    sys.exit(main())
