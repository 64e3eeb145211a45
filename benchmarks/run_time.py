"""Time ``graphprofile run`` in this process on one bank: stage and analysis-job seconds as JSON.

Usage::

    PYTHONPATH=<tree> python benchmarks/run_time.py BANK_DIR [WORKERS] [--keep-output] > out.json

The run's output folder is removed at the end unless ``--keep-output`` is given.

Unlike ``floor.py`` it imports ``graphprofile`` from wherever ``PYTHONPATH`` points, so the
same script times an older checkout (``git worktree add ../old <commit>``) against this one,
back to back on the same bank (``benchmarks/RESULTS.md``: #11's cost at 100k). Not a test:
nothing here asserts a time.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    from graphprofile.pipeline import RunConfig, run_job

    keep = "--keep-output" in argv  # else the run's output folder is removed at the end
    argv = [a for a in argv if a != "--keep-output"]
    data = Path(argv[0])
    options = {"workers": int(argv[1])} if len(argv) > 1 else {}
    out = Path(tempfile.mkdtemp(prefix="gp-rt-"))
    start = time.perf_counter()
    summary = run_job(RunConfig(data_dir=data, out_dir=out, seed=1, report=True, **options))
    total = time.perf_counter() - start
    analysis = summary.get("analysis", {})
    print(
        json.dumps(
            {
                "total": round(total, 2),
                "stages": {name: s["seconds"] for name, s in summary["stages"].items()},
                "jobs": analysis.get("seconds", {}),
                "graph_jobs": analysis.get("graph_jobs"),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )
    if not keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
