"""An in-memory ZooKeeper server and a kazoo-compatible client for it,
for users' fast unit tests (no Java, no sockets).

It keeps the data model, sessions, ephemeral nodes, sequence nodes,
one-shot watches and transactions of a real server; it does not check
ACLs. Watch callbacks run in the thread that made the change, before the
change's call returns, so tests see their effects at once.
"""
import logging
import posixpath
import threading
import time

from kazoo.exceptions import (BadVersionError, ConnectionClosedError,
                              NoChildrenForEphemeralsError, NodeExistsError,
                              NoNodeError, NotEmptyError, RolledBackError,
                              SessionExpiredError)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import (EventType, KazooState, KeeperState,
                                   WatchedEvent, ZnodeStat)
from kazoo.security import OPEN_ACL_UNSAFE

logger = logging.getLogger(__name__)


class _Node:

    def __init__(self, data, acl, owner, zxid):
        self.data = data
        self.acl = list(acl)
        self.owner = owner
        self.children = set()
        self.czxid = self.mzxid = self.pzxid = zxid
        self.ctime = self.mtime = int(time.time() * 1000)
        self.version = self.cversion = self.aversion = 0

    def stat(self):
        return ZnodeStat(self.czxid, self.mzxid, self.ctime, self.mtime,
                         self.version, self.cversion, self.aversion,
                         self.owner, len(self.data), len(self.children),
                         self.pzxid)


class FakeServer:
    """The data of one ZooKeeper "cluster", shared by its fake clients.

    Clients whose connection string is not ``connection_string`` (nor made
    reachable later with ``_allow_connection``) cannot connect.
    """

    def __init__(self, connection_string='zookeeper.example.com:2181'):
        self.lock = threading.RLock()
        self.zxid = 0
        self.nodes = {'/': _Node(b'', OPEN_ACL_UNSAFE, 0, 0)}
        self.allowed = {connection_string}
        self.sessions = {}          # session id -> client
        self._next_session = 0x1000
        self._waiting = []          # clients trying to connect

    def client(self, hosts='127.0.0.1:2181', *args, **kw):
        """A new client of this server (what ``KazooClient(...)`` gives
        while the fake is installed)."""
        return FakeClient(self, hosts, *args, **kw)

    def _allow_connection(self, connection_string):
        """Make ``connection_string`` reachable, as when ZooKeeper comes
        up: clients waiting to connect with it connect now."""
        with self.lock:
            self.allowed.add(connection_string)
            waiting = [c for c in self._waiting
                       if c._servers == connection_string]
            self._waiting = [c for c in self._waiting if c not in waiting]
        for client in waiting:
            client._connect()

    def _open_session(self, client):
        with self.lock:
            self._next_session += 1
            self.sessions[self._next_session] = client
            return self._next_session

    def _close_session(self, session):
        """End ``session``: its ephemeral nodes go; returns the watch
        events that fired."""
        with self.lock:
            self.sessions.pop(session, None)
            triggers = []
            owned = [p for p, n in self.nodes.items() if n.owner == session]
            for path in sorted(owned, reverse=True):
                triggers += self._delete(path)
            return self._fire(triggers)

    # Changes; each returns the watches it triggers: (path, kind, type).

    def _tick(self):
        self.zxid += 1
        return self.zxid

    def _create(self, path, data, acl, ephemeral, sequence, session):
        parent_path = posixpath.dirname(path)
        parent = self.nodes.get(parent_path)
        if parent is None:
            raise NoNodeError(parent_path)
        if parent.owner:
            raise NoChildrenForEphemeralsError(parent_path)
        if sequence:
            path += '%010d' % parent.cversion
        if path in self.nodes:
            raise NodeExistsError(path)
        zxid = self._tick()
        self.nodes[path] = _Node(data, acl, session if ephemeral else 0, zxid)
        parent.children.add(posixpath.basename(path))
        parent.cversion += 1
        parent.pzxid = zxid
        return path, [(path, 'data', EventType.CREATED),
                      (parent_path, 'child', EventType.CHILD)]

    def _set(self, path, data, version):
        node = self._node(path)
        if version not in (-1, node.version):
            raise BadVersionError(path)
        node.data = data
        node.version += 1
        node.mzxid = self._tick()
        node.mtime = int(time.time() * 1000)
        return node.stat(), [(path, 'data', EventType.CHANGED)]

    def _delete(self, path, version=-1):
        node = self._node(path)
        if version not in (-1, node.version):
            raise BadVersionError(path)
        if node.children:
            raise NotEmptyError(path)
        del self.nodes[path]
        parent_path = posixpath.dirname(path)
        parent = self.nodes[parent_path]
        parent.children.discard(posixpath.basename(path))
        parent.cversion += 1
        parent.pzxid = self._tick()
        return [(path, 'data', EventType.DELETED),
                (path, 'child', EventType.DELETED),
                (parent_path, 'child', EventType.CHILD)]

    def _node(self, path):
        try:
            return self.nodes[path]
        except KeyError:
            raise NoNodeError(path) from None

    def _fire(self, triggers):
        """Take the watches ``triggers`` fire; return ``(func, event)``
        pairs to call once the lock is released."""
        events = []
        for path, kind, event_type in triggers:
            for client in list(self.sessions.values()):
                events += client._take_watches(path, kind, event_type)
        return events


