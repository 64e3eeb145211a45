"""Communities and influence in a worker process give the same tables as in this process."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphprofile.analysis import analyse, graph_worker, projection
from graphprofile.analysis.assemble import identity_part
from graphprofile.analysis.projection import project
from graphprofile.analysis.proximity import customer_proximity
from graphprofile.analysis.settings import AnalysisSettings
from graphprofile.generate import generate_bank
from graphprofile.graph import build_graph
from graphprofile.ingest import load_frames

NOW = pd.Timestamp("2025-08-01", tz="UTC")


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory):
    data: Path = tmp_path_factory.mktemp("bank")
    generate_bank(data, customers=2000, seed=5)
    return build_graph(load_frames(data))


def test_worker_process_gives_the_same_tables(graph, monkeypatch: pytest.MonkeyPatch) -> None:
    here = analyse(graph, run_id="r", computed_at=NOW, seed=7, workers=1)
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    there = analyse(graph, run_id="r", computed_at=NOW, seed=7, workers=2)
    assert here.meta["graph_jobs"]["where"] == "this process"
    assert there.meta["graph_jobs"]["where"] == "worker process"
    assert there.meta["graph_jobs"]["peak_rss_mb"] > 0
    # the bank has known fraud and devices: the worker computed proximity and the identity
    # rings too
    assert set(there.meta["graph_jobs"]["seconds"]) == {
        "communities",
        "influence",
        "proximity",
        "identity_rings",
    }
    assert (there.rings["kind"] == "identity").sum() > 0
    assert there.features["fraud_hops"].notna().sum() > 0
    assert here.meta["communities"] == there.meta["communities"]
    assert here.meta["betweenness"] == there.meta["betweenness"]
    for name, table in here.tables().items():
        pd.testing.assert_frame_equal(table, there.tables()[name], obj=name)
    assert here.features["community_id"].nunique() > 1
    assert here.features["pagerank"].gt(0).all()


def test_the_projection_builds_its_igraph_graphs_only_when_used(graph) -> None:
    proj = project(graph)
    assert "relationship" not in vars(proj) and "money" not in vars(proj)  # not built yet
    rel, money = proj.relationship, proj.money
    assert proj.relationship is rel  # built once
    edges = proj.rel_edges
    assert rel.vcount() == len(proj.customers) and not rel.is_directed()
    assert rel.get_edgelist() == list(zip(edges["src"], edges["dst"], strict=True))
    assert rel.es["weight"] == edges["weight"].tolist()
    me = proj.money_edges
    assert money.vcount() == len(proj.accounts) and money.is_directed()
    assert money.get_edgelist() == list(zip(me["src"], me["dst"], strict=True))
    assert money.es["weight"] == me["total_amount"].tolist()


def test_with_the_worker_this_process_never_builds_the_igraph_graphs(
    graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = []
    for name in ("relationship_graph", "money_graph"):
        real = getattr(projection, name)
        monkeypatch.setattr(
            projection, name, lambda *a, _real=real, _name=name: built.append(_name) or _real(*a)
        )
    analyse(graph, run_id="r", computed_at=NOW, seed=7, workers=1)
    assert sorted(built) == ["money_graph", "relationship_graph"]
    built.clear()
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    there = analyse(graph, run_id="r", computed_at=NOW, seed=7, workers=2)
    assert there.meta["graph_jobs"]["where"] == "worker process"
    assert built == []


def test_a_script_without_a_main_guard_is_not_run_again_by_the_worker(
    graph, tmp_path: Path
) -> None:
    """multiprocessing's spawn and forkserver children import the caller's ``__main__``:
    a script calling the analysis at its top level would have run twice."""
    import pickle
    import subprocess
    import sys

    (tmp_path / "graph.pickle").write_bytes(pickle.dumps(graph))
    script = tmp_path / "script.py"
    script.write_text(
        "import pickle, sys\n"
        "import pandas as pd\n"
        "from graphprofile.analysis import analyse, graph_worker\n"
        "print('script body ran', flush=True)\n"
        "graph_worker.WORKER_MIN_EDGES = 0\n"
        f"graph = pickle.loads(open({str(tmp_path / 'graph.pickle')!r}, 'rb').read())\n"
        "r = analyse(graph, run_id='r', computed_at=pd.Timestamp('2025-08-01', tz='UTC'),"
        " seed=7, workers=2)\n"
        "print(r.meta['graph_jobs']['where'])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(graph_worker.__file__).resolve().parents[2]))
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        env=env,
    )
    assert done.stdout.splitlines() == ["script body ran", "worker process"]


def test_small_graphs_one_worker_and_the_default_stay_in_this_process(
    graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(graph)
    s = AnalysisSettings()
    edges = proj.relationship.ecount() + proj.money.ecount()
    assert 0 < edges < graph_worker.WORKER_MIN_EDGES
    assert graph_worker.start(proj, s, seed=1, workers=8) is None
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    assert graph_worker.start(proj, s, seed=1, workers=1) is None
    # by default, a worker where this process may use two CPUs
    monkeypatch.setattr(graph_worker, "usable_cpus", lambda: 1)
    assert graph_worker.start(proj, s, seed=1) is None
    monkeypatch.setattr(graph_worker, "usable_cpus", lambda: 2)
    pending = graph_worker.start(proj, s, seed=1)
    assert pending is not None
    assert pending.result().run["where"] == "worker process"


def _cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "cap"),
    [
        ({}, None),  # no cgroup files: the affinity alone
        ({"cpu.max": "max 100000\n"}, None),  # v2, no quota
        ({"cpu.max": "100000 100000\n"}, 1),  # v2, one CPU
        ({"cpu.max": "150000 100000\n"}, 1),  # v2, one and a half: one
        ({"cpu.max": "800000 100000\n"}, None),  # v2, more than the affinity
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu.max": "garbage\n"}, None),  # unreadable: the affinity alone
    ],
)
def test_usable_cpus_is_the_affinity_capped_by_a_cgroup_quota(
    tmp_path: Path, files: dict[str, str], cap: int | None
) -> None:
    affinity = len(os.sched_getaffinity(0))
    got = graph_worker.usable_cpus(_cgroup(tmp_path, files))
    assert got == (min(affinity, cap) if cap is not None else affinity)


def test_resolve_workers_asked_or_from_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    assert graph_worker.resolve_workers(1) == 1
    assert graph_worker.resolve_workers(3) == 3
    monkeypatch.setattr(graph_worker, "usable_cpus", lambda: 1)
    assert graph_worker.resolve_workers(None) == 1
    monkeypatch.setattr(graph_worker, "usable_cpus", lambda: 16)
    assert graph_worker.resolve_workers(None) == 2


def test_a_killed_worker_is_replaced_by_this_process(
    graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(graph)
    s = AnalysisSettings()
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    known = np.zeros(len(proj.customers), dtype=bool)
    known[::50] = True
    pending = graph_worker.start(proj, s, seed=3, workers=2, known=known, identity=True)
    assert pending is not None
    os.kill(pending.pid, signal.SIGKILL)  # the worker, killed as the OOM killer would
    out = pending.result()
    assert pending.done()
    assert out.run["where"] == "this process, after the worker failed: exit status -9"
    expected = graph_worker.graph_jobs(
        proj.relationship, proj.rel_edges, proj.money, proj.account_customer, s, seed=3
    )
    assert (out.membership == expected.membership).all()
    pd.testing.assert_frame_equal(out.influence, expected.influence)
    near = customer_proximity(proj, known, settings=s)  # proximity too, in this process
    assert out.proximity is not None
    np.testing.assert_array_equal(out.proximity.fraud_proximity, near.fraud_proximity)
    assert out.proximity.neighbours == near.neighbours
    _same_part(out.identity, identity_part(proj))  # and the identity rings


def _forced_with_known_fraud(graph, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """The bank's projection, default settings and every 50th customer as known fraud,
    with the worker forced on for any graph size."""
    proj = project(graph)
    known = np.zeros(len(proj.customers), dtype=bool)
    known[::50] = True
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    return proj, AnalysisSettings(), known


def _same_part(got: tuple | None, expected: tuple) -> None:
    """Two identity ring parts (kind, members, -, evidence, stats) are equal."""
    assert got is not None
    kind, members, none, evidence, stats = got
    assert kind == expected[0] == "identity" and none is None and expected[2] is None
    assert len(members) > 0
    pd.testing.assert_frame_equal(members, expected[1])
    pd.testing.assert_frame_equal(evidence.top, expected[3].top)
    pd.testing.assert_frame_equal(stats, expected[4])


def test_the_worker_finds_the_same_identity_rings(graph, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project(graph)
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    pending = graph_worker.start(proj, AnalysisSettings(), seed=3, workers=2, identity=True)
    assert pending is not None
    out = pending.result()
    assert out.run["where"] == "worker process" and out.proximity is None
    _same_part(out.identity, identity_part(proj))
    # not asked: none
    pending = graph_worker.start(proj, AnalysisSettings(), seed=3, workers=2)
    assert pending is not None and pending.result().identity is None


def test_the_worker_computes_the_same_proximity(graph, monkeypatch: pytest.MonkeyPatch) -> None:
    proj, s, known = _forced_with_known_fraud(graph, monkeypatch)
    pending = graph_worker.start(proj, s, seed=3, workers=2, known=known)
    assert pending is not None
    out = pending.result()
    assert out.run["where"] == "worker process"
    near = customer_proximity(proj, known, settings=s)
    assert out.proximity is not None and len(near.neighbours) > 0
    np.testing.assert_array_equal(out.proximity.fraud_proximity, near.fraud_proximity)
    np.testing.assert_array_equal(out.proximity.hops, near.hops)
    np.testing.assert_array_equal(out.proximity.share, near.share)
    assert out.proximity.neighbours == near.neighbours
    assert out.proximity.meta == near.meta
    # without known fraud the worker leaves proximity to the caller
    pending = graph_worker.start(proj, s, seed=3, workers=2)
    assert pending is not None and pending.result().proximity is None


def test_this_process_takes_back_the_last_jobs_the_worker_has_not_begun(
    graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj, s, known = _forced_with_known_fraud(graph, monkeypatch)
    pending = graph_worker.start(proj, s, seed=3, workers=2, known=known, identity=True)
    assert pending is not None
    # the worker is still starting (its interpreter, then Leiden and influence): both of
    # its last jobs are still free, and this process does them
    assert pending.share(proximity=True) == ["identity_rings", "proximity"]
    out = pending.result()
    assert out.run["where"] == "worker process"
    assert out.run["here"] == ["identity_rings", "proximity"]
    assert {"identity_rings", "proximity"} <= set(out.run["seconds"])
    _same_part(out.identity, identity_part(proj))
    near = customer_proximity(proj, known, settings=s)
    assert out.proximity is not None and out.proximity.neighbours == near.neighbours
    np.testing.assert_array_equal(out.proximity.fraud_proximity, near.fraud_proximity)
    # a worker that has finished (or begun them) keeps its jobs: nothing is done twice
    pending = graph_worker.start(proj, s, seed=3, workers=2, known=known, identity=True)
    assert pending is not None
    pending._proc.wait()
    assert pending.share(proximity=True) == []
    out = pending.result()
    assert "here" not in out.run
    _same_part(out.identity, identity_part(proj))
    np.testing.assert_array_equal(out.proximity.hops, near.hops)


def test_the_analysis_takes_back_only_the_identity_rings(
    graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(graph)
    known = np.zeros(len(proj.customers), dtype=bool)
    known[::50] = True
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    s = AnalysisSettings()
    pending = graph_worker.start(proj, s, seed=3, workers=2, known=known, identity=True)
    assert pending is not None
    assert pending.share() == ["identity_rings"]  # proximity stays with the worker
    out = pending.result()
    assert out.run["here"] == ["identity_rings"]
    near = customer_proximity(proj, known, settings=s)
    assert out.proximity is not None
    np.testing.assert_array_equal(out.proximity.fraud_proximity, near.fraud_proximity)


def test_a_job_is_claimed_by_one_process_only(tmp_path: Path) -> None:
    assert graph_worker.claim(tmp_path, "proximity")
    assert not graph_worker.claim(tmp_path, "proximity")
    assert graph_worker.claim(tmp_path, "identity_rings")


def test_a_spare_worker_started_ahead_takes_the_jobs(
    graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(graph)
    s = AnalysisSettings()
    assert graph_worker.prestart(10**9, workers=1) is None  # one process asked for
    assert graph_worker.prestart(graph_worker.WORKER_MIN_EDGES - 1, workers=2) is None
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    spare = graph_worker.prestart(1, workers=2)
    assert spare is not None
    pending = graph_worker.start(proj, s, seed=3, workers=2, spare=spare)
    assert pending is not None and pending.pid == spare.proc.pid  # the spare, not a new one
    out = pending.result()
    assert out.run["where"] == "worker process"
    expected = graph_worker.graph_jobs(
        proj.relationship, proj.rel_edges, proj.money, proj.account_customer, s, seed=3
    )
    assert (out.membership == expected.membership).all()
    assert not spare.dir.exists()  # its folder removed with the result read
    assert not pending.folder.exists()  # and the pickles' folder


def test_the_pickles_go_to_memory_where_there_is_room(tmp_path: Path) -> None:
    ram = tmp_path / "ram"
    ram.mkdir()
    roomy = graph_worker.exchange_folder(1, ram)
    assert roomy.parent == ram and roomy.is_dir()
    # more than the folder has free, a folder that is not there: the temporary folder
    for folder in (
        graph_worker.exchange_folder(10**18, ram),
        graph_worker.exchange_folder(1, tmp_path / "absent"),
        graph_worker.exchange_folder(1, None),
    ):
        assert folder.parent == Path(tempfile.gettempdir()) and folder.is_dir()
        folder.rmdir()


def test_the_worker_removes_its_arguments_once_read(
    graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_worker, "RAM_FOLDER", tmp_path)
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    pending = graph_worker.start(project(graph), AnalysisSettings(), seed=3, workers=2)
    assert pending is not None and pending.folder.parent == tmp_path
    deadline = time.monotonic() + 60
    while (pending.folder / "in.pickle").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not (pending.folder / "in.pickle").exists()
    assert pending.result().run["where"] == "worker process"
    assert not pending.folder.exists()


def _spare(graph, monkeypatch: pytest.MonkeyPatch):
    """The projection, default settings and a spare worker started for them."""
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    spare = graph_worker.prestart(1, workers=2)
    assert spare is not None
    return project(graph), AnalysisSettings(), spare


def test_a_spare_worker_not_needed_is_stopped(graph, monkeypatch: pytest.MonkeyPatch) -> None:
    proj, s, spare = _spare(graph, monkeypatch)
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 10**12)  # the graph is smaller
    assert graph_worker.start(proj, s, seed=3, workers=2, spare=spare) is None
    assert spare.proc.poll() is not None and not spare.dir.exists()
    # a spare whose standard input closes before any work exits by itself, successfully
    idle = graph_worker.Spare()
    assert idle.proc.stdin is not None
    idle.proc.stdin.close()
    assert idle.proc.wait(timeout=60) == 0
    idle.close()


def test_a_dead_spare_is_replaced_by_a_new_worker(graph, monkeypatch: pytest.MonkeyPatch) -> None:
    proj, s, spare = _spare(graph, monkeypatch)
    os.kill(spare.proc.pid, signal.SIGKILL)
    spare.proc.wait()
    pending = graph_worker.start(proj, s, seed=3, workers=2, spare=spare)
    assert pending is not None and pending.pid != spare.proc.pid
    assert pending.result().run["where"] == "worker process"
    assert not spare.dir.exists()


def test_rings_collected_while_the_worker_runs_give_the_same_tables(
    graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for a worker that is still running is used for the part of the rings that
    needs no communities (collect_rings); the tables are those of one process."""
    here = analyse(graph, run_id="r", computed_at=NOW, seed=7, workers=1)
    monkeypatch.setattr(graph_worker, "WORKER_MIN_EDGES", 0)
    # the worker counts as running until its result is asked for: this process takes back
    # the identity rings (when the worker has not begun them) and then collects the rings
    monkeypatch.setattr(graph_worker.Pending, "done", lambda self: False)
    there = analyse(graph, run_id="r", computed_at=NOW, seed=7, workers=2)
    took_identity = "identity_rings" in there.meta["graph_jobs"].get("here", [])
    assert ("rings_collected" in there.meta["seconds"]) == took_identity
    for name, table in here.tables().items():
        pd.testing.assert_frame_equal(table, there.tables()[name], obj=name)
    assert (there.rings["kind"] == "identity").sum() > 0


