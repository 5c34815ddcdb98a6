"""``ZooKeeper``: service registration, discovery and configuration on a
kazoo client, plus the tree model (import, export, links)."""
import logging
import os
import posixpath
import threading
import time
import weakref

import kazoo.client
from kazoo.exceptions import (NodeExistsError, NoNodeError,
                              RolledBackError)
from kazoo.protocol.states import KazooState
from kazoo.retry import KazooRetry
from kazoo.security import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE

from zc.zk import event
from zc.zk._addresses import format_addr, local_hosts, parse_addr
from zc.zk._data import decode, encode
from zc.zk._errors import FailedConnect, LinkLoop
from zc.zk._tree import LINK, PROPERTY_LINK, format_node, parse_tree
from zc.zk._views import Children, Properties

logger = logging.getLogger('zc.zk')

DEFAULT_CONNECTION_STRING = '127.0.0.1:2181'
CONNECTION_STRING_VARIABLE = 'ZC_ZK_CONNECTION_STRING'
DEFAULT_SESSION_TIMEOUT = 10.0
#: Seconds to wait for the results of a batch of pipelined requests.
BATCH_TIMEOUT = 120
#: Operations per transaction when writing many nodes at once.
TRANSACTION_SIZE = 256
_MAX_LINKS = 64
_RECOVERY_RETRY_DELAY = 0.1


def normalize(path):
    """``path`` made absolute, with ``.``, ``..`` and ``//`` resolved."""
    path = posixpath.normpath('/' + path.strip())
    return '/' + path.lstrip('/')


def join(parent, name):
    return normalize(posixpath.join(parent, name))


def _acl_key(acl):
    return sorted((a.perms, a.id.scheme, a.id.id) for a in acl)


