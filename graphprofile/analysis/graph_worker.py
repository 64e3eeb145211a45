"""Communities and influence, the igraph-bound jobs, in a worker process beside the ring search.

igraph holds Python's global interpreter lock through every call and is not thread-safe, so
threads cannot overlap Leiden or PageRank with anything. Given two or more workers (the
default where two CPUs are usable, :func:`resolve_workers`), on a graph large enough for it
to pay, the analysis hands both jobs to a second process (:func:`start`: a fresh
interpreter, see :class:`Spare`) and searches rings and computes the behaviour features in
its own meanwhile; neither needs the worker's results, and ring risk (which reads the
communities) is the first step that does. Given known-fraud customers, the worker then
computes fraud proximity too (it needs neither, and the two processes' shares come out
about even). At 1M customers the three jobs take about a quarter of a single-process run.

On by default where this process may use two CPUs (:func:`resolve_workers`). Measured on
two 2-core machines (``benchmarks/RESULTS.md``): on the first, the two processes slowed each
other down by more than they overlapped (1M customers: 161.9 s with the worker against
146.9 s without, when only the ring search ran beside it); on the second (two AMD EPYC
cores) two busy processes ran at nearly full speed each, and with the behaviour features and
proximity beside the graph jobs the 1M run took 27 % less time. ``--workers 1`` keeps
everything in one process.

The worker gets the projection's edge arrays, rebuilds the same igraph graphs from them (same
vertices, edges in the same order, same weights) and runs the same functions with the same
seed as the analysis does in-process, so the results are identical either way
(``tests/unit/test_graph_worker.py``). If the worker process dies (killed, out of memory),
the jobs run again in this process and ``run.json`` says so.
"""

from __future__ import annotations

import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import igraph as ig
import numpy as np
import pandas as pd

from graphprofile._pages import freed_memory_kept, release_freed_memory, small_pages_for_arrays
from graphprofile.analysis.assemble import RingPart, identity_part
from graphprofile.analysis.communities import partition
from graphprofile.analysis.influence import influence
from graphprofile.analysis.projection import LAYERS, Projection, money_graph, relationship_graph
from graphprofile.analysis.proximity import Proximity, customer_proximity
from graphprofile.analysis.settings import AnalysisSettings

#: Fewest relationship plus money-flow edges for which a worker process is started. Starting
#: one costs about a second (a fresh interpreter importing igraph and pandas, the edges
#: copied across); below this the two jobs take less than that, and run in this process.
WORKER_MIN_EDGES = 200_000

#: A folder in memory (tmpfs) for the pickles the two processes exchange, used when it has
#: room for them (:func:`exchange_folder`). Written to a disk-backed temporary folder, the
#: worker's 233 MB of arguments at 1M customers took 1.3-3.0 s of this process' time (the
#: kernel holds back a writer while it writes earlier files back to a slow disk) against
#: 0.07 s here (``benchmarks/RESULTS.md``, thirteenth session). Each pickle is removed as
#: soon as it has been read, so the memory is held for seconds, not for the run.
RAM_FOLDER = Path("/dev/shm")


@dataclass
class GraphJobs:
    """What :func:`graph_jobs` found, and how.

    Attributes
    ----------
    membership : numpy.ndarray
        Canonical Leiden community number of each customer (:func:`~graphprofile.analysis.
        communities.partition`).
    modularity : float
        Its weighted modularity.
    influence : pandas.DataFrame
        :func:`~graphprofile.analysis.influence.influence`'s features.
    betweenness : dict
        Betweenness mode and sample size.
    run : dict
        ``where`` (``"this process"``, ``"worker process"`` or ``"this process, after
        the worker failed: ..."``), ``seconds`` of each job and the worker's
        ``peak_rss_mb``: for ``run.json``.
    proximity : Proximity or None
        :func:`~graphprofile.analysis.proximity.customer_proximity`, when the worker was
        given known-fraud customers (:class:`Pending`); ``None`` otherwise.
    identity : tuple or None
        The identity rings' :data:`~graphprofile.analysis.assemble.RingPart`
        (:func:`~graphprofile.analysis.assemble.identity_part`), when the worker was asked
        for them; ``None`` otherwise.
    """

    membership: np.ndarray
    modularity: float
    influence: pd.DataFrame
    betweenness: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)
    proximity: Proximity | None = None
    identity: RingPart | None = None