def test_collected_rings_assemble_as_the_whole_assembly(graph) -> None:
    """assemble_rings given collect_rings of its parts (computed earlier, before the
    communities were known) gives the very tables it gives computing them itself."""
    from graphprofile.analysis.assemble import assemble_rings, collect_rings, flow_parts
    from graphprofile.analysis.communities import partition
    from graphprofile.analysis.flows import flow_patterns
    from graphprofile.analysis.projection import transaction_accounts
    from graphprofile.analysis.rings import bank_context, known_fraud

    s = AnalysisSettings()
    proj = project(graph)
    src, dst = transaction_accounts(graph, proj.accounts)
    context = bank_context(graph, proj, txn_src=src, txn_dst=dst, known=known_fraud(graph, proj))
    kinds, cycles, tx, _ = flow_patterns(graph, proj, s, src_codes=src, dst_codes=dst)
    parts = [identity_part(proj), *flow_parts(kinds, cycles, tx, proj, s)]
    collected = collect_rings(parts, proj, graph, context)  # no communities in context yet
    assert collected is not None and "community" not in context
    context["community"] = partition(proj.relationship, proj.rel_edges, s, seed=3)[0]
    args = dict(t0=tx.t0, min_risk=s.ring_min_risk, previous=None, match_min_share=0.5)
    whole = assemble_rings(parts, proj, graph, context, **args)
    halves = assemble_rings(parts, proj, graph, context, collected=collected, **args)
    assert len(whole[0]) > 0 and whole[0]["cohesion"].notna().any()
    pd.testing.assert_frame_equal(whole[0], halves[0])
    pd.testing.assert_frame_equal(whole[1], halves[1])
    assert whole[2] == halves[2]


