"""The secondary: a read-only storage wrapper kept current by a primary.

The zc.zrs loop connects (and reconnects) to the primary and passes the
bytes it receives to the applier thread (zc.zrs.applier), which applies
only whole transactions whose checksum matched, in order. Anything wrong
drops the connection and the partial transaction, and the secondary
reconnects and resumes from its last committed transaction.

The secondary offers zrs2.2 first (zc.zrs.protocol): it refuses a primary
whose epoch is older than the newest it knows (``epoch``), and
acknowledges what it has made durable. A primary that closes the
connection before saying anything (the original zc.zrs, on an unknown
protocol id) is asked again at once with zrs2.1.
"""
import asyncio
import logging
import threading

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

    ``epoch`` is the newest epoch the secondary knows (settable at any
    time; it also learns newer ones from the primaries it meets): a zrs2.2
    primary with an older one is refused.
    """

    def __init__(self, storage, addr=None, reactor=None, reconnect_delay=60,
                 check_checksums=True, keep_alive_delay=0, ssl=None,
                 ssl_server_hostname=None, zookeeper=None,
                 zookeeper_session_timeout=None, clock=None, epoch=0):
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
        self.epoch = epoch
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

    @property
    def epoch(self):
        """The newest epoch known: primaries with older ones are
        refused."""
        return self._replicator.epoch

    @epoch.setter
    def epoch(self, epoch):
        self._replicator.set_epoch(protocol.check_epoch(epoch))

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
        or None), how many received pieces of data are ``pending``
        (waiting to be applied), the ``protocol`` of the connection (None
        when not connected) and the ``epoch`` known."""
        replicator = self._replicator
        connection = replicator.connection
        last = self._storage.lastTransaction()
        return dict(
            address=(None if replicator.address is None
                     else _show(replicator.address)),
            connected=connection is not None,
            last_tid=last.hex() if last.strip(b'\0') else None,
            pending=replicator.pending,
            protocol=(connection.protocol_id.decode()
                      if connection is not None else None),
            epoch=replicator.epoch)

    def _read_only(self, *args, **kw):
        raise ReadOnlyError()

    new_oid = tpc_begin = store = restore = storeBlob = restoreBlob = \
        undo = deleteObject = checkCurrentSerialInTransaction = _read_only

    def close(self, close_storage=True):
        """Stop replicating (after the transaction being applied, if any),
        then close the storage (unless ``close_storage`` is false: the
        storage goes on, say as a primary's)."""
        if self._follower is not None:
            self._follower.close()
        self._replicator.close()
        if close_storage:
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
        self.epoch = 0
        self._fallen_back = set()  # addresses whose fallback was logged
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

    def set_epoch(self, epoch):
        """A newer epoch drops the connection to an older primary."""
        self.epoch = epoch
        if self._task is not None:
            zrsloop.soon(self.loop, self._epoch_changed)

    def _epoch_changed(self):
        connection = self.connection
        if connection is not None:
            connection.check_epoch()

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
            offer = protocol.SYNC_PROTOCOL
            while True:
                connection = await self._connection(address, start, offer)
                if (connection is None or self.closed
                        or connection.heard_from or connection.failed
                        or offer != protocol.SYNC_PROTOCOL
                        or address != self.address):
                    break
                # Closed on before a word: a primary that does not know
                # zrs2.2 (the original). Ask again, as it expects.
                offer = protocol.fallback(self.blobs)
                if address not in self._fallen_back:
                    self._fallen_back.add(address)
                    logger.info('primary %s does not speak %s: '
                                'replicating with %s', _show(address),
                                protocol.SYNC_PROTOCOL.decode(),
                                offer.decode())
            if self.closed:
                break
            self._wakeup.clear()
            if address == self.address:
                await self._delay(self.reconnect_delay)

    async def _connection(self, address, start, offer):
        """Connect offering protocol ``offer`` and wait until the
        connection is lost; the connection, or None if none was made."""
        try:
            connection = await self._connect(address, start, offer)
        except (OSError, asyncio.TimeoutError) as exc:
            logger.warning('could not connect to primary %s: %s',
                           _show(address), exc or type(exc).__name__)
        except Exception:
            logger.exception('connecting to primary %s', _show(address))
        else:
            await connection.lost
            return connection
        return None

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
        """Wait until everything received is processed and on disk: the
        next connection starts from the storage's last transaction."""
        while not (self.applier.settled or self.closed):
            await asyncio.sleep(0.01)

    async def _connect(self, address, start, offer):
        loop = asyncio.get_running_loop()

        def factory():
            return _PrimaryConnection(self, address, start, offer)

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
    opening and keep-alives, checks a zrs2.2 primary's epoch, passes what
    arrives to the applier and the applier's acknowledgements to the
    primary.

    Over plain TCP (or a unix socket) everything is sent through a
    zrsloop.SocketWriter: the syncing thread sends an acknowledgement
    itself once its fsync returned, instead of waking the loop to send it
    (over TLS, the loop sends it).
    """

    def __init__(self, replicator, address, start_tid, protocol_id):
        self.replicator = replicator
        self.applier = replicator.applier
        self.address = _show(address)
        self.start_tid = start_tid
        self.protocol_id = protocol_id
        self.acknowledges = protocol_id == protocol.SYNC_PROTOCOL
        self.loop = asyncio.get_running_loop()
        self.lost = self.loop.create_future()
        self.transport = None
        self.failed = False  # set by the applier: ignore the rest
        self.paused = False
        self.heard_from = False  # the primary sent something
        self.primary_epoch = None  # zrs2.2: once the primary said it
        self._epoch_reader = (protocol.EpochReader() if self.acknowledges
                              else None)
        self._keep_alive = None
        self._writer = None  # a zrsloop.SocketWriter, unless over TLS
        self._writing = threading.Lock()  # serializes the writer's use
        self._ended = False  # connection_lost: nothing more is sent

    def connection_made(self, transport):
        self.transport = transport
        self.replicator.connection = self
        if zrsloop.SocketWriter.supports(transport):
            self._writer = zrsloop.SocketWriter(self.loop, transport,
                                                self._flush)
        self._write(protocol.opening(self.protocol_id, self.start_tid,
                                     self.replicator.epoch))
        logger.info('connected to primary %s (%s), starting after %s',
                    self.address, self.protocol_id.decode(),
                    tid_repr(self.start_tid))
        self._schedule_keep_alive()

    def _schedule_keep_alive(self):
        delay = self.replicator.keep_alive_delay
        if delay and delay > 0:
            self._keep_alive = self.replicator.clock.callLater(
                delay, zrsloop.soon, self.loop, self._send_keep_alive)

    def _send_keep_alive(self):
        self._keep_alive = None
        if not self.transport.is_closing():
            self._write(protocol.KEEP_ALIVE)
            self._schedule_keep_alive()

    def _write(self, data):
        """On the loop: send ``data``."""
        if self._writer is None:
            self.transport.write(data)
        else:
            self._send(data)

    def _send(self, data):
        """From any thread: send ``data`` through the writer, as far as
        the socket takes it now; the loop sends the rest."""
        with self._writing:
            if self._ended:
                return
            self._writer.write(data)
            waiting = bool(self._writer.pending)
        if waiting:
            zrsloop.soon(self.loop, self._flush)

    def _flush(self):
        """On the loop: send what the writer holds (and once the socket
        can take more, again)."""
        with self._writing:
            if not self._ended:
                self._writer.flush()

    def data_received(self, data):
        self.heard_from = True
        if self._epoch_reader is not None:
            data = self._read_epoch(data)
        if data and not self.failed:
            self.applier.feed(self, data)

    def _read_epoch(self, data):
        """The primary's epoch first: refuse a stale primary; the bytes
        after the epoch."""
        try:
            read = self._epoch_reader.feed(data)
        except protocol.InputError as exc:
            logger.critical('Input data error from primary %s: %s',
                            self.address, exc)
            self.fail()
            return None
        if read is None:
            return None
        self._epoch_reader = None
        self.primary_epoch, data = read
        if not self.check_epoch():
            return None
        if self.primary_epoch > self.replicator.epoch:
            self.replicator.epoch = self.primary_epoch
        return data

    def check_epoch(self):
        """On the loop: refuse the primary if a newer epoch is known."""
        epoch, known = self.primary_epoch, self.replicator.epoch
        if epoch is None or epoch >= known or self.failed:
            return not self.failed
        logger.error('primary %s has epoch %s, older than epoch %s: a '
                     'stale primary; refusing it', self.address, epoch, known)
        self.fail()
        return False

    def acknowledge(self, tid):
        """From the syncing thread: everything up to ``tid`` is
        durable."""
        if self._writer is not None:
            self._send(protocol.acknowledgement(tid))
        else:
            zrsloop.soon(self.loop, self._acknowledge, tid)

    def _acknowledge(self, tid):
        if not self.transport.is_closing():
            self.transport.write(protocol.acknowledgement(tid))

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
        with self._writing:
            self._ended = True
            if self._writer is not None:
                self._writer.close()
        self.applier.feed(self, None)  # drops a partial transaction
        if self.replicator.connection is self:
            self.replicator.connection = None
        # Closed on before a word when offering zrs2.2: _run falls back.
        fallback = self.acknowledges and not self.heard_from
        if not (self.replicator.closed or self.failed or fallback):
            logger.warning('lost connection to primary %s%s', self.address,
                           f': {exc}' if exc else '')
        self.lost.set_result(None)
