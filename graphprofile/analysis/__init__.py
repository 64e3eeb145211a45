"""Analysis stage: CanonicalGraph -> communities, influence, rings, risk and tags.

:func:`analyse` (in :mod:`.job`) runs every job (one module each) and returns an
:class:`AnalysisResult` whose tables the run writes as ``features``, ``tags``, ``rings`` and
``communities``, and whose ``meta`` goes into ``run.json``. See ``docs/ANALYSIS.md``.
"""

from graphprofile.analysis.communities import COMMUNITY_COLUMNS
from graphprofile.analysis.features import FEATURE_COLUMNS
from graphprofile.analysis.job import AnalysisResult, analyse
from graphprofile.analysis.settings import AnalysisSettings

__all__ = ["COMMUNITY_COLUMNS", "FEATURE_COLUMNS", "AnalysisResult", "AnalysisSettings", "analyse"]
