"""Ingest stage: source files + mapping → validated, pseudonymised canonical :class:`Frames`.

:func:`load_frames` (in :mod:`.load`) is the stage; :func:`load_mapping` reads a mapping.
"""

from graphprofile.ingest.load import load_frames
from graphprofile.ingest.mapping import load_mapping

__all__ = ["load_frames", "load_mapping"]