class _Result:
    """A finished asynchronous call (kazoo's ``IAsyncResult``, done)."""

    def __init__(self, call, *args, **kw):
        self.value = self.exception = None
        try:
            self.value = call(*args, **kw)
        except Exception as error:
            self.exception = error

    def get(self, block=True, timeout=None):
        if self.exception is not None:
            raise self.exception
        return self.value

    get_nowait = get

    def successful(self):
        return self.exception is None

    def ready(self):
        return True

    def rawlink(self, callback):
        callback(self)

    def unlink(self, callback):
        pass


class _Handler:
    """What zc.zk and kazoo recipes use of a client's handler."""

    timeout_exception = KazooTimeoutError

    def __init__(self):
        self.spawned = []

    def spawn(self, func, *args, **kw):
        thread = threading.Thread(target=func, args=args, kwargs=kw,
                                  daemon=True)
        self.spawned.append(thread)
        thread.start()
        return thread

    def event_object(self):
        return threading.Event()

    def lock_object(self):
        return threading.Lock()

    def rlock_object(self):
        return threading.RLock()

    def join_spawned(self, timeout=10.0):
        while self.spawned:
            self.spawned.pop(0).join(timeout)


class _Transaction:

    def __init__(self, client):
        self.client = client
        self.operations = []

    def create(self, path, value=b'', acl=None, ephemeral=False,
               sequence=False):
        self.operations.append(('create', path, value, acl, ephemeral,
                                sequence))

    def delete(self, path, version=-1):
        self.operations.append(('delete', path, version))

    def set_data(self, path, value, version=-1):
        self.operations.append(('set_data', path, value, version))

    def check(self, path, version):
        self.operations.append(('check', path, version))

    def commit(self):
        return self.client._commit(self.operations)

    def commit_async(self):
        return _Result(self.commit)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        if exc_type is None:
            self.commit()


