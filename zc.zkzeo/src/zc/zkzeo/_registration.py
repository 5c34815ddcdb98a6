"""A server's registration in ZooKeeper: an ephemeral ``host:port`` node
under the configured path, holding the server's properties.

The node lives as long as the registration's ZooKeeper session: zc.zk
restores it when the session is replaced (expiry) and ZooKeeper keeps it
across its own restarts; ``close()`` ends the session, so the node goes.
"""
import logging
import threading

from kazoo.exceptions import NodeExistsError, NoNodeError

import zc.thread
import zc.zk
from zc.zkzeo._session import CONNECT_TIMEOUT, connect

logger = logging.getLogger(__name__)

#: Seconds between background attempts.
RETRY_DELAY = 1.0
THREAD_NAME = 'zookeeper_registration_thread'


def ensure_path(zk, path):
    """Create ``path`` (and its ancestors) if it does not resolve; say so,
    since a mistyped path would otherwise go unnoticed."""
    try:
        zk.resolve(path)
    except NoNodeError:
        try:
            zk.create(path, zc.zk.encode({}), makepath=True)
        except NodeExistsError:
            return
        logger.warning('Created missing registration path %s', path)


class Registration:
    """Registers ``address`` (``(host, port)``; a blank host means every
    address of this machine, by zc.zk's rules) at ``path`` with
    ``properties``, through a session of its own."""

    def __init__(self, connection, path, address, properties,
                 session_timeout=None):
        self.connection = connection
        self.path = path
        self.address = address
        self.properties = properties
        self.session_timeout = session_timeout
        self.zookeeper = None
        self.thread = None
        self._closing = threading.Event()
        self._lock = threading.Lock()

    def register(self):
        """Register now; FailedConnect if ZooKeeper cannot be reached."""
        zk = connect(self.connection, self.session_timeout)
        try:
            self._register(zk)
        except BaseException:
            zk.close()
            raise

    def register_in_background(self):
        """Register from a thread that keeps trying until ZooKeeper
        answers (the server serves meanwhile)."""
        self.thread = zc.thread.Thread(self._keep_trying, start=False)
        self.thread.name = THREAD_NAME
        self.thread.start()

    def _keep_trying(self):
        while not self._closing.is_set():
            try:
                self.register()
                return
            except zc.zk.FailedConnect:
                logger.warning("Can't connect to ZooKeeper at %s to register"
                               ' %s; trying again', self.connection,
                               self.path)
            except Exception:
                logger.exception('Could not register at %s; trying again',
                                 self.path)
            self._closing.wait(RETRY_DELAY)

    def _register(self, zk):
        with self._lock:
            if self._closing.is_set():
                zk.close()
                return
            ensure_path(zk, self.path)
            zk.register(self.path, self.address, **self.properties)
            self.zookeeper = zk
        logger.info('Registered %s:%s at %s in ZooKeeper %s',
                    *self.address, self.path, self.connection)

    def close(self):
        """Unregister: end the session (and stop trying to start one)."""
        self._closing.set()
        if self.thread is not None:
            self.thread.join(CONNECT_TIMEOUT + RETRY_DELAY + 1)
        with self._lock:
            zk, self.zookeeper = self.zookeeper, None
        if zk is not None:
            zk.close()