def graph_jobs(
    relationship: ig.Graph,
    rel_edges: pd.DataFrame,
    money: ig.Graph,
    account_customer: np.ndarray,
    settings: AnalysisSettings,
    *,
    seed: int,
) -> GraphJobs:
    """Leiden communities and influence features, in this process.

    Parameters
    ----------
    relationship, rel_edges, money, account_customer
        As in :class:`~graphprofile.analysis.projection.Projection`.
    settings : AnalysisSettings
        Leiden and betweenness settings.
    seed : int
        Seed of Leiden and of the betweenness sample.

    Returns
    -------
    GraphJobs
    """
    start = time.perf_counter()
    membership, modularity = partition(relationship, rel_edges, settings, seed=seed)
    release_freed_memory()  # Leiden's working memory, before the influence measures
    middle = time.perf_counter()
    infl, mode = influence_of(relationship, money, account_customer, settings, seed=seed)
    seconds = {
        "communities": round(middle - start, 3),
        "influence": round(time.perf_counter() - middle, 3),
    }
    return GraphJobs(membership, modularity, infl, mode, {"seconds": seconds})


def influence_of(
    relationship: ig.Graph,
    money: ig.Graph,
    account_customer: np.ndarray,
    settings: AnalysisSettings,
    *,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`~graphprofile.analysis.influence.influence` with the betweenness settings of
    ``settings``."""
    return influence(
        relationship,
        money,
        account_customer,
        exact_max=settings.betweenness_exact_max,
        samples=settings.betweenness_samples,
        budget=settings.betweenness_budget,
        seed=seed,
    )


def _in_worker(
    customers: int,
    rel_edges: pd.DataFrame,
    accounts: int,
    money_edges: pd.DataFrame,
    account_customer: np.ndarray,
    settings: AnalysisSettings,
    seed: int,
    links: pd.DataFrame | None = None,
    proximity: tuple[pd.Index, np.ndarray] | None = None,
    identity: bool = False,
    *,
    claims: Path | None = None,
) -> GraphJobs:
    """:func:`graph_jobs` on graphs rebuilt from the projection's edge tables by the
    functions :func:`~graphprofile.analysis.projection.project` builds them with; then, on
    a projection of the same tables (the igraph graphs freed first) whose ``links`` are
    ``links`` (the device and identifier rows of
    :attr:`~graphprofile.analysis.projection.Projection.links`), given ``proximity``
    (customer ids, known-fraud flags)
    :func:`~graphprofile.analysis.proximity.customer_proximity`, and with ``identity`` the
    identity rings (:func:`~graphprofile.analysis.assemble.identity_part`). With ``claims``
    (the folder shared with the calling process, see :func:`claim`), each of those two
    only if the calling process has not taken it first."""
    relationship = relationship_graph(customers, rel_edges)
    money = money_graph(accounts, money_edges)
    out = graph_jobs(relationship, rel_edges, money, account_customer, settings, seed=seed)
    del relationship, money
    release_freed_memory()
    if links is not None:
        slim = Projection(
            # identity rings read only how many customers there are; proximity the ids
            customers=proximity[0] if proximity is not None else pd.RangeIndex(customers),
            accounts=pd.RangeIndex(accounts),  # positions: neither reads an account id
            account_customer=account_customer,
            rel_edges=rel_edges,
            money_edges=money_edges,
            links=links,
            hubs=links.iloc[:0],
            hub_thresholds={},
        )
        if proximity is not None and (claims is None or claim(claims, "proximity")):
            start = time.perf_counter()
            out.proximity = customer_proximity(slim, proximity[1], settings=settings)
            release_freed_memory()
            out.run["seconds"]["proximity"] = round(time.perf_counter() - start, 3)
        if identity and (claims is None or claim(claims, "identity_rings")):
            start = time.perf_counter()
            out.identity = identity_part(slim)
            out.run["seconds"]["identity_rings"] = round(time.perf_counter() - start, 3)
    out.run["peak_rss_mb"] = _own_peak_rss_mb()
    return out


def claim(folder: Path, job: str) -> bool:
    """Whether this process does ``job``: the first of the two processes to ask for it gets
    it (a file made only if it does not exist yet, in the folder of the exchanged pickles).

    The worker's last jobs (fraud proximity, the identity rings) need neither communities
    nor influence, so whichever process is free first does them: the calling process takes
    back those the worker has not begun when its own work is done before the worker's
    (:meth:`Pending.share`). The results are the same in either process.
    """
    try:
        handle = os.open(folder / f"claim-{job}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(handle)
    return True


def exchange_folder(need: int, ram: Path | None = RAM_FOLDER) -> Path:
    """A new folder for the pickles the two processes exchange: in ``ram`` when it is a
    writable folder with at least ``need`` bytes free, else (or with ``ram=None``) in the
    system's temporary folder (:func:`tempfile.mkdtemp`'s default, ``TMPDIR``).

    Parameters
    ----------
    need : int
        Bytes the pickles may take (the arguments and the result, with room to spare).
    ram : pathlib.Path or None, default :data:`RAM_FOLDER`
        The memory-backed folder to prefer.

    Returns
    -------
    pathlib.Path
        The folder made; the caller removes it.
    """
    prefix = "graphprofile-exchange-"
    try:
        if ram is not None and ram.is_dir() and os.access(ram, os.W_OK | os.X_OK):
            free = os.statvfs(ram)
            if free.f_bavail * free.f_frsize >= need:
                return Path(tempfile.mkdtemp(prefix=prefix, dir=ram))
    except OSError:  # it cannot be used after all: the default below
        pass
    return Path(tempfile.mkdtemp(prefix=prefix))


def _pickled_bytes(args: tuple[Any, ...]) -> int:
    """About what ``args`` take pickled: the bytes of their frames and arrays."""
    total = 0
    for arg in args:
        for item in arg if isinstance(arg, tuple) else (arg,):
            if isinstance(item, pd.DataFrame):
                total += int(item.memory_usage(index=True).sum())
            elif isinstance(item, pd.Series | pd.Index):
                total += int(item.memory_usage())
            elif isinstance(item, np.ndarray):
                total += item.nbytes
    return total


def proximity_links(proj: Projection) -> pd.DataFrame:
    """The rows of ``proj.links`` that fraud proximity and the identity rings read (devices
    and identifiers)."""
    links = proj.links
    return links.loc[
        links["layer"].isin(["devices", "identifiers"]).to_numpy(),
        ["layer", "item", "item_id", "kind", "cust"],
    ]


def _own_peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program.

    Linux's ``VmHWM``: ``ru_maxrss`` of a process started by fork and exec also counts the
    memory of the parent it was forked from (at 1M customers it said 4,309 MB for a worker
    whose own peak was about 1 GB).
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def serve(paths: list[str]) -> None:
    """The worker process's entry point (``python -m graphprofile.analysis._graph_worker_main
    [IN OUT]``): read :func:`_in_worker`'s arguments pickled in ``IN``, write its
    :class:`GraphJobs` pickled to ``OUT`` (renamed into place when complete).

    Without arguments (a :class:`Spare` started ahead of its work), ``IN`` and ``OUT`` come
    as two lines on standard input once the arguments are written; standard input closed
    before that: nothing to do, exit.
    """
    if not paths:
        paths = [sys.stdin.readline().rstrip("\n"), sys.stdin.readline().rstrip("\n")]
        if not all(paths):
            return
    source, target = paths
    with small_pages_for_arrays(), freed_memory_kept():  # as in the run that started it
        with open(source, "rb") as fh:
            args = pickle.load(fh)
        Path(source).unlink()  # read: its memory back at once where the folder is in memory
        out = _in_worker(*args, claims=Path(source).parent)
    with open(target + ".part", "wb") as fh:
        pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(target + ".part", target)


class Spare:
    """A worker process started ahead of its work: the interpreter and its imports (about a
    second) overlap the projections. :func:`start` hands it the jobs; closed unused (or
    dropped), it exits.

    The worker is a fresh interpreter running only this module (``python -m``), not a
    multiprocessing child: those import the caller's ``__main__`` again, and a script
    that calls :func:`~graphprofile.pipeline.run_job` at its top level would then load
    the whole bank a second time in the worker. Its folder (a temporary directory) holds
    its standard error; removed when the worker is closed.
    """

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="graphprofile-worker-"))
        # the worker imports graphprofile from where this process did
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._stderr = open(self.dir / "stderr.txt", "wb")  # closed by _close
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "graphprofile.analysis._graph_worker_main"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=env,
        )
        # a worker never given work, or whose result is never asked for (the analysis
        # failed meanwhile), is stopped, and its files removed, when this object goes
        self.close = weakref.finalize(self, _close, self.proc, self._stderr, self.dir)

    def give(self, source: Path, target: Path) -> None:
        """Send the worker its argument and result paths (it starts on them)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"{source}\n{target}\n".encode())
            self.proc.stdin.close()
        except OSError:  # the worker has died: Pending.result finds out and runs the jobs
            pass