def _show_acl(acl):
    return ','.join(f'{a.id.scheme}:{a.id.id}:{a.perms}' for a in acl)


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
        path = self.resolve(path)
        host, port = (parse_addr(address) if isinstance(address, str)
                      else address)
        for host in ([host] if host else local_hosts()):
            name = format_addr(host, int(port))
            data = dict(properties, pid=os.getpid())
            event.notify(event.RegisteringServer(name, path, data, self))
            node = join(path, name)
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
        return self._resolve(normalize(path), ())

    def _resolve(self, path, followed):
        if path in followed or len(followed) > _MAX_LINKS:
            raise LinkLoop((*followed, path))
        if self.client.exists(path):
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

    def ln(self, target, link):
        """Make ``link`` a link to ``target``: property ``<name> ->`` on
        the link's parent. A ``target`` ending in ``/`` gets the link's
        name appended."""
        parent, name = posixpath.split(normalize(link))
        if target.endswith('/'):
            target += name
        Properties(self, parent, watch=False).update({name + LINK: target})

    # Trees

    def _gather(self, requests):
        """Wait for pipelined requests ``{key: async_result}``; a missing
        node gives None."""
        results = {}
        for key, request in requests.items():
            try:
                results[key] = request.get(timeout=BATCH_TIMEOUT)
            except NoNodeError:
                results[key] = None
        return results

    def _read_tree(self, path, data=False):
        """``{path: (stat, children[, data])}`` for ``path`` and every node
        under it, read level by level with pipelined requests."""
        nodes = {}
        level = [path]
        while level:
            listed = self._gather({
                p: self.client.get_children_async(p, include_data=True)
                for p in level})
            contents = self._gather({
                p: self.client.get_async(p) for p in level} if data else {})
            level = []
            for p, found in listed.items():
                if found is None or (data and contents[p] is None):
                    continue  # deleted while we read
                children, stat = found
                children = sorted(children)
                nodes[p] = ((stat, children, contents[p][0]) if data
                            else (stat, children))
                level.extend(join(p, child) for child in children)
        return nodes

    def _transact(self, operations):
        """Run ``(method, args)`` transaction operations in order, batched
        and pipelined; raise the first failure."""
        commits = []
        for start in range(0, len(operations), TRANSACTION_SIZE):
            transaction = self.client.transaction()
            for method, *args in operations[start:start + TRANSACTION_SIZE]:
                getattr(transaction, method)(*args)
            commits.append(transaction.commit_async())
        for commit in commits:
            for result in commit.get(timeout=BATCH_TIMEOUT):
                if isinstance(result, Exception) and not isinstance(
                        result, RolledBackError):
                    raise result

    def export_tree(self, path='/', ephemeral=False, name=None):
        """``path`` and everything under it in the tree text format.

        Ephemeral nodes are left out unless ``ephemeral``; so is
        ``/zookeeper`` when exporting ``/``. ``name`` renames the top node;
        exporting ``/`` with a name puts everything under that node.
        """
        path = normalize(path)
        nodes = self._read_tree(path, data=True)
        if path not in nodes:
            raise NoNodeError(path)

        def node(p):
            stat, children, data = nodes[p]
            return (posixpath.basename(p), decode(data, p),
                    [node(c) for c in map(lambda c: join(p, c), children)
                     if shown(c)])

        def shown(p):
            return (p in nodes and p != '/zookeeper'
                    and (ephemeral or not nodes[p][0].ephemeralOwner))

        top_name, properties, children = node(path)
        if path != '/':
            return format_node(name or top_name, properties, children)
        if name:
            return format_node(name, properties, children)
        return ''.join(format_node(*child) for child in children)

    def print_tree(self, path='/'):
        print(self.export_tree(path, ephemeral=True), end='')

    def import_tree(self, text, path='/', trim=None, acl=OPEN_ACL_UNSAFE,
                    dry_run=False):
        """Make the nodes described by tree ``text`` exist under ``path``
        with the properties given there and ``acl``.

        Existing nodes get the text's data and ``acl``. Children of
        imported nodes that the text does not mention are reported
        (``trim=None``), left alone silently (``trim=False``) or deleted
        (``trim=True``: never ephemeral nodes or nodes holding them).
        ``dry_run`` changes nothing and prints what would be done.
        """
        root = parse_tree(text)
        if root.properties:
            raise ValueError("Can't import properties above imported nodes.")
        path = normalize(path)
        plan = _ImportPlan(acl, trim, dry_run)
        if self.client.exists(path) is not None:
            existing = self._read_nodes(path, _paths(path, root))
        elif dry_run:
            print(f'add {path}')
            existing = {}
        else:
            self.client.create(path, encode({}), acl, makepath=True)
            existing = {}
        plan.walk(path, root.children.values(), existing)
        if dry_run:
            for extra in plan.extras:
                self.delete_recursive(extra, dry_run=True)
            return
        self._transact(plan.operations)
        self._gather({p: self.client.set_acls_async(p, acl)
                      for p in plan.acl_changes})
        for extra in plan.extras:
            self.delete_recursive(extra)

    def _read_nodes(self, top, paths):
        """``{path: (data, stat, children, acl)}`` for those of ``paths``
        (all under ``top``) that exist, read with pipelined requests a
        level at a time, so a missing node's descendants are not asked
        for."""
        by_parent = {}
        for p in paths:
            by_parent.setdefault(posixpath.dirname(p), []).append(p)
        found = {}
        level = by_parent.get(top, [])
        while level:
            data = self._gather({p: self.client.get_async(p) for p in level})
            listed = self._gather({p: self.client.get_children_async(p)
                                   for p in level})
            acls = self._gather({p: self.client.get_acls_async(p)
                                 for p in level})
            next_level = []
            for p in level:
                if None in (data[p], listed[p], acls[p]):
                    continue
                found[p] = (data[p][0], data[p][1], listed[p], acls[p][0])
                next_level.extend(by_parent.get(p, ()))
            level = next_level
        return found

    def delete_recursive(self, path, dry_run=False, force=False,
                         ignore_if_ephemeral=False):
        """Delete ``path`` and everything under it, except (unless
        ``force``) ephemeral nodes and the nodes that hold them, which
        are reported (silently skipped with ``ignore_if_ephemeral``)."""
        path = normalize(path)
        nodes = self._read_tree(path)
        doomed = []

        def visit(p):
            stat, children = nodes[p]
            if stat.ephemeralOwner and not force:
                if not ignore_if_ephemeral:
                    print(f"wouldn't delete {p} because it's ephemeral."
                          if dry_run else
                          f"Not deleting {p} because it's ephemeral.")
                return False
            deletable = [visit(c) for c in (join(p, c) for c in children)
                         if c in nodes and c != '/zookeeper']
            if not all(deletable):
                print(f'{p} not deleted due to ephemeral descendent.')
                return False
            if p == '/':
                return False
            if dry_run:
                print(f'would delete {p}.')
            doomed.append(('delete', p))
            return True

        if path in nodes:
            visit(path)
        if not dry_run and doomed:
            try:
                self._transact(doomed)
            except NoNodeError:
                # Someone else deleted part of it meanwhile: finish one by
                # one, skipping what is gone.
                for _, p in doomed:
                    try:
                        self.client.delete(p)
                    except NoNodeError:
                        pass
            self._forget(path)

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


