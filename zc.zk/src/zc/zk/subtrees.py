"""Whole subtrees at once: export to and import from the tree text format
(``zc.zk._tree``), and recursive deletion.

Functions of a kazoo client, built on its public API like kazoo's own
recipes; ``ZooKeeper.export_tree``, ``import_tree`` and
``delete_recursive`` call them. Many nodes are read and written with
pipelined requests and transactions, not one round trip per node.
"""
import posixpath

from kazoo.exceptions import NoNodeError, RolledBackError
from kazoo.security import OPEN_ACL_UNSAFE

from zc.zk._data import decode, encode
from zc.zk._paths import child, join, normalize
from zc.zk._tree import LINK, PROPERTY_LINK, format_node, parse_tree

#: Seconds to wait for the results of a batch of pipelined requests.
BATCH_TIMEOUT = 120
#: Operations per transaction when writing many nodes at once: larger
#: transactions cost the server and the client less per node (1,000
#: nodes import ~20% faster than 256 at a time).
TRANSACTION_SIZE = 1000
#: Bytes of paths and data per transaction, well below the 1 MB a
#: ZooKeeper server accepts in one request (``jute.maxbuffer``).
TRANSACTION_BYTES = 512 * 1024


def _acl_key(acl):
    return sorted((a.perms, a.id.scheme, a.id.id) for a in acl)


def _show_acl(acl):
    return ','.join(f'{a.id.scheme}:{a.id.id}:{a.perms}' for a in acl)


def _gather(requests):
    """Wait for pipelined requests ``{key: async_result}``; a missing
    node gives None."""
    results = {}
    for key, request in requests.items():
        try:
            results[key] = request.get(timeout=BATCH_TIMEOUT)
        except NoNodeError:
            results[key] = None
    return results

def _read_tree(client, path, data=False):
    """``{path: (stat, children[, data])}`` for ``path`` and every node
    under it, read level by level with pipelined requests."""
    nodes = {}
    level = [path]
    while level:
        listed = _gather({
            p: client.get_children_async(p, include_data=True)
            for p in level})
        contents = _gather({
            p: client.get_async(p) for p in level} if data else {})
        level = []
        for p, found in listed.items():
            if found is None or (data and contents[p] is None):
                continue  # deleted while we read
            children, stat = found
            children = sorted(children)
            nodes[p] = ((stat, children, contents[p][0]) if data
                        else (stat, children))
            level.extend(join(p, name) for name in children)
    return nodes


class _Transactions:
    """Transaction operations ``(method, *args)``, sent in batches as they
    come, so that the server applies one batch while the next is built;
    ``wait()`` raises the first failure."""

    def __init__(self, client):
        self.client = client
        self.pending = []
        self.pending_bytes = 0
        self.commits = []

    def append(self, operation):
        size = _size(operation)
        if self.pending_bytes + size > TRANSACTION_BYTES:
            self._commit()
        self.pending.append(operation)
        self.pending_bytes += size
        if len(self.pending) >= TRANSACTION_SIZE:
            self._commit()

    def _commit(self):
        if self.pending:
            transaction = self.client.transaction()
            for method, *args in self.pending:
                getattr(transaction, method)(*args)
            self.commits.append(transaction.commit_async())
            self.pending = []
            self.pending_bytes = 0

    def wait(self):
        self._commit()
        for commit in self.commits:
            for result in commit.get(timeout=BATCH_TIMEOUT):
                if isinstance(result, Exception) and not isinstance(
                        result, RolledBackError):
                    raise result


def _size(operation):
    """About the bytes ``(method, path[, data...])`` takes in a request."""
    method, path, *args = operation
    data = args[0] if args and isinstance(args[0], bytes) else b''
    return len(path) + len(data) + 64


def _transact(client, operations):
    """Run ``(method, *args)`` transaction operations in order, batched
    and pipelined; raise the first failure."""
    transactions = _Transactions(client)
    for operation in operations:
        transactions.append(operation)
    transactions.wait()

def export_tree(client, path='/', ephemeral=False, name=None):
    """``path`` and everything under it in the tree text format.

    Ephemeral nodes are left out unless ``ephemeral``; so is
    ``/zookeeper`` when exporting ``/``. ``name`` renames the top node;
    exporting ``/`` with a name puts everything under that node.
    """
    path = normalize(path)
    nodes = _read_tree(client, path, data=True)
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
    return ''.join(format_node(*top) for top in children)

def import_tree(client, text, path='/', trim=None, acl=OPEN_ACL_UNSAFE,
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
    plan = _ImportPlan(acl, trim, dry_run,
                       [] if dry_run else _Transactions(client))
    if client.exists(path) is not None:
        existing = _read_nodes(client, path, _paths(path, root))
    elif dry_run:
        print(f'add {path}')
        existing = {}
    else:
        client.create(path, encode({}), acl, makepath=True)
        existing = {}
    plan.walk(path, root.children.values(), existing)
    if dry_run:
        for extra in plan.extras:
            delete_recursive(client, extra, dry_run=True)
        return
    plan.operations.wait()
    _gather({p: client.set_acls_async(p, acl)
                  for p in plan.acl_changes})
    for extra in plan.extras:
        delete_recursive(client, extra)

def _read_nodes(client, top, paths):
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
        data = _gather({p: client.get_async(p) for p in level})
        listed = _gather({p: client.get_children_async(p)
                               for p in level})
        acls = _gather({p: client.get_acls_async(p)
                             for p in level})
        next_level = []
        for p in level:
            if None in (data[p], listed[p], acls[p]):
                continue
            found[p] = (data[p][0], data[p][1], listed[p], acls[p][0])
            next_level.extend(by_parent.get(p, ()))
        level = next_level
    return found

def delete_recursive(client, path, dry_run=False, force=False,
                     ignore_if_ephemeral=False):
    """Delete ``path`` and everything under it, except (unless
    ``force``) ephemeral nodes and the nodes that hold them, which
    are reported (silently skipped with ``ignore_if_ephemeral``)."""
    path = normalize(path)
    nodes = _read_tree(client, path)
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
            _transact(client, doomed)
        except NoNodeError:
            # Someone else deleted part of it meanwhile: finish one by
            # one, skipping what is gone.
            for _, p in doomed:
                try:
                    client.delete(p)
                except NoNodeError:
                    pass


def _paths(path, root):
    """Every path a parsed tree would have under ``path``, parents first."""
    paths = []

    def visit(parent, node):
        p = child(parent, node.name)
        paths.append(p)
        for grandchild in node.children.values():
            visit(p, grandchild)

    for top in root.children.values():
        visit(path, top)
    return paths


class _ImportPlan:
    """What importing a parsed tree changes: transaction operations, extra
    paths to trim, and (in a dry run) the printed report."""

    def __init__(self, acl, trim, dry_run, operations):
        self.acl = acl
        self.trim = trim
        self.dry_run = dry_run
        self.operations = operations    # gets transaction operations
        self.acl_changes = []   # paths (transactions can't change ACLs)
        self.extras = []

    def add(self, path, properties):
        if self.dry_run:
            print(f'add {path}')
        self.operations.append(('create', path, encode(properties), self.acl))

    def walk(self, parent, nodes, existing):
        for node in nodes:
            path = child(parent, node.name)
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