def test_profiles_begun_while_the_model_is_fitted_are_the_whole_profiles(
    graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The analysis makes what of the profiles needs neither the learned score nor the risk
    (early_profiles) while the model is fitted; made afresh from the same inputs once the
    model is done, customer_profiles makes the very same features and tags from it."""
    from graphprofile.analysis import job

    begun: dict = {}
    seen: dict = {}
    early, whole = job.early_profiles, job.customer_profiles

    def spy_early(proj, **kw):
        begun.update(proj=proj, **kw)
        return early(proj, **kw)

    def spy(proj, **kw):
        seen.update(proj=proj, **kw)
        return whole(proj, **kw)

    monkeypatch.setattr(job, "early_profiles", spy_early)
    monkeypatch.setattr(job, "customer_profiles", spy)
    result = analyse(graph, run_id="r", computed_at=NOW, seed=7, workers=1)
    assert begun and seen["early"] is not None
    afresh = early(begun["proj"], **{k: v for k, v in begun.items() if k != "proj"})
    alone = {k: v for k, v in seen.items() if k not in ("proj", "early")}
    features, tags, _ = whole(seen["proj"], early=afresh, **alone)
    pd.testing.assert_frame_equal(features, result.features)
    pd.testing.assert_frame_equal(tags, result.tags)
    assert set(tags["tag"]) >= {"community", "risk:high", "ring_member"}
