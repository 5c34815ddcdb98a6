"""The secondary: a read-only storage wrapper kept current by a primary.

The zc.zrs loop connects (and reconnects) to the primary and passes the
bytes it receives to the applier thread (zc.zrs.applier), which applies
only whole transactions whose checksum matched, in order. Anything wrong
drops the connection and the partial transaction, and the secondary
reconnects and resumes from its last committed transaction.
"""
import asyncio
import logging

import ZODB.interfaces
import zope.interface
from ZODB.POSException import ReadOnlyError
from ZODB.utils import tid_repr

from zc.zrs import applier as zrsapplier
from zc.zrs import loop as zrsloop
from zc.zrs import protocol
from zc.zrs.interfaces import IAppliedConnection
from zc.zrs.interfaces import IReplicationStatus
from zc.zrs.wrapper import StorageWrapper
from zc.zrs.wrapper import open_storage
from zc.zrs.wrapper import parse_address

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30
#: How long close() waits for the transaction being applied.
CLOSE_TIMEOUT = 60


@zope.interface.implementer(IReplicationStatus)
class Secondary(StorageWrapper):
    """A read-only storage that replicates from the primary at ``addr``
    (``(host, port)`` or a unix socket path; None: later, with
    ``setReplicationAddress``).

    ``ssl`` is a client-side ``ssl.SSLContext`` (holding this secondary's
    certificate for mutual authentication); ``ssl_server_hostname`` the name
    to check in the primary's certificate (default: the host connected to).

    With ``zookeeper`` (a connection string, or a ``zc.zk.ZooKeeper``; extra
    ``zk``), ``addr`` is the ZooKeeper path where the primary registers, and
    the secondary follows whichever primary is registered there.

    ``clock`` times the reconnect delay and the keep-alives (see
    zc.zrs.loop.Clock, the default; tests pass Twisted's task.Clock).
    """

    def __init__(self, storage, addr=None, reactor=None, reconnect_delay=60,
                 check_checksums=True, keep_alive_delay=0, ssl=None,
                 ssl_server_hostname=None, zookeeper=None,
                 zookeeper_session_timeout=None, clock=None):
        if reactor is not None:
            raise TypeError('zc.zrs runs its own asyncio loop; the reactor '
                            'argument is no longer supported')
        storage = open_storage(storage)
        super().__init__(storage)
        self._db = None
        self._replicator = _Replicator(
            storage, self._invalidate, reconnect_delay=reconnect_delay,
            check_checksums=check_checksums,
            keep_alive_delay=keep_alive_delay, ssl=ssl,
            server_hostname=ssl_server_hostname, clock=clock)
        self._follower = None
        if zookeeper is not None:
            self._follow(zookeeper, addr, zookeeper_session_timeout)
        elif addr is not None:
            self.setReplicationAddress(addr)

    def _follow(self, zookeeper, path, session_timeout):
        try:
            if not (isinstance(path, str) and path.startswith('/')):
                raise ValueError(f'with zookeeper, the address is a '
                                 f'ZooKeeper path (starting with /), not '
                                 f'{path!r}')
            from zc.zrs.zk import PrimaryFollower
            self._follower = PrimaryFollower(
                zookeeper, path, self.setReplicationAddress, session_timeout)
        except BaseException:
            self.close()
            raise

    def setReplicationAddress(self, addr):
        """Replicate from ``addr``; connecting starts with the first
        address, and a new one replaces the current connection."""
        self._replicator.set_address(parse_address(addr))

    def registerDB(self, db):
        """``db`` is invalidated after each replicated transaction."""
        self._db = db
        register = getattr(self._storage, 'registerDB', None)
        if register is not None:
            register(db)

    def _invalidate(self, tid, oids):
        db = self._db
        if db is not None:
            db.invalidate(tid, oids)

    def isReadOnly(self):
        return True

    def replication_status(self):
        """Plain data for monitoring: the primary's ``address`` (text, or
        None), whether it is ``connected``, the ``last_tid`` applied (hex,
        or None) and how many received pieces of data are ``pending``
        (waiting to be applied)."""
        replicator = self._replicator
        last = self._storage.lastTransaction()
        return dict(
            address=(None if replicator.address is None
                     else _show(replicator.address)),
            connected=replicator.connection is not None,
            last_tid=last.hex() if last.strip(b'\0') else None,
            pending=replicator.pending)

    def _read_only(self, *args, **kw):
        raise ReadOnlyError()

    new_oid = tpc_begin = store = restore = storeBlob = restoreBlob = \
        undo = deleteObject = checkCurrentSerialInTransaction = _read_only

    def close(self):
        """Stop replicating (after the transaction being applied, if any),
        then close the storage."""
        if self._follower is not None:
            self._follower.close()
        self._replicator.close()
        self._storage.close()


