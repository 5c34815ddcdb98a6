"""Opening ZooKeeper sessions that fail fast: a server or client whose
ZooKeeper cannot be reached says so within ``CONNECT_TIMEOUT`` seconds
(``zc.zk.FailedConnect``) instead of hanging."""
import zc.zk

#: Longest wait for a first connection.
CONNECT_TIMEOUT = 5.0


def connect(connection_string, session_timeout=None):
    """A ``zc.zk.ZooKeeper`` (``session_timeout`` in seconds, default
    zc.zk's), connected within ``CONNECT_TIMEOUT`` or FailedConnect."""
    return zc.zk.ZooKeeper(connection_string, session_timeout,
                           connect_timeout=CONNECT_TIMEOUT)
