"""Finding a primary through ZooKeeper (extra ``zk``, using zc.zk).

A primary registers the replication address it actually listens on as an
ephemeral ``host:port`` node under a ZooKeeper path (``Registration``);
zc.zk re-creates the node when the session is replaced. A secondary watches
that path (``PrimaryFollower``) and replicates from whatever is registered
there, so it follows the primary when it restarts on another port.

Imported only where a ZooKeeper connection is configured, so the base
install of zc.zrs needs neither zc.zk nor kazoo.
"""
import logging
import posixpath

from kazoo.exceptions import NodeExistsError, NoNodeError

import zc.zk

logger = logging.getLogger(__name__)

#: Hosts that mean "every interface": registered as this machine's
#: addresses (zc.zk does that for a blank host).
_ANY_HOST = ('', '0.0.0.0', '::')


def session(zookeeper, session_timeout=None):
    """``(zc.zk.ZooKeeper, owned)`` for a connection string (a session of
    our own, closed with us) or a ``zc.zk.ZooKeeper`` (the caller's)."""
    if isinstance(zookeeper, str):
        return zc.zk.ZooKeeper(zookeeper, session_timeout), True
    return zookeeper, False


def _ensure(zk, path):
    """``path`` exists (created, with its parents, when missing): a
    primary may register, or a secondary start watching, first."""
    try:
        return zk.resolve(path)
    except NoNodeError:
        try:
            zk.create(path, b'', makepath=True)
        except NodeExistsError:
            pass
        return zk.resolve(path)


class Registration:
    """The replication ``address`` (``(host, port)``, as bound) of a
    primary, registered under ``path`` with ``properties`` (and ``pid``)
    until ``close()``."""

    def __init__(self, zookeeper, path, address, session_timeout=None,
                 **properties):
        if isinstance(address, str):
            raise ValueError(
                f'cannot register unix socket {address} in ZooKeeper: '
                f'replicate to a TCP address')
        host, port = address
        if host in _ANY_HOST:
            host = ''
        self.path = path
        self._port = port
        self.zk, self._owned = session(zookeeper, session_timeout)
        try:
            self.path = _ensure(self.zk, path)
            self.zk.register(self.path, (host, port), **properties)
        except BaseException:
            self.close()
            raise
        logger.info('registered replication address %s:%s at %s',
                    host or '*', port, self.path)

    def close(self):
        """Unregister: the session's end removes the node; a caller's
        session loses it by deletion."""
        if self._owned:
            self.zk.close()
            return
        mine = self.zk.client.client_id[0]
        suffix = f':{self._port}'
        for name in self.zk.get_children(self.path):
            node = posixpath.join(self.path, name)
            stat = self.zk.exists(node)
            if (name.endswith(suffix) and stat is not None
                    and stat.ephemeralOwner == mine):
                try:
                    self.zk.delete(node)
                except NoNodeError:
                    pass


def _valid(name):
    try:
        zc.zk.parse_addr(name)
    except ValueError:
        logger.error('ignoring %r: not a host:port registration', name)
        return False
    return True


class PrimaryFollower:
    """Calls ``set_address((host, port))`` with the primary registered
    under ``path`` now and whenever another one registers.

    With several registrations (a restarted primary whose old session has
    not expired yet), the newest wins. When none is left, the last address
    stays: the secondary keeps trying it until a primary registers again.
    """

    def __init__(self, zookeeper, path, set_address, session_timeout=None):
        self.path = path
        self.address = None
        self._set_address = set_address
        self._closed = False
        self.zk, self._owned = session(zookeeper, session_timeout)
        try:
            self._children = self.zk.children(_ensure(self.zk, path))
            self._children(self._changed)
        except BaseException:
            self.close()
            raise

    def _changed(self, children=None):
        if self._closed:
            return
        if children is None:
            logger.error('ZooKeeper node %s was deleted: no longer following '
                         'its primary (still replicating from %s)',
                         self.path, self.address)
            return
        newest = self._newest(children.real_path,
                              [name for name in children if _valid(name)])
        if newest is None:
            if self.address is not None:
                logger.warning('no primary registered at %s; keeping %s:%s',
                               self.path, *self.address)
            return
        address = zc.zk.parse_addr(newest)
        if address != self.address:
            logger.info('primary at %s is %s', self.path, newest)
            self.address = address
            self._set_address(address)

    def _newest(self, real_path, names):
        if len(names) <= 1:
            return names[0] if names else None
        created = {}
        for name in names:
            stat = self.zk.exists(posixpath.join(real_path, name))
            if stat is not None:
                created[name] = stat.czxid
        logger.warning('several primaries registered at %s: %s', self.path,
                       ', '.join(sorted(names)))
        return max(created, key=created.get) if created else None

    def close(self):
        self._closed = True
        children = getattr(self, '_children', None)
        if children is not None:
            children.close()
        if self._owned:
            self.zk.close()