class FakeClient:
    """A client of a ``FakeServer`` with the ``KazooClient`` API that
    zc.zk and typical applications use."""

    def __init__(self, server, hosts='127.0.0.1:2181', timeout=10.0,
                 *args, connection_retry=None, auth_data=None,
                 default_acl=None, **kw):
        self.server = server
        self.hosts = hosts
        self._servers, _, chroot = hosts.partition('/')
        self.chroot = ('/' + chroot).rstrip('/') if chroot else ''
        self._timeout = timeout
        self.default_acl = default_acl
        self.auth_data = set(auth_data or ())
        self.handler = _Handler()
        self.state = KazooState.LOST
        self.client_state = KeeperState.CLOSED
        self._session = None
        self._listeners = []
        self._connected = threading.Event()
        self._watches = {'data': {}, 'child': {}}

    # Sessions

    @property
    def connected(self):
        return self.state == KazooState.CONNECTED

    @property
    def client_id(self):
        return None if self._session is None else (self._session, b'x' * 16)

    def start(self, timeout=15):
        if not self.start_async().is_set():
            self.stop()
            raise KazooTimeoutError('Connection time-out')

    def start_async(self):
        with self.server.lock:
            if self.connected:
                return self._connected
            if self._servers not in self.server.allowed:
                self.server._waiting.append(self)
                return self._connected
        self._connect()
        return self._connected

    def _connect(self):
        self._session = self.server._open_session(self)
        self.client_state = KeeperState.CONNECTED
        self._set_state(KazooState.CONNECTED)
        self._connected.set()

    def stop(self):
        with self.server.lock:
            if self in self.server._waiting:
                self.server._waiting.remove(self)
            session, self._session = self._session, None
        self._connected.clear()
        if session is not None:
            self._deliver(self.server._close_session(session))
            self.client_state = KeeperState.CLOSED
            self._set_state(KazooState.LOST)

    def close(self):
        pass

    def add_listener(self, listener):
        self._listeners.append(listener)

    def remove_listener(self, listener):
        if listener in self._listeners:
            self._listeners.remove(listener)

    def add_auth(self, scheme, credential):
        self.auth_data.add((scheme, credential))

    def _set_state(self, state):
        if state == self.state:
            return
        self.state = state
        for listener in list(self._listeners):
            try:
                if listener(state) is True:
                    self.remove_listener(listener)
            except Exception:
                logger.exception('Error in connection state listener')

    def lose_session(self, func=None):
        """Simulate a disconnection long enough for the session to
        expire: SUSPENDED, then LOST (the server drops the session and its
        ephemeral nodes; ``func`` is called then), then CONNECTED on a new
        session. Returns once the listeners' recovery work is done."""
        self._connected.clear()
        self.client_state = KeeperState.CONNECTING
        self._set_state(KazooState.SUSPENDED)
        self._drop_watches()
        with self.server.lock:
            session, self._session = self._session, None
            events = self.server._close_session(session)
        self._deliver(events)
        self.client_state = KeeperState.EXPIRED_SESSION
        self._set_state(KazooState.LOST)
        if func is not None:
            func()
        self._connect()
        self.handler.join_spawned()

    # Watches

    def _take_watches(self, path, kind, event_type):
        if not path.startswith(self.chroot + '/') and path != (
                self.chroot or '/'):
            return []
        funcs = self._watches[kind].pop(path, ())
        event = WatchedEvent(event_type, KeeperState.CONNECTED,
                             self._relative(path))
        return [(func, event) for func in funcs]

    def _drop_watches(self):
        watches = [f for kind in self._watches.values()
                   for funcs in kind.values() for f in funcs]
        self._watches = {'data': {}, 'child': {}}
        event = WatchedEvent(EventType.NONE, KeeperState.CONNECTING, None)
        self._deliver([(func, event) for func in watches])

    def _watch(self, kind, path, func):
        if func is not None:
            self._watches[kind].setdefault(path, set()).add(func)

    @staticmethod
    def _deliver(events):
        for func, event in events:
            try:
                func(event)
            except Exception:
                logger.exception('Unhandled exception in watch callback')

    # Paths

    def _absolute(self, path):
        if not path.startswith('/'):
            raise ValueError(f'Path must start with /: {path!r}')
        return posixpath.normpath(self.chroot + path) if path != '/' else (
            self.chroot or '/')

    def _relative(self, path):
        if self.chroot:
            path = path[len(self.chroot):] or '/'
        return path

    def _check(self):
        if self._session is None:
            if self.state == KazooState.LOST and self.client_state == \
                    KeeperState.EXPIRED_SESSION:
                raise SessionExpiredError()
            raise ConnectionClosedError('Connection has been closed')

    # Calls

    def _call(self, operation, *args):
        self._check()
        with self.server.lock:
            result, triggers = operation(*args)
            events = self.server._fire(triggers)
        self._deliver(events)
        return result

    def create(self, path, value=b'', acl=None, ephemeral=False,
               sequence=False, makepath=False, include_data=False):
        if not isinstance(value, bytes):
            raise TypeError("Invalid type for 'value' (must be a byte string)")
        acl = acl or self.default_acl or OPEN_ACL_UNSAFE
        full = self._absolute(path)
        if makepath:
            self._make_parents(full, acl)
        created = self._relative(self._call(
            lambda: self.server._create(full, value, acl, ephemeral, sequence,
                                        self._session)))
        if include_data:
            return created, self.exists(created)
        return created

    def _make_parents(self, full, acl):
        missing = []
        parent = posixpath.dirname(full)
        with self.server.lock:
            while parent not in self.server.nodes:
                missing.append(parent)
                parent = posixpath.dirname(parent)
        for path in reversed(missing):
            try:
                self._call(lambda: self.server._create(
                    path, b'', acl, False, False, self._session))
            except NodeExistsError:
                pass

    def ensure_path(self, path, acl=None):
        full = self._absolute(path)
        self._make_parents(full + '/x', acl or self.default_acl
                           or OPEN_ACL_UNSAFE)
        return True

    def exists(self, path, watch=None):
        full = self._absolute(path)

        def exists():
            node = self.server.nodes.get(full)
            self._watch('data', full, watch)
            return (None if node is None else node.stat()), []
        return self._call(exists)

    def get(self, path, watch=None):
        full = self._absolute(path)

        def get():
            node = self.server._node(full)
            self._watch('data', full, watch)
            return (node.data, node.stat()), []
        return self._call(get)

    def get_children(self, path, watch=None, include_data=False):
        full = self._absolute(path)

        def get_children():
            node = self.server._node(full)
            self._watch('child', full, watch)
            children = list(node.children)
            return ((children, node.stat()) if include_data
                    else children), []
        return self._call(get_children)

    def get_acls(self, path):
        full = self._absolute(path)
        return self._call(lambda: (
            (list(self.server._node(full).acl),
             self.server._node(full).stat()), []))

    def set_acls(self, path, acls, version=-1):
        full = self._absolute(path)

        def set_acls():
            node = self.server._node(full)
            if version not in (-1, node.aversion):
                raise BadVersionError(path)
            node.acl = list(acls)
            node.aversion += 1
            return node.stat(), []
        return self._call(set_acls)

    def set(self, path, value, version=-1):
        if not isinstance(value, bytes):
            raise TypeError("Invalid type for 'value' (must be a byte string)")
        full = self._absolute(path)
        return self._call(lambda: self.server._set(full, value, version))

    def delete(self, path, version=-1, recursive=False):
        full = self._absolute(path)
        if recursive:
            for child in self.get_children(path):
                self.delete(posixpath.join(path, child), recursive=True)
        self._call(lambda: (True, self.server._delete(full, version)))
        return True

    def sync(self, path):
        self._check()
        return path

    def server_version(self, retry=True):
        return (3, 8, 0)

    def retry(self, func, *args, **kw):
        return func(*args, **kw)

    def transaction(self):
        return _Transaction(self)

    def _commit(self, operations):
        """All of ``operations`` or none: on a failure, undo the ones done
        and report it in its place, RolledBackError elsewhere."""
        self._check()
        with self.server.lock:
            saved = {path: (node, set(node.children), node.data,
                            node.version, node.cversion)
                     for path, node in self.server.nodes.items()}
            zxid = self.server.zxid
            results, triggers = [], []
            for index, (kind, path, *args) in enumerate(operations):
                full = self._absolute(path)
                try:
                    if kind == 'create':
                        value, acl, ephemeral, sequence = args
                        created, fired = self.server._create(
                            full, value, acl or OPEN_ACL_UNSAFE, ephemeral,
                            sequence, self._session)
                        results.append(self._relative(created))
                    elif kind == 'delete':
                        fired = self.server._delete(full, *args)
                        results.append(True)
                    elif kind == 'set_data':
                        stat, fired = self.server._set(full, *args)
                        results.append(stat)
                    else:
                        node = self.server._node(full)
                        if node.version != args[0]:
                            raise BadVersionError(path)
                        results.append(True)
                        fired = []
                    triggers += fired
                except Exception as error:
                    self._restore(saved, zxid)
                    return [error if i == index else RolledBackError()
                            for i in range(len(operations))]
            events = self.server._fire(triggers)
        self._deliver(events)
        return results

    def _restore(self, saved, zxid):
        server = self.server
        server.nodes = {}
        for path, (node, children, data, version, cversion) in saved.items():
            node.children, node.data = children, data
            node.version, node.cversion = version, cversion
            server.nodes[path] = node
        server.zxid = zxid


def _async(name):
    def call_async(self, *args, **kw):
        return _Result(getattr(self, name), *args, **kw)
    call_async.__name__ = name + '_async'
    return call_async


for _name in ('create', 'delete', 'exists', 'get', 'get_children',
              'get_acls', 'set_acls', 'set', 'sync', 'ensure_path'):
    setattr(FakeClient, _name + '_async', _async(_name))