def _paths(path, root):
    """Every path a parsed tree would have under ``path``, parents first."""
    paths = []

    def visit(parent, node):
        p = join(parent, node.name)
        paths.append(p)
        for child in node.children.values():
            visit(p, child)

    for top in root.children.values():
        visit(path, top)
    return paths


class _ImportPlan:
    """What importing a parsed tree changes: transaction operations, extra
    paths to trim, and (in a dry run) the printed report."""

    def __init__(self, acl, trim, dry_run):
        self.acl = acl
        self.trim = trim
        self.dry_run = dry_run
        self.operations = []    # transaction operations, in order
        self.acl_changes = []   # paths (transactions can't change ACLs)
        self.extras = []

    def add(self, path, properties):
        if self.dry_run:
            print(f'add {path}')
        self.operations.append(('create', path, encode(properties), self.acl))

    def walk(self, parent, nodes, existing):
        for node in nodes:
            path = join(parent, node.name)
            if path in existing:
                self.update(path, node, *existing[path])
            else:
                self.add(path, node.properties)
            self.walk(path, node.children.values(), existing)

    def update(self, path, node, data, stat, children, acl):
        old = decode(data, path)
        if old != node.properties:
            if self.dry_run:
                _report_changes(path, old, node.properties)
            self.operations.append(('set_data', path,
                                    encode(node.properties)))
        if _acl_key(acl) != _acl_key(self.acl):
            if self.dry_run:
                print(f'{path} acl change from {_show_acl(acl)} to'
                      f' {_show_acl(self.acl)}')
            self.acl_changes.append(path)
        for name in sorted(set(children) - set(node.children)):
            extra = join(path, name)
            if self.trim is None:
                print(f'extra path not trimmed: {extra}')
            elif self.trim:
                self.extras.append(extra)


def _report_changes(path, old, new):
    for key in sorted(set(old) | set(new)):
        if key.endswith(LINK):
            name, what = key[:-len(LINK)], 'link'
            show = str
            sep = '->'
        else:
            name, what, show = key, 'property', repr
            sep = '=>' if key.endswith(PROPERTY_LINK) else '='
            if sep == '=>':
                name, show = key[:-len(PROPERTY_LINK)], str
        if key not in new:
            print(f'{path} remove {what} {name} {sep} {show(old[key])}')
        elif key not in old:
            print(f'{path} add {what} {name} {sep} {show(new[key])}')
        elif old[key] != new[key]:
            change = f'{what} change' if what == 'link' else 'change'
            print(f'{path} {name} {change} from {show(old[key])} to'
                  f' {show(new[key])}')