def _worker_pays(edges: int, workers: int | None) -> bool:
    """Whether the graph jobs go to a worker: two processes allowed, and a graph of at
    least :data:`WORKER_MIN_EDGES` relationship plus money-flow edges."""
    return resolve_workers(workers) >= 2 and edges >= WORKER_MIN_EDGES


def prestart(graph_edges: int, workers: int | None = None) -> Spare | None:
    """A :class:`Spare` worker when the analysis will likely hand it the graph jobs.

    Parameters
    ----------
    graph_edges : int
        An estimate of the relationship plus money-flow edges, from the canonical graph
        (before the projections count them exactly).
    workers : int, optional
        As in :func:`start`.

    Returns
    -------
    Spare or None
        ``None`` when :func:`start` would keep the jobs in this process.
    """
    return Spare() if _worker_pays(graph_edges, workers) else None


class Pending:
    """Graph jobs running in a worker process (a :class:`Spare`: the one given, if it is
    still alive, or a new one); :meth:`result` waits for them. Arguments and results travel
    as pickles in a folder of their own, in memory where there is room
    (:func:`exchange_folder`); each is removed once read, the folder when the result is
    read (or this object dropped).
    """

    def __init__(
        self,
        proj: Projection,
        settings: AnalysisSettings,
        *,
        seed: int,
        known: np.ndarray | None = None,
        identity: bool = False,
        spare: Spare | None = None,
    ) -> None:
        self._args = (proj, settings, seed, known, identity)
        self._here: dict[str, Any] = {}  # jobs taken back by this process (share)
        worker = spare if spare is not None and spare.proc.poll() is None else Spare()
        if worker is not spare and spare is not None:
            spare.close()
        rel_columns = ["src", "dst", "weight", *(LAYERS if settings.multiplex else ())]
        money_columns = ["src", "dst", "total_amount", *(["n_txns"] if known is not None else [])]
        args = (
            len(proj.customers),
            proj.rel_edges[rel_columns],
            len(proj.accounts),
            proj.money_edges[money_columns],
            proj.account_customer,
            settings,
            seed,
            proximity_links(proj) if known is not None or identity else None,
            None if known is None else (proj.customers, known),
            identity,
        )
        self._worker = worker  # kept: its finalizer stops the worker when this object goes
        self._proc = worker.proc
        # room for the arguments, then the result (smaller), with some to spare
        need = 2 * _pickled_bytes(args) + (64 << 20)
        for ram in (RAM_FOLDER, None):  # the memory folder filled up meanwhile: the disk
            self._dir = exchange_folder(need, ram)
            self._removal = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
            try:
                with open(self._dir / "in.pickle", "wb") as fh:
                    pickle.dump(args, fh, protocol=pickle.HIGHEST_PROTOCOL)
                break
            except OSError:
                self._removal()
                if ram is None:
                    raise
        worker.give(self._dir / "in.pickle", self._dir / "out.pickle")

    def _finalizer(self) -> None:
        """Stop the worker (when still running) and remove its folders."""
        self._worker.close()
        self._removal()

    @property
    def folder(self) -> Path:
        """Where the pickles are exchanged (:func:`exchange_folder`); removed with the
        result read."""
        return self._dir

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self._proc.pid

    def done(self) -> bool:
        """Whether the worker has finished (or failed): :meth:`result` would not wait."""
        return self._proc.poll() is not None

    def share(self, *, proximity: bool = False) -> list[str]:
        """Do here those of the worker's last jobs it has not begun: the identity rings
        (its last), then, with ``proximity``, fraud proximity (see :func:`claim`). For this
        process to call when its own work is done and it would otherwise wait;
        :meth:`result` returns them with the worker's. Returns the jobs done here.

        The analysis leaves ``proximity`` off: its working memory (about 1 GB at 1M
        customers, the worker's peak) would come on top of both processes' memory at
        that moment, and the identity rings alone took the wait at 1M from 4-7 s to
        2-3 s (``docs/ANALYSIS.md``).
        """
        proj, settings, _seed, known, identity = self._args
        jobs: list[tuple[str, Any]] = []
        if identity:
            jobs.append(("identity_rings", lambda: identity_part(proj)))
        if known is not None and proximity:
            jobs.append(("proximity", lambda: customer_proximity(proj, known, settings=settings)))
        for job, run in jobs:
            if self.done() or job in self._here or not claim(self._dir, job):
                break
            start = time.perf_counter()
            self._here[job] = (run(), round(time.perf_counter() - start, 3))
        return list(self._here)

    def taken(self, job: str) -> Any:
        """The result of ``job`` if :meth:`share` did it here (``None`` otherwise)."""
        done = self._here.get(job)
        return None if done is None else done[0]

    def result(self) -> GraphJobs:
        """The jobs' results; computed in this process instead if the worker failed."""
        try:
            code = self._proc.wait()
            done = self._dir / "out.pickle"
            if code == 0 and done.is_file():
                with open(done, "rb") as fh:
                    out: GraphJobs = pickle.load(fh)
                out.run["where"] = "worker process"
                return self._with_shared(out)
            why = _last_line(self._worker.dir / "stderr.txt") or f"exit status {code}"
        finally:
            self._finalizer()
        proj, settings, seed, known, identity = self._args
        out = graph_jobs(
            proj.relationship,
            proj.rel_edges,
            proj.money,
            proj.account_customer,
            settings,
            seed=seed,
        )
        if known is not None and "proximity" not in self._here:
            out.proximity = customer_proximity(proj, known, settings=settings)
        if identity and "identity_rings" not in self._here:
            out.identity = identity_part(proj)
        out.run["where"] = f"this process, after the worker failed: {why}"
        return self._with_shared(out)

    def _with_shared(self, out: GraphJobs) -> GraphJobs:
        """``out`` with the jobs :meth:`share` did here, listed under ``run["here"]``."""
        if "proximity" in self._here:
            out.proximity, out.run["seconds"]["proximity"] = self._here["proximity"]
        if "identity_rings" in self._here:
            out.identity, out.run["seconds"]["identity_rings"] = self._here["identity_rings"]
        if self._here:
            out.run["here"] = sorted(self._here)
        return out