class _Replicator:
    """Connects, reconnects, and hands received bytes to the applier: the
    machinery of one Secondary."""

    def __init__(self, storage, invalidate, *, reconnect_delay,
                 check_checksums, keep_alive_delay, ssl, server_hostname,
                 clock):
        self.storage = storage
        self.reconnect_delay = reconnect_delay
        self.check_checksums = check_checksums
        self.keep_alive_delay = keep_alive_delay
        self.ssl = ssl
        self.server_hostname = server_hostname
        self.blobs = ZODB.interfaces.IBlobStorage.providedBy(storage)
        self.loop = zrsloop.get_loop()
        self.clock = clock if clock is not None else zrsloop.Clock(self.loop)
        self.applier = zrsapplier.Applier(storage, invalidate,
                                          check_checksums, self.blobs)
        self.address = None
        self.connection = None
        self.closed = False
        self._wakeup = None  # asyncio.Event, created on the loop
        self._task = None

    @property
    def pending(self):
        return self.applier.pending

    # Control, from any thread.

    def set_address(self, address):
        self.address = address
        if self._task is None:
            self.applier.start()
            self._task = zrsloop.call(self._start)
        else:
            zrsloop.soon(self.loop, self._address_changed)

    def _start(self):
        self._wakeup = asyncio.Event()
        return self.loop.create_task(self._run())

    def _address_changed(self):
        self._wakeup.set()
        if self.connection is not None:
            self.connection.transport.abort()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self._task is not None:
            try:
                zrsloop.call(self._stop)
            except Exception:
                logger.exception('stopping replication')
            if not self.applier.close(CLOSE_TIMEOUT):
                logger.error('a replicated transaction was still being '
                             'applied %s seconds after close', CLOSE_TIMEOUT)

    async def _stop(self):
        self._wakeup.set()
        if self.connection is not None:
            self.connection.transport.abort()
        try:
            await asyncio.wait_for(self._task, zrsloop.CALL_TIMEOUT)
        except asyncio.TimeoutError:
            self._task.cancel()

    # Connecting, on the loop.

    async def _run(self):
        while not self.closed:
            await self._applied()
            if self.closed:
                break
            address = self.address
            start = self.storage.lastTransaction()
            try:
                connection = await self._connect(address, start)
            except (OSError, asyncio.TimeoutError) as exc:
                logger.warning('could not connect to primary %s: %s',
                               _show(address), exc or type(exc).__name__)
            except Exception:
                logger.exception('connecting to primary %s', _show(address))
            else:
                await connection.lost
            if self.closed:
                break
            self._wakeup.clear()
            if address == self.address:
                await self._delay(self.reconnect_delay)

    async def _delay(self, seconds):
        """Wait ``seconds`` on the clock, or until woken up (a new
        address, closing)."""
        call = self.clock.callLater(seconds, zrsloop.soon, self.loop,
                                    self._wakeup.set)
        try:
            await self._wakeup.wait()
        finally:
            if call.active():
                call.cancel()

    async def _applied(self):
        """Wait until everything received is processed: the next
        connection starts from the storage's last transaction."""
        while self.applier.pending and not self.closed:
            await asyncio.sleep(0.01)

    async def _connect(self, address, start):
        loop = asyncio.get_running_loop()

        def factory():
            return _PrimaryConnection(self, address, start)

        options = {}
        if self.ssl is not None:
            options = dict(ssl=self.ssl, server_hostname=(
                self.server_hostname if self.server_hostname is not None
                else address[0] if not isinstance(address, str) else ''))
        if isinstance(address, str):
            connect = loop.create_unix_connection(factory, address, **options)
        else:
            connect = loop.create_connection(factory, address[0], address[1],
                                             **options)
        _transport, connection = await asyncio.wait_for(connect,
                                                        CONNECT_TIMEOUT)
        return connection


def _show(address):
    return address if isinstance(address, str) else '%s:%s' % address


@zope.interface.implementer(IAppliedConnection)
class _PrimaryConnection(asyncio.Protocol):
    """The secondary's end of the connection, on the loop: sends the
    handshake and keep-alives, and passes what arrives to the applier."""

    def __init__(self, replicator, address, start_tid):
        self.replicator = replicator
        self.applier = replicator.applier
        self.address = _show(address)
        self.start_tid = start_tid
        self.loop = asyncio.get_running_loop()
        self.lost = self.loop.create_future()
        self.transport = None
        self.failed = False  # set by the applier: ignore the rest
        self.paused = False
        self._keep_alive = None

    def connection_made(self, transport):
        self.transport = transport
        self.replicator.connection = self
        protocol_id = (protocol.BLOB_PROTOCOL if self.replicator.blobs
                       else protocol.PROTOCOLS[0])
        transport.write(protocol.frame(protocol_id)
                        + protocol.frame(self.start_tid))
        logger.info('connected to primary %s, starting after %s',
                    self.address, tid_repr(self.start_tid))
        self._schedule_keep_alive()

    def _schedule_keep_alive(self):
        delay = self.replicator.keep_alive_delay
        if delay and delay > 0:
            self._keep_alive = self.replicator.clock.callLater(
                delay, zrsloop.soon, self.loop, self._send_keep_alive)

    def _send_keep_alive(self):
        self._keep_alive = None
        if not self.transport.is_closing():
            self.transport.write(protocol.KEEP_ALIVE)
            self._schedule_keep_alive()

    def data_received(self, data):
        if not self.failed:
            self.applier.feed(self, data)

    # Flow control: the applier asks to pause when much is waiting.

    def pause(self):
        """On the loop (from feed): too much is waiting to be applied."""
        self.paused = True
        if not self.transport.is_closing():
            self.transport.pause_reading()

    def resume(self):
        """From the applier thread: there is room again."""
        zrsloop.soon(self.loop, self._resume)

    def _resume(self):
        self.paused = False
        if not self.transport.is_closing():
            self.transport.resume_reading()

    def fail(self):
        """From the applier thread: what this connection brings cannot be
        applied; drop it (the secondary reconnects)."""
        self.failed = True
        zrsloop.soon(self.loop, self.transport.abort)

    def connection_lost(self, exc):
        if self._keep_alive is not None and self._keep_alive.active():
            self._keep_alive.cancel()
        self.applier.feed(self, None)  # drops a partial transaction
        if self.replicator.connection is self:
            self.replicator.connection = None
        if not self.replicator.closed and not self.failed:
            logger.warning('lost connection to primary %s%s', self.address,
                           f': {exc}' if exc else '')
        self.lost.set_result(None)
