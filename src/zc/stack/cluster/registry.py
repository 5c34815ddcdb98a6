"""Where a cluster's services register in ZooKeeper, and reading those
registrations back.

Every service that registers makes an ephemeral node named ``host:port``
under its role's path (zc.zk's convention), whose properties carry at
least ``pid`` and, for Python processes, ``monitor`` (a zc.monitor
address). The tree of a cluster rooted at ``/zc-stack``, database
``main``::

    /zc-stack
      /databases/main               the database's high-availability path:
                                    zc.zrs's election lives below it
        /servers                    every node's ZEO server (zkrunzeo)
        /primary                    the elected primary's ZEO address
        /replication                its zc.zrs replication address
        /nodes, /epochs, /leader    zc.zrs's nodes, epochs and election
      /apps                         web app servers (zkzopeserver)
      /front                        the front door (HAProxy's address)

zc.zrs registers ``primary`` and ``replication`` (only the node that won
the election does); app servers find the primary there through zc.zkzeo.
"""
import posixpath

from kazoo.exceptions import NoNodeError
from zc.zrs import election

DEFAULT_ROOT = '/zc-stack'
DEFAULT_DATABASE = 'main'


class Layout:
    """The ZooKeeper paths of the cluster rooted at ``root`` whose
    database is called ``database``."""

    def __init__(self, root=DEFAULT_ROOT, database=DEFAULT_DATABASE):
        self.root = root.rstrip('/') or '/'
        self.database = database
        self.database_path = posixpath.join(self.root, 'databases',
                                            database)
        self.servers = posixpath.join(self.database_path, 'servers')
        self.primary = posixpath.join(self.database_path, 'primary')
        self.replication = posixpath.join(self.database_path, 'replication')
        self.apps = posixpath.join(self.root, 'apps')
        self.front = posixpath.join(self.root, 'front')

    def node(self, name):
        """Where the election keeps database node ``name`` while its
        process lives (an ephemeral node of zc.zrs's)."""
        return posixpath.join(self.database_path, election.NODES, name)

    def by_kind(self):
        """``(kind, path)`` for each kind of service that registers, in
        start order: database nodes (whose role, primary or secondary,
        the election decides), apps and the front door."""
        return [('database', self.servers), ('app', self.apps),
                ('front', self.front)]

    def paths(self):
        return [self.servers, self.primary, self.replication, self.apps,
                self.front]

    def create(self, zk):
        """Make sure every registration path exists."""
        for path in self.paths():
            zk.client.ensure_path(path)

    def delete(self, zk):
        """Remove the cluster's nodes (call it once its services are
        stopped: ephemeral nodes of running ones would block it)."""
        try:
            zk.client.delete(self.root, recursive=True)
        except NoNodeError:
            pass


def registrations(zk, path):
    """``[(address, properties)]`` registered under ``path``, sorted by
    address; empty when the path does not exist."""
    try:
        names = zk.client.get_children(path)
    except NoNodeError:
        return []
    found = []
    for name in sorted(names):
        try:
            properties = zk.get_properties(posixpath.join(path, name))
        except NoNodeError:
            continue  # gone while we looked
        found.append((name, dict(properties)))
    return found


def by_pid(zk, path):
    """``{pid: address}`` of the registrations under ``path``."""
    return {properties.get('pid'): address
            for address, properties in registrations(zk, path)}
