"""A high-availability node (``failover on``): one storage that is its
database's primary or one of its secondaries, as the election in
ZooKeeper (zc.zrs.election) decides, switching roles in process.

A ZEO server serves the node itself, whatever its role: ``isReadOnly()``
follows the role, so ZEO refuses writing clients while the node is a
secondary. Every storage method is passed to the current role (a
``zc.zrs.Primary`` or ``zc.zrs.Secondary`` over the node's FileStorage),
looked up at each call: ZEO binds some of them once per client.

The node keeps the epoch its data follows in a file beside the data file
(``Data.fs.epoch``), written before the data of a new epoch: after a
crash, a node that was primary of an older epoch knows its data may hold
transactions the later epochs never had, and cuts them before following.
"""
import json
import logging
import os
import posixpath
import socket
import threading

import zope.interface
from kazoo.exceptions import NoNodeError
from ZODB.utils import tid_repr

from zc.zrs import election
from zc.zrs import fsinternals
from zc.zrs import zk as zrszk
from zc.zrs.interfaces import IReplicationStatus
from zc.zrs.interfaces import NotAcknowledged
from zc.zrs.primary import Primary
from zc.zrs.secondary import Secondary

logger = logging.getLogger(__name__)

#: Storage methods passed to the current role at each call.
DELEGATED = (
    'load', 'loadBefore', 'loadSerial', 'prefetch', 'store', 'restore',
    'storeBlob', 'restoreBlob', 'loadBlob', 'openCommittedBlobFile',
    'temporaryDirectory', 'new_oid', 'tpc_vote', 'tpc_abort', 'tpc_transaction', 'lastTransaction', 'getTid', 'sortKey',
    'getName', 'checkCurrentSerialInTransaction', 'supportsUndo',
    'history', 'undoLog', 'undoInfo', 'undo', 'pack', 'iterator',
    'record_iternext', 'getSize', 'deleteObject', 'replication_status',
    'lastInvalidations',
    'copyTransactionsFrom', '__len__')


def _delegate(name):
    def method(self, *args, **kw):
        return getattr(self._role, name)(*args, **kw)
    method.__name__ = name
    method.__doc__ = f"The current role's {name}."
    return method


def default_name(data_path):
    """This machine's name and the data file's directory: stable across
    restarts, and different for the nodes of one machine."""
    directory = os.path.basename(os.path.dirname(os.path.abspath(data_path)))
    return f'{socket.gethostname()}-{directory}'


