"""Every knob of the analysis stage, in one dataclass recorded in ``run.json``.

Analysts change them without Python through a TOML file (``graphprofile run --settings
FILE``, read by :func:`load_settings`), one key per attribute of :class:`AnalysisSettings`::

    resolution = 1.2
    hub_threshold = 50
    risk_high = 0.8
    ring_min_risk = 0.6
    flow_window_days = 14

    [layer_weights]          # layers left out keep their default weight
    counterparties = 0.5
"""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from graphprofile.errors import ConfigError

#: Default weight of each relationship layer (see ``docs/ANALYSIS.md``).
DEFAULT_LAYER_WEIGHTS: dict[str, float] = {
    "money": 1.0,
    "devices": 1.0,
    "identifiers": 1.0,
    "counterparties": 0.0,
}


@dataclass
class AnalysisSettings:
    """Settings of :func:`graphprofile.analysis.analyse`; defaults are documented.

    Attributes
    ----------
    objective : {"modularity", "cpm"}
        Leiden quality function.
    resolution : float
        Leiden resolution (gamma). For CPM it is a density threshold on edge weights.
    n_iterations : int
        Leiden iterations (negative: until stable; capped runs are much faster).
    multiplex : bool
        Optimise one partition over the separate relationship layers with
        ``leidenalg.find_partition_multiplex`` instead of igraph on the summed graph
        (much slower; modularity only).
    layer_weights : dict
        Weight of the ``money``, ``devices``, ``identifiers`` and ``counterparties`` layers
        in the customer relationship graph (0 drops a layer).
    hub_threshold : int or None
        A device, identifier or counterparty shared by more than this many customers is a
        public hub and not a link. ``None``: chosen from the data as the
        ``hub_percentile`` of items' customer counts, at least ``hub_floor``.
    hub_percentile, hub_floor : float, int
        See ``hub_threshold``.
    match_min_share : float
        Stable ids: a new community/ring keeps an old id when the two are each other's
        best match and more than this share of the new one's members came from the old.
    flow_window_days : float or None
        A money cycle must close within this many days of its first hop. ``None``
        (default): the whole span of the data -- a cycle may take as long as the data
        lasts; time order (each hop after the previous) and amount consistency bound the
        search instead.
    fan_window_days : float or None
        Fan-in senders and fan-out receivers fall within one window of this many days.
        ``None`` (default): every width from one day, doubling, up to the data's span,
        each with its own count threshold (``fan_percentile``).
    fan_percentile : float
        A fan needs at least this percentile of the accounts' largest number of distinct
        counterparties within one window of the same width (and ``fan_min_degree``): the
        top half percent by default, so at most about one account in 200 per width is a
        candidate, whatever the bank's busy accounts look like.
    onward_days : float
        Pass-through horizon: money gathered (received) must leave within this many days;
        scatter-gather intermediates forward within it. A week: money moved on within
        the same working week.
    cycle_min_hops, cycle_max_hops : int
        Length range of money cycles (at most 12).
    cycle_hop_tolerance : float
        Each hop of a cycle carries between ``1 - tol`` and ``1 + tol/4`` of the
        previous hop's amount (amounts conserved up to a fee of ``tol``, 10 % by default,
        per hop; ``tol/4`` above for rounding).
    max_paths : int
        Cap on partial paths kept per hop of the cycle search (bounded work; the number
        of paths cut is reported).
    fan_min_degree : int
        Distinct senders (fan-in) or receivers (fan-out) within the window. For fan-in
        also the floor of the window's count threshold (``fan_percentile``).
    fan_onward_share : float
        An account *passes money through* when at least this share of what it gathered
        (received) leaves it within ``onward_days``.
    fan_pass_share : float
        Fan-out: share of the receivers that must pass the money through (or see
        ``fan_pass_alpha``). The passing receivers' count threshold is at least
        ``ceil(fan_pass_share * fan_min_degree)``: a fan of the minimum size with that
        share passing.
    fan_pass_alpha : float
        Fan-out: fewer passing receivers than ``fan_pass_share`` still make a fan when so
        many are unlikely at the bank's own rate of passing money on (one-sided binomial
        test, this significance level; 0.05 is the conventional one).
    scatter_min_paths : int
        Distinct intermediaries between one source and one sink for scatter-gather.
    influence_percentiles : tuple of float
        Top shares tagged ``influencer:top…pct`` (overall and within community).
    min_community_for_tags : int
        Smallest community whose members get within-community influencer tags.
    betweenness_exact_max : int
        Exact betweenness up to this many nodes, sampled above it.
    betweenness_samples : int
        Number of sampled source nodes when sampled (at most).
    betweenness_budget : int
        Work cap of sampled betweenness in edge visits (sources x relationship edges):
        on a large graph the sample shrinks to ``budget // edges`` sources, at least 8.
        40M keeps 64 sources up to ~600k edges (a 100k bank) and uses 15 on a 1M bank
        (2.6M edges), about 7 s instead of 28 s on 2 cores.
    risk_high, risk_medium : float
        Customer risk thresholds of the ``risk:high`` and ``risk:medium`` tags.
    ring_min_risk : float
        Candidate rings below this risk are not reported as rings (counted in ``run.json``;
        their members' risk still reflects them). 0 keeps every candidate.
    behaviour_window_days : float
        Width of the sliding windows of the behaviour features (most counterparties within
        one window; money passed on within one window of its arrival). A week covers a
        working week's rhythm whatever the data's span.
    anomaly_trees : int
        Trees of the anomaly score's IsolationForest (100 is scikit-learn's default).
    learn_min_positives : int
        Known-fraud customers needed before a model learns from them (fewer: notice, and
        the unsupervised scores alone).
    learn_folds : int
        Cross-fitting folds of the learned score.
    """

    objective: str = "modularity"
    resolution: float = 1.0
    n_iterations: int = 2
    multiplex: bool = False
    layer_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LAYER_WEIGHTS))
    hub_threshold: int | None = None
    hub_percentile: float = 95.0
    hub_floor: int = 10
    match_min_share: float = 0.5
    flow_window_days: float | None = None
    fan_window_days: float | None = None
    fan_percentile: float = 99.5
    onward_days: float = 7.0
    cycle_min_hops: int = 3
    cycle_max_hops: int = 12
    cycle_hop_tolerance: float = 0.1
    max_paths: int = 2_000_000
    fan_min_degree: int = 5
    fan_onward_share: float = 0.7
    fan_pass_share: float = 0.5
    fan_pass_alpha: float = 0.05
    scatter_min_paths: int = 3
    influence_percentiles: tuple[float, ...] = (1.0, 5.0)
    min_community_for_tags: int = 20
    betweenness_exact_max: int = 5_000
    betweenness_samples: int = 64
    betweenness_budget: int = 40_000_000
    risk_high: float = 0.7
    risk_medium: float = 0.4
    ring_min_risk: float = 0.55
    behaviour_window_days: float = 7.0
    anomaly_trees: int = 100
    learn_min_positives: int = 20
    learn_folds: int = 5

    def __post_init__(self) -> None:
        self.objective = self.objective.lower()
        if self.objective not in ("modularity", "cpm"):
            raise ConfigError(f"objective must be 'modularity' or 'cpm', not {self.objective!r}")
        unknown = set(self.layer_weights) - set(DEFAULT_LAYER_WEIGHTS)
        if unknown:
            raise ConfigError(
                f"unknown layer(s) in layer_weights: {sorted(unknown)}; "
                f"known: {sorted(DEFAULT_LAYER_WEIGHTS)}"
            )
        self.layer_weights = {**dict.fromkeys(DEFAULT_LAYER_WEIGHTS, 0.0), **self.layer_weights}
        if any(w < 0 for w in self.layer_weights.values()):
            raise ConfigError("layer_weights must be >= 0")
        if not 2 <= self.cycle_min_hops <= self.cycle_max_hops <= 12:
            raise ConfigError("cycle hops must satisfy 2 <= cycle_min_hops <= cycle_max_hops <= 12")
        if self.multiplex and self.objective != "modularity":
            raise ConfigError("multiplex=True supports the modularity objective only")
        if not 0 <= self.risk_medium <= self.risk_high <= 1:
            raise ConfigError("risk thresholds must satisfy 0 <= risk_medium <= risk_high <= 1")
        if not 0 <= self.ring_min_risk <= 1:
            raise ConfigError("ring_min_risk must be between 0 and 1")
        if self.resolution <= 0:
            raise ConfigError("resolution must be greater than 0")
        for name in ("flow_window_days", "fan_window_days"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name} must be greater than 0")
        if not 0 <= self.fan_pass_alpha < 1:
            raise ConfigError("fan_pass_alpha must be in [0, 1)")
        if self.onward_days < 0:
            raise ConfigError("onward_days must be 0 or more")
        if self.hub_threshold is not None and self.hub_threshold < 2:
            raise ConfigError(
                "hub_threshold must be at least 2 (or left out: chosen from the data)"
            )
        if not 0 < self.hub_percentile <= 100:
            raise ConfigError("hub_percentile must be in (0, 100]")
        if not 0 < self.match_min_share <= 1:
            raise ConfigError("match_min_share must be in (0, 1]")
        if self.behaviour_window_days <= 0:
            raise ConfigError("behaviour_window_days must be > 0")
        if self.anomaly_trees < 1 or self.learn_min_positives < 2 or self.learn_folds < 2:
            raise ConfigError(
                "anomaly_trees must be >= 1, learn_min_positives >= 2 and learn_folds >= 2"
            )
        self.influence_percentiles = tuple(sorted(float(p) for p in self.influence_percentiles))

    def as_dict(self) -> dict[str, Any]:
        """Plain-JSON view for ``run.json``."""
        out = asdict(self)
        out["influence_percentiles"] = list(self.influence_percentiles)
        return out