def _close(proc: subprocess.Popen, stderr: IO[bytes], folder: Path) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if proc.stdin is not None and not proc.stdin.closed:
        try:
            proc.stdin.close()
        except OSError:  # a broken pipe to the dead worker: nothing left to flush
            pass
    stderr.close()
    shutil.rmtree(folder, ignore_errors=True)


def _last_line(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines() if path.is_file() else []
    return lines[-1] if lines else ""


def usable_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may run on: its CPU affinity, capped by a cgroup CPU quota.

    Parameters
    ----------
    cgroup : pathlib.Path, default /sys/fs/cgroup
        Where the cgroup files are mounted: ``cpu.max`` (cgroup v2, ``"quota period"`` or
        ``"max period"``) or ``cpu/cpu.cfs_quota_us`` and ``cpu/cpu.cfs_period_us`` (v1,
        quota -1: none).

    Returns
    -------
    int
        At least 1. A container limited to 1.5 CPUs counts 1: two busy processes in it
        would share one and a half CPUs.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    quota = period = None
    try:
        v2 = cgroup / "cpu.max"
        if v2.is_file():
            text = v2.read_text().split()
            if len(text) == 2 and text[0] != "max":
                quota, period = int(text[0]), int(text[1])
        elif (cgroup / "cpu" / "cpu.cfs_quota_us").is_file():
            quota = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
            period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        quota = None
    if quota is not None and period and quota > 0:
        cpus = min(cpus, quota // period)
    return max(cpus, 1)


def resolve_workers(workers: int | None) -> int:
    """Processes the analysis uses: ``workers`` as asked, or, for ``None`` (the default),
    two where :func:`usable_cpus` counts at least two, else one."""
    if workers is not None:
        return max(int(workers), 1)
    return 2 if usable_cpus() >= 2 else 1


def start(
    proj: Projection,
    settings: AnalysisSettings,
    *,
    seed: int,
    workers: int | None = None,
    known: np.ndarray | None = None,
    identity: bool = False,
    spare: Spare | None = None,
) -> Pending | None:
    """Start the graph jobs in a worker process, where that pays.

    Parameters
    ----------
    proj : Projection
        The projections.
    settings : AnalysisSettings
        Leiden and betweenness settings.
    seed : int
        Seed of both jobs.
    workers : int, optional
        Processes the analysis may use; 1 keeps everything in this process. ``None``:
        :func:`resolve_workers` (two where this process may use two CPUs).
    known : numpy.ndarray of bool, optional
        Known-fraud flag per customer (at least one set): the worker also computes
        :func:`~graphprofile.analysis.proximity.customer_proximity`, after the graph jobs
        (:attr:`GraphJobs.proximity`).
    identity : bool, default False
        The worker also finds the identity rings (:attr:`GraphJobs.identity`).
    spare : Spare, optional
        A worker started ahead (:func:`prestart`): given the jobs, or closed when they
        stay in this process.

    Returns
    -------
    Pending or None
        The running jobs, or ``None`` when they are to run in this process: one worker
        allowed, or fewer than :data:`WORKER_MIN_EDGES` edges.
    """
    edges = len(proj.rel_edges) + len(proj.money_edges)  # the graphs' edges, unbuilt
    if not _worker_pays(edges, workers):
        if spare is not None:
            spare.close()
        return None
    return Pending(proj, settings, seed=seed, known=known, identity=identity, spare=spare)