@zope.interface.implementer(IReplicationStatus)
class Node:
    """A storage that is primary or secondary of the database registered
    under ``path`` in ZooKeeper (``zookeeper``: a connection string or a
    ``zc.zk.ZooKeeper``), as the election decides.

    ``open_base()`` opens the FileStorage (or BlobStorage over one) the
    node works on; roles change over it. As primary the node serves
    secondaries on ``replicate_to``; ``primary_options`` and
    ``secondary_options`` go to Primary and Secondary. ``zeo_server`` (a
    zc.zrs.zeoserver.ZEOServer) is the ZEO server serving the node, whose
    address is registered while the node is primary.
    """

    def __init__(self, open_base, replicate_to, zookeeper, path, name=None,
                 zookeeper_session_timeout=None, zeo_server=None,
                 primary_options=None, secondary_options=None,
                 election_timeout=election.ELECTION_TIMEOUT):
        self._open_base = open_base
        self._replicate_to = replicate_to
        self._primary_options = dict(primary_options or {})
        self._secondary_options = dict(secondary_options or {})
        self._zeo = zeo_server
        self._path = path
        self._db = None
        self._follower = None
        #: ``(address, epoch)`` of the primary registered for replication
        #: (from the follower), and the ``(secondary, address)`` followed;
        #: under their own lock, never held while waiting on anything (the
        #: follower calls us holding its view's lock, which closing it
        #: takes, while switching roles).
        self._registered = None
        self._given = None
        self._registration = threading.Lock()
        self._switching = threading.RLock()
        base = open_base()
        try:
            self._data_path = fsinternals.data_file_name(
                fsinternals.filestorage(base))
        except ValueError:
            base.close()
            raise
        zope.interface.directlyProvides(
            self, zope.interface.providedBy(base), IReplicationStatus)
        self._epoch_path = self._data_path + '.epoch'
        self.data_epoch = self._read_epoch()
        self._base = base
        #: 'starting' (read-only, replicating from nobody yet),
        #: 'secondary' or 'primary'.
        self.role = None
        self._set_role(self._secondary(), 'starting')
        self.name = name or default_name(self._data_path)
        self.zk = None
        try:
            self.zk, self._owned = zrszk.session(zookeeper,
                                                 zookeeper_session_timeout)
            self._elector = election.Elector(self.zk, path, self.name, self,
                                             election_timeout)
            self._elector.start()
        except BaseException:
            self._role.close()
            if self.zk is not None and self._owned:
                self.zk.close()
            raise
        logger.info('node %s of %s started (data in epoch %s)', self.name,
                    path, self.data_epoch)

    def __getattr__(self, name):
        if name == '_role':
            raise AttributeError(name)
        return getattr(self._role, name)

    def __repr__(self):
        return f'<Node {self.name} ({self.role}) for {self._role!r}>'

    # The storage API the node changes

    def isReadOnly(self):
        """True unless primary and not fenced: ZEO then refuses writing
        clients (they go on looking for the primary)."""
        return self.role != 'primary' or self._role.fenced is not None

    def tpc_finish(self, transaction, f=None):
        try:
            return self._role.tpc_finish(transaction, f)
        except NotAcknowledged:
            if self._zeo is not None:
                self._zeo.abort_failed_commit(transaction)
            raise

    def registerDB(self, db):
        if self._zeo is not None:
            db = self._zeo.database(db)
        self._db = db
        self._role.registerDB(db)

    def close(self):
        """Leave the election (another node takes over if we were
        primary) and close the storage."""
        self._elector.close()
        with self._switching:
            self._stop_following()
            self._role.close()
        if self._owned:
            self.zk.close()

    # What the elector asks (zc.zrs.election.Elector)

    def last_tid(self):
        return self._role.lastTransaction()

    def settled(self):
        """Whether nothing received waits to be applied."""
        return self.role == 'primary' or not self._role.replication_status(
            )['pending']

    def replication_address(self):
        return self._role.address if self.role == 'primary' else None

    def zeo_address(self):
        return None if self._zeo is None else self._zeo.address()

    def fence(self, reason):
        """As primary, accept no commits (and acknowledge none) until
        ``unfence``."""
        if self.role == 'primary':
            self._role.fence(f'node {self.name}: {reason}')

    def drain(self, reason, timeout):
        """As primary, accept no new commits and wait (at most ``timeout``
        seconds) until those begun ended: whether they did."""
        if self.role != 'primary':
            return False
        return self._role.drain(f'node {self.name}: {reason}', timeout)

    def unfence(self):
        if self.role == 'primary':
            self._role.unfence()

    def promote(self, epoch):
        """Become the primary of ``epoch``, over the same FileStorage (on
        failure, a secondary replicating from nobody again)."""
        with self._switching:
            self._stop_following()
            self._role.close(close_storage=False)
            self._write_epoch(epoch)
            try:
                primary = Primary(self._base, self._replicate_to,
                                  epoch=epoch, **self._primary_options)
            except BaseException:
                # Read-only again, ready to follow whoever wins instead.
                self._set_role(self._secondary(), 'starting')
                raise
            self._set_role(primary, 'primary')
        logger.info('node %s is the primary of epoch %s, replicating on '
                    '%s:%s', self.name, epoch, *primary.address)

    def step_down(self):
        """Stop being the primary: read-only, replicating from nobody
        until the elector says whom to follow; ZEO clients are
        disconnected (zkzeo clients go to the new primary)."""
        with self._switching:
            self.fence('stepping down')
            # While still primary: their transactions are aborted.
            self.disconnect_clients()
            self._role.close(close_storage=False)
            self._set_role(self._secondary(), 'starting')

    def follow(self, epoch, truncate_after=None):
        """Replicate from the primary of ``epoch`` (registered in
        ZooKeeper), first cutting the data after ``truncate_after`` when
        it has more."""
        with self._switching:
            cut = (truncate_after is not None
                   and self.last_tid() > truncate_after)
            if cut:
                self._stop_following()
                self._role.close()
                removed = fsinternals.truncate_after(self._data_path,
                                                     truncate_after)
                logger.warning(
                    'node %s: removed %s transactions after %s that epoch '
                    '%s does not have', self.name, len(removed),
                    tid_repr(truncate_after), epoch)
                self._base = self._open_base()
                self._set_role(self._secondary(), 'starting')
            self._write_epoch(epoch)
            self._role.epoch = epoch
            self.role = 'secondary'
            if self._follower is None:
                self._follower = zrszk.PrimaryFollower(
                    self.zk, posixpath.join(self._path,
                                            election.REPLICATION),
                    self._primary_registered)
            else:
                self._follow_registered()
        if cut:
            self.disconnect_clients()  # their caches may hold the cut
        logger.info('node %s follows the primary of epoch %s', self.name,
                    epoch)

    # Helpers

    def _secondary(self):
        """A Secondary over the base storage, replicating from nobody
        yet."""
        return Secondary(self._base, epoch=self.data_epoch,
                         **self._secondary_options)

    def _set_role(self, storage, role):
        self._role = storage
        # What zc.zrs.monitor looks under for the replicating layers.
        self._storage = storage
        self.role = role
        if self._db is not None:
            storage.registerDB(self._db)

    def _stop_following(self):
        if self._follower is not None:
            self._follower.close()
            self._follower = None
        with self._registration:
            self._registered = self._given = None

    def _primary_registered(self, address):
        """From the follower: ``address`` is the primary's now."""
        epoch = self._registered_epoch(address)
        with self._registration:
            self._registered = address, epoch
        self._follow_registered()

    def _follow_registered(self):
        """Replicate from the registered primary if it serves the epoch
        our data follows: the primary of a newer epoch waits until the
        elector has brought our data into it (cutting what that epoch
        does not have, which the primary would refuse)."""
        with self._registration:
            secondary = self._role
            if self._registered is None or self.role == 'primary':
                return
            address, epoch = self._registered
            if epoch is not None and epoch > self.data_epoch:
                logger.info('node %s: the primary at %s:%s serves epoch %s;'
                            ' following it once our data is in it',
                            self.name, *address, epoch)
                return
            if self._given == (secondary, address):
                return
            self._given = secondary, address
        secondary.setReplicationAddress(address)

    def _registered_epoch(self, address):
        """The epoch of the primary registered at ``address`` (None if
        it does not say)."""
        node = posixpath.join(self._path, election.REPLICATION,
                              '%s:%s' % tuple(address))
        try:
            data, _ = self.zk.client.get(node)
            return json.loads(data.decode()).get('epoch')
        except (NoNodeError, ValueError, AttributeError):
            return None

    def disconnect_clients(self):
        """Close the connections of our ZEO clients (they reconnect)."""
        if self._zeo is not None:
            self._zeo.disconnect_clients()

    def _read_epoch(self):
        try:
            with open(self._epoch_path) as f:
                return int(f.read().strip() or 0)
        except FileNotFoundError:
            return 0

    def _write_epoch(self, epoch):
        if epoch == self.data_epoch and os.path.exists(self._epoch_path):
            return
        temporary = self._epoch_path + '.tmp'
        with open(temporary, 'w') as f:
            f.write(f'{epoch}\n')
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self._epoch_path)
        self.data_epoch = epoch


for _name in DELEGATED:
    setattr(Node, _name, _delegate(_name))
del _name