def _expected(hint: Any) -> tuple[str, tuple[type, ...]]:
    """What a TOML value for a field typed ``hint`` must be: (words, accepted types)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) and len(args) == 1:
        return _expected(args[0])
    origin = typing.get_origin(hint) or hint
    if origin is bool:
        return "true or false", (bool,)
    if origin is int:
        return "a whole number", (int,)
    if origin is float:
        return "a number", (int, float)
    if origin is str:
        return "text", (str,)
    if origin is dict:
        return "a table of numbers", (dict,)
    return "an array of numbers", (list,)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def settings_from_dict(values: dict[str, Any], source: str = "settings") -> AnalysisSettings:
    """:class:`AnalysisSettings` from plain values (a parsed settings file), checked.

    Raises
    ------
    ConfigError
        An unknown key, a value of the wrong type or out of range; the message names
        ``source`` and the key.
    """
    hints = typing.get_type_hints(AnalysisSettings)
    known = {f.name for f in fields(AnalysisSettings)}
    unknown = sorted(k for k in values if k not in known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown setting {', '.join(repr(k) for k in unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        words, accepted = _expected(hints[key])
        ok = isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted)
        if ok and isinstance(value, dict):
            ok = all(_number(v) for v in value.values())
        if ok and isinstance(value, list):
            ok = all(_number(v) for v in value)
            value = tuple(value)
        if not ok:
            raise ConfigError(f"{source}: {key} must be {words}, not {value!r}")
        kwargs[key] = value
    if "layer_weights" in kwargs:  # layers left out keep their default weight
        kwargs["layer_weights"] = {**DEFAULT_LAYER_WEIGHTS, **kwargs["layer_weights"]}
    try:
        return AnalysisSettings(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_settings(path: Path) -> AnalysisSettings:
    """Read analysis settings from a TOML file (``--settings``); unset keys keep defaults.

    Parameters
    ----------
    path : Path
        A ``.toml`` file with one key per :class:`AnalysisSettings` attribute.

    Returns
    -------
    AnalysisSettings

    Raises
    ------
    ConfigError
        The file cannot be read or is not TOML, or a key is unknown, of the wrong type or
        out of range (the message names the file and the key).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc.strerror or exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {path} is not valid TOML: {exc}") from None
    return settings_from_dict(doc, source=f"settings file {path}")
