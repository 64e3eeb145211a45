"""``python -m graphprofile.analysis._graph_worker_main IN OUT``: the graph worker process.

Its own module, so that :mod:`graphprofile.analysis.graph_worker` (whose classes the
pickles name) is imported under its own name, never as ``__main__``.
"""

import sys

from graphprofile.analysis.graph_worker import serve

if __name__ == "__main__":
    serve(sys.argv[1:])
