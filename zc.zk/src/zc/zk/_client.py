"""``ZooKeeper``: service registration, discovery and configuration on a
kazoo client, links between nodes, and the tree model's entry points
(import, export and deletion of subtrees live in ``zc.zk.subtrees``)."""
import logging
import os
import posixpath
import threading
import time
import weakref

import kazoo.client
from kazoo.exceptions import NodeExistsError, NoNodeError
from kazoo.protocol.states import KazooState
from kazoo.retry import KazooRetry
from kazoo.security import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE

from zc.zk import event, subtrees
from zc.zk._addresses import format_addr, local_hosts, parse_addr
from zc.zk._data import decode, encode
from zc.zk._errors import FailedConnect, LinkLoop
from zc.zk._paths import child, join, normalize
from zc.zk._tree import LINK
from zc.zk._views import Children, Properties

logger = logging.getLogger('zc.zk')

DEFAULT_CONNECTION_STRING = '127.0.0.1:2181'
CONNECTION_STRING_VARIABLE = 'ZC_ZK_CONNECTION_STRING'
DEFAULT_SESSION_TIMEOUT = 10.0
_MAX_LINKS = 64
_RECOVERY_RETRY_DELAY = 0.1


class ZooKeeper:
    """A ZooKeeper session for finding, registering and configuring
    services.

    ``connection_string`` is ``host:port[,host:port...][/chroot]``; it
    defaults to ``$ZC_ZK_CONNECTION_STRING``, else ``127.0.0.1:2181``. It
    may also be a ``KazooClient`` the caller has started (and will stop:
    ``close()`` leaves it alone). ``session_timeout`` is in seconds.

    When the server cannot be reached, ``FailedConnect`` is raised after
    ``connect_timeout`` seconds (default: the session timeout); with
    ``wait=True`` it keeps trying instead, logging a critical message
    every second. ``auth`` (``'user:password'``) authenticates the session
    with ZooKeeper's digest scheme, on every reconnect too. ``kazoo_logger``
    is where kazoo's connection messages go (default: kazoo's loggers).

    A malformed connection string or ``auth`` raises ValueError.
    """

    def __init__(self, connection_string=None, session_timeout=None,
                 wait=False, *, auth=None, connect_timeout=None,
                 kazoo_logger=None):
        self.session_timeout = (DEFAULT_SESSION_TIMEOUT
                                if session_timeout is None
                                else float(session_timeout))
        self.closed = False
        self._registered = {}   # ephemeral path -> (data, acl)
        # Live views by id: held weakly, except those with callbacks,
        # which must go on being called whoever holds them.
        self._views = weakref.WeakValueDictionary()
        self._subscriptions = {}
        self._lock = threading.Lock()
        self._recovering = threading.Lock()
        self._lost = self._suspended = False
        # Paths known to be real nodes (see _resolve), and a count of the
        # watch events that may have made one of them stale.
        self._real_nodes = set()
        self._real_node_events = 0
        if connection_string is not None and not isinstance(
                connection_string, str):
            self.client = connection_string
            self.connection_string = getattr(self.client, 'hosts', None)
            self._own_client = False
            self.client.add_listener(self._on_state)
            return
        self.connection_string = (
            connection_string or os.environ.get(CONNECTION_STRING_VARIABLE)
            or DEFAULT_CONNECTION_STRING)
        self._own_client = True
        if auth is not None and ':' not in auth:
            raise ValueError("Bad auth: need 'user:password'")
        try:
            self.client = kazoo.client.KazooClient(
                self.connection_string, timeout=self.session_timeout,
                # kazoo's default backoff grows to an hour: after a long
                # outage it would come back too late and lose the session.
                connection_retry=KazooRetry(max_tries=-1, max_delay=1.0),
                auth_data=[('digest', auth)] if auth else None,
                logger=kazoo_logger)
        except ValueError as error:
            raise ValueError(f'Bad connection string'
                             f' {self.connection_string!r}: {error}') from None
        self.client.add_listener(self._on_state)
        self._connect(wait, self.session_timeout if connect_timeout is None
                      else connect_timeout)

    def _connect(self, wait, timeout):
        if not wait:
            try:
                self.client.start(timeout=timeout)
            except self.client.handler.timeout_exception:
                self.client.remove_listener(self._on_state)
                self.closed = True
                raise FailedConnect(self.connection_string) from None
            return
        connected = self.client.start_async()
        while not connected.wait(1.0):
            logger.critical("Can't connect to ZooKeeper at %r",
                            self.connection_string)

    # Sessions

    def _on_state(self, state):
        # Called in kazoo's connection thread: must not block.
        if state == KazooState.LOST:
            self._lost = True
        elif state == KazooState.SUSPENDED:
            self._suspended = True
        else:
            lost, dropped = self._lost, self._lost or self._suspended
            self._lost = self._suspended = False
            if dropped and not self.closed:
                self.client.handler.spawn(self._recover, lost)

    def _recover(self, lost):
        """Back after a lost connection: re-create our ephemeral nodes if
        the session was lost, and refresh every view (watches are gone)."""
        with self._recovering:
            if lost:
                with self._lock:
                    registered = list(self._registered.items())
                for path, (data, acl) in registered:
                    try:
                        self.client.create(path, data, acl, ephemeral=True)
                    except NodeExistsError:
                        pass
                    except Exception:
                        logger.exception('could not restore %s', path)
                    else:
                        logger.info('restored ephemeral node %s', path)
            views = list(self._views.values())
            # The connection may drop again while we read: retry what
            # failed while connected; a new connection recovers anew.
            while views and self.client.connected and not self.closed:
                views = [view for view in views if not view.refresh()]
                if views:
                    time.sleep(_RECOVERY_RETRY_DELAY)

    def _add_view(self, view):
        self._views[id(view)] = view

    def _subscribe(self, view):
        self._subscriptions[id(view)] = view

    def _remove_view(self, view):
        self._views.pop(id(view), None)
        self._subscriptions.pop(id(view), None)

    def recv_timeout(self):
        """The session timeout in seconds (kept for old tests)."""
        return self.session_timeout

    def close(self):
        """End the session (its ephemeral nodes go away). Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.client.remove_listener(self._on_state)
        for view in list(self._views.values()):
            view.close()
        if self._own_client:
            self.client.stop()
            self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # kazoo's calls, passed through

    def exists(self, path, *args, **kw):
        return self.client.exists(path, *args, **kw)

    def create(self, path, *args, **kw):
        return self.client.create(path, *args, **kw)

    def get(self, path, *args, **kw):
        return self.client.get(path, *args, **kw)

    def get_children(self, path, *args, **kw):
        return self.client.get_children(path, *args, **kw)

    def delete(self, path, *args, **kw):
        result = self.client.delete(path, *args, **kw)
        self._forget(path)
        return result

    def set(self, path, data, *args, **kw):
        """Set ``path``'s data (bytes, or str stored as UTF-8); a node made
        by ``register`` keeps the new data when it is restored."""
        if isinstance(data, str):
            data = data.encode()
        result = self.client.set(path, data, *args, **kw)
        with self._lock:
            if path in self._registered:
                self._registered[path] = (data, self._registered[path][1])
        return result

    def create_recursive(self, path, data, acl):
        """Create ``path`` and any missing ancestors with ``data``/``acl``
        (kept for old code)."""
        try:
            self.client.create(path, data, acl, makepath=True)
        except NodeExistsError:
            pass

    def _forget(self, path):
        with self._lock:
            for registered in list(self._registered):
                if registered == path or registered.startswith(
                        path.rstrip('/') + '/'):
                    del self._registered[registered]

    # Services

    def register(self, path, address, acl=READ_ACL_UNSAFE, **properties):
        """Register a server providing the service at ``path``: an
        ephemeral child named ``host:port`` holding ``properties`` and
        ``pid``. It is re-created whenever the session is replaced.

        ``address`` is ``(host, port)`` or ``'host:port'``; with a blank
        host, every address of this machine is registered.
        """
        host, port = (parse_addr(address) if isinstance(address, str)
                      else address)
        for host in ([host] if host else local_hosts()):
            name = format_addr(host, int(port))
            self._at_real_path(
                path, lambda real_path: self._register(real_path, name, acl,
                                                       properties))

    def _register(self, path, name, acl, properties):
        data = dict(properties, pid=os.getpid())
        event.notify(event.RegisteringServer(name, path, data, self))
        # ``path`` is resolved, hence normalized: a name without a slash
        # (``host:port``, never ``.`` or ``..``) needs no normalizing.
        node = join(path, name) if '/' in name else child(path, name)
        data = encode(data)
        self.client.create(node, data, acl, ephemeral=True)
        with self._lock:
            self._registered[node] = (data, acl)

    register_server = register

    def children(self, path):
        """The children of ``path``, kept current (see ``Children``)."""
        return Children(self, path)

    def properties(self, path, watch=True):
        """The properties of ``path``; kept current unless ``watch`` is
        false (see ``Properties``)."""
        return Properties(self, path, watch)

    def get_properties(self, path):
        """A plain dict of ``path``'s properties, read once."""
        return Properties(self, path, watch=False).copy()

    def is_ephemeral(self, path):
        stat = self.client.exists(path)
        if stat is None:
            raise NoNodeError(path)
        return bool(stat.ephemeralOwner)

    # Links

    def resolve(self, path):
        """The real path of ``path``, following node links (``name ->``
        properties on a parent) after normalizing ``.`` and ``..``."""
        if path in self._real_nodes:    # a normalized path, known real
            return path
        return self._resolve(normalize(path), ())

    def _resolve(self, path, followed):
        if path in followed or len(followed) > _MAX_LINKS:
            raise LinkLoop((*followed, path))
        if path in self._real_nodes:
            return path     # no round trip (a real node hides any link)
        if self._exists_remembered(path):
            return path
        if path == '/':
            raise NoNodeError(path)
        parent, name = posixpath.split(path)
        real_parent = self._resolve(parent, followed)
        if real_parent != parent:
            return self._resolve(join(real_parent, name), followed)
        try:
            data, _ = self.client.get(parent)
        except NoNodeError:
            raise NoNodeError(path) from None
        target = decode(data, parent).get(name + LINK)
        if not isinstance(target, str):
            raise NoNodeError(path)
        return self._resolve(join(parent, target), (*followed, path))

    def _exists_remembered(self, path):
        """Whether ``path`` is a node; if so, remember it as a real node
        (so that resolving it again, for each registration or each change
        a view sees, costs no round trip) until a watch says it changed
        or went."""
        events = self._real_node_events
        stat = self.client.exists(path, watch=self._real_node_changed)
        if stat is None:
            return False
        if events == self._real_node_events:    # no event meanwhile
            self._real_nodes.add(path)
        return True

    def _real_node_changed(self, event):
        # In kazoo's callback thread (the only writer of the count).
        self._real_node_events += 1
        if event.path is None:      # the session is gone: so are watches
            self._real_nodes.clear()
        else:
            self._real_nodes.discard(event.path)

    def _at_real_path(self, path, operation):
        """``operation(real path of path)``. A real node remembered by
        ``_resolve`` may have gone a moment before its watch said so: when
        the operation finds no node there, forget it and try once more
        with ``path`` resolved afresh."""
        real_path = self.resolve(path)
        try:
            return operation(real_path)
        except NoNodeError:
            if real_path not in self._real_nodes:
                raise
            self._real_nodes.discard(real_path)
        return operation(self.resolve(path))

    def ln(self, target, link):
        """Make ``link`` a link to ``target``: property ``<name> ->`` on
        the link's parent. A ``target`` ending in ``/`` gets the link's
        name appended."""
        parent, name = posixpath.split(normalize(link))
        if target.endswith('/'):
            target += name
        Properties(self, parent, watch=False).update({name + LINK: target})

    # Trees (see zc.zk.subtrees)

    def export_tree(self, path='/', ephemeral=False, name=None):
        """``path`` and everything under it in the tree text format (see
        ``zc.zk.subtrees.export_tree``)."""
        return subtrees.export_tree(self.client, path, ephemeral, name)

    def print_tree(self, path='/'):
        print(self.export_tree(path, ephemeral=True), end='')

    def import_tree(self, text, path='/', trim=None, acl=OPEN_ACL_UNSAFE,
                    dry_run=False):
        """Make the nodes of tree ``text`` exist under ``path`` (see
        ``zc.zk.subtrees.import_tree``)."""
        subtrees.import_tree(self.client, text, path, trim, acl, dry_run)

    def delete_recursive(self, path, dry_run=False, force=False,
                         ignore_if_ephemeral=False):
        """Delete ``path`` and everything under it, except (unless
        ``force``) ephemeral nodes and the nodes that hold them, which
        are reported (silently skipped with ``ignore_if_ephemeral``)."""
        subtrees.delete_recursive(self.client, path, dry_run, force,
                                  ignore_if_ephemeral)
        if not dry_run:
            self._forget(normalize(path))

    def walk(self, path='/', ephemeral=True, children=False):
        """Yield ``path`` and the paths under it, parents first, read as
        the walk goes; nodes deleted meanwhile are skipped. With
        ``ephemeral=False`` ephemeral nodes are skipped. With
        ``children=True``, yield ``(path, child_names)``: removing names
        from that list prunes the walk."""
        path = normalize(path)
        try:
            names, stat = self.client.get_children(path, include_data=True)
        except NoNodeError:
            return
        if stat.ephemeralOwner and not ephemeral:
            return
        names = sorted(names)
        yield (path, names) if children else path
        for name in names:
            yield from self.walk(join(path, name), ephemeral, children)


ZK = ZooKeeper


