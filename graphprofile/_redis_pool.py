"""One rule for the two gateways that speak to a server through redis-py: the FalkorDB
store (:mod:`graphprofile.store.falkordb_store`) and the Redis publisher
(:mod:`graphprofile.publish.redis_store`). Both check the server with a short timeout, then
give every later command a longer one (or none). Nothing here imports the driver.
"""

from __future__ import annotations

from typing import Any


def set_reply_timeout(pool: Any, seconds: float | None) -> None:
    """Give every later command of a redis-py connection pool ``seconds`` per reply.

    The pool's ``connection_kwargs`` reach only connections made after the change, and a pool
    keeps its Connection objects across ``disconnect()``, each with the timeout it was made
    with. ``reset()`` drops them, so the next command opens a connection with the new timeout.
    (Without it, the connection of the check kept its short timeout: FalkorDB statements failed
    as lost connections, and Redis pipelines were abandoned and sent again by redis-py's
    retries.)

    Parameters
    ----------
    pool : redis.ConnectionPool
        The client's pool.
    seconds : float or None
        Socket timeout per reply; ``None`` waits as long as the server takes.
    """
    pool.connection_kwargs["socket_timeout"] = seconds
    pool.disconnect()
    pool.reset()
