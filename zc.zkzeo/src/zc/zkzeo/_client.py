"""ZEO clients whose server addresses are the children of a ZooKeeper
node, kept current: when a server moves (restarted on another port), its
new registration reaches the open ``ClientStorage`` through ``new_addr``
and the client reconnects there, with no change in the application."""
import logging
import threading
import time

import ZEO.ClientStorage
import ZODB
from kazoo.exceptions import NodeExistsError, NoNodeError

import zc.zk
from zc.zkzeo._session import connect

logger = logging.getLogger(__name__)

#: Seconds between the warnings of a client waiting for a first address.
WAIT_WARNING_INTERVAL = 300


class ClientStorage(ZEO.ClientStorage.ClientStorage):
    """A ZEO ClientStorage that also owns what keeps its addresses current:
    ``zookeeper_addresses`` (the zc.zk ``Children`` of the path) and, when
    it opened it, the ZooKeeper session. Closing it closes them."""

    zookeeper_addresses = None
    _zookeeper_session = None

    def close(self):
        super().close()
        if self.zookeeper_addresses is not None:
            self.zookeeper_addresses.close()
        if self._zookeeper_session is not None:
            self._zookeeper_session.close()


def addresses(children, label):
    """The ``(host, port)`` addresses named by registration ``children``;
    names that are not ``host:port`` are logged and left out."""
    found = []
    for name in children:
        try:
            found.append(zc.zk.parse_addr(name))
        except ValueError:
            logger.warning('Ignoring %r under %s: not host:port', name, label)
    return sorted(found)


class _Follower:
    """The callback of the ``Children`` view: passes each new address list
    to the storage (once it exists) and logs what changed."""

    def __init__(self, label):
        self.label = label
        self.storage = None
        self.addresses = None       # the last list seen
        self.changed = threading.Condition()

    def __call__(self, children=None):
        if children is None:
            # The node itself was deleted: keep the last addresses.
            logger.warning('No addresses from %s (node deleted)', self.label)
            return
        new = addresses(children, self.label)
        with self.changed:
            old, self.addresses = self.addresses, new
            self.changed.notify_all()
            storage = self.storage
        if storage is None or new == old:
            return  # starting: ``first_addresses`` and ``attach`` report
        if not new:
            # Keep trying the last servers: one may still serve while its
            # registration is being restored.
            logger.warning('No addresses from %s', self.label)
            return
        if not old:
            logger.warning('OK: Addresses from %s', self.label)
        logger.info('Addresses from %s: %s', self.label,
                    sorted(children))
        storage.new_addr(new)

    def first_addresses(self, warning_interval):
        """Block until there is at least one address; return them."""
        with self.changed:
            while not self.addresses:
                start = time.monotonic()
                logger.warning('No addresses from %s', self.label)
                while not self.addresses and (
                        time.monotonic() - start < warning_interval):
                    self.changed.wait(warning_interval)
            logger.info('OK: Got addresses from %s', self.label)
            return self.addresses

    def attach(self, storage, opened_with):
        """Follow changes in ``storage`` from now on, starting with any
        made since it was opened with addresses ``opened_with``."""
        with self.changed:
            self.storage = storage
            current = self.addresses
        if current and current != opened_with:
            logger.info('Addresses from %s: %s', self.label,
                        [f'{host}:{port}' for host, port in current])
            storage.new_addr(current)


def _session(zk_connection):
    """``(ZooKeeper, owned)`` for a connection string or an open
    ``zc.zk.ZooKeeper``; FailedConnect at once if it cannot connect."""
    if isinstance(zk_connection, zc.zk.ZooKeeper):
        return zk_connection, False
    return connect(zk_connection), True


def _watch(zk, path):
    """The live children of ``path``, created (empty) if missing: a client
    may well start before any server ever registered."""
    try:
        return zk.children(path)
    except NoNodeError:
        try:
            zk.create(path, zc.zk.encode({}), makepath=True)
        except NodeExistsError:
            pass
        return zk.children(path)


def client(zk_connection, path, *args, **kw):
    """A ZEO ``ClientStorage`` for the servers registered at ``path``.

    ``zk_connection`` is a ZooKeeper connection string or an open
    ``zc.zk.ZooKeeper``. The other arguments are ClientStorage's. With
    ``wait`` / ``wait_for_server_on_startup`` true (the default) this
    blocks until a server is registered, warning every
    ``wait_warning_interval`` seconds (default ``WAIT_WARNING_INTERVAL``).
    """
    wait = kw.pop('wait_for_server_on_startup', kw.pop('wait', True))
    warning_interval = kw.pop('wait_warning_interval',
                              WAIT_WARNING_INTERVAL)
    zk, owned = _session(zk_connection)
    try:
        label = f'{zk.connection_string}{path}'
        follower = _Follower(label)
        children = _watch(zk, path)
        children(follower)
        opened_with = (follower.first_addresses(warning_interval) if wait
                       else follower.addresses)
        kw.setdefault('name', label)
        storage = ClientStorage(list(opened_with), *args, wait=wait, **kw)
    except BaseException:
        if owned:
            zk.close()
        raise
    storage.zookeeper_addresses = children
    if owned:
        storage._zookeeper_session = zk
    follower.attach(storage, opened_with)
    return storage


def DB(*args, **kw):
    """A ``ZODB.DB`` on ``client(*args, **kw)``."""
    storage = client(*args, **kw)
    try:
        return ZODB.DB(storage)
    except BaseException:
        storage.close()
        raise


def connection(*args, **kw):
    """A connection of ``DB(*args, **kw)`` that closes its database when it
    is closed."""
    db = DB(*args, **kw)
    try:
        return db.open_then_close_db_when_connection_closes()
    except BaseException:
        db.close()
        raise
