"""The secondary: a read-only storage wrapper kept current by a primary.

The network side runs on the zc.zrs loop: it reads messages, checks the
running checksum and gathers whole transactions (blob files go straight to
temporary files, never into memory). A transaction is handed to the applier
thread only once its checksum message has arrived and matched; the applier
writes it with ``tpc_begin``/``restore``/``tpc_vote``/``tpc_finish``. So the
storage only ever receives whole, verified transactions, in order; anything
wrong drops the connection and the partial transaction, and the secondary
reconnects and resumes from its last committed tid.
"""
import asyncio
import logging
import os
import queue
import tempfile
import threading

import ZODB.interfaces
from ZODB.Connection import TransactionMetaData
from ZODB.POSException import ReadOnlyError
from ZODB.utils import tid_repr

from zc.zrs import groupsync
from zc.zrs import loop as zrsloop
from zc.zrs import protocol
from zc.zrs.wrapper import StorageWrapper
from zc.zrs.wrapper import open_storage
from zc.zrs.wrapper import parse_address

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30
#: Received transactions waiting for the applier before reading pauses.
MAX_QUEUED_TRANSACTIONS = 500
MAX_QUEUED_BYTES = 32 << 20
#: The applier and the connector re-check their state this often.
POLL_INTERVAL = 1.0
#: How long close() waits for the transaction being applied.
CLOSE_TIMEOUT = 60


class Secondary(StorageWrapper):
    """A read-only storage that replicates from the primary at ``addr``
    (``(host, port)`` or a unix socket path; None: later, with
    ``setReplicationAddress``).

    ``ssl`` is a client-side ``ssl.SSLContext`` (holding this secondary's
    certificate for mutual authentication); ``ssl_server_hostname`` the name
    to check in the primary's certificate (default: the host connected to).
    """

    def __init__(self, storage, addr=None, reactor=None, reconnect_delay=60,
                 check_checksums=True, keep_alive_delay=0, ssl=None,
                 ssl_server_hostname=None):
        if reactor is not None:
            raise TypeError('zc.zrs runs its own asyncio loop; the reactor '
                            'argument is no longer supported')
        storage = open_storage(storage)
        super().__init__(storage)
        self._db = None
        self._replicator = _Replicator(
            self, storage, reconnect_delay=reconnect_delay,
            check_checksums=check_checksums,
            keep_alive_delay=keep_alive_delay, ssl=ssl,
            server_hostname=ssl_server_hostname)
        if addr is not None:
            self.setReplicationAddress(addr)

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

    def isReadOnly(self):
        return True

    def replication_status(self):
        """Plain data for monitoring: the primary's ``address`` (text, or
        None), whether it is ``connected``, the ``last_tid`` applied (hex,
        or None) and how many received transactions are ``pending``."""
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
        self._replicator.close()
        self._storage.close()


class _Record:
    __slots__ = ('oid', 'tid', 'data', 'data_txn', 'blob', 'blocks')


class _Transaction:
    """A transaction as received, waiting to be applied."""

    def __init__(self, header, connection):
        (self.tid, self.status, self.user, self.description,
         self.extension) = header
        self.connection = connection
        self.records = []
        self.size = 0

    def discard(self):
        """Remove the temporary blob files nobody will restore."""
        for record in self.records:
            if record.blob is not None and os.path.exists(record.blob):
                os.remove(record.blob)


class _Replicator:
    """Connects, reconnects, and applies: the machinery of one Secondary."""

    def __init__(self, secondary, storage, *, reconnect_delay,
                 check_checksums, keep_alive_delay, ssl, server_hostname):
        self.secondary = secondary
        self.storage = storage
        self.reconnect_delay = reconnect_delay
        self.check_checksums = check_checksums
        self.keep_alive_delay = keep_alive_delay
        self.ssl = ssl
        self.server_hostname = server_hostname
        self.blobs = ZODB.interfaces.IBlobStorage.providedBy(storage)
        self.loop = zrsloop.get_loop()
        self.address = None
        self.connection = None
        self.closed = False
        self.queue = queue.Queue()
        self._pending_lock = threading.Lock()
        self.pending = 0
        self.pending_bytes = 0
        self._wakeup = None  # asyncio.Event, created on the loop
        self._task = None
        self._applier = None

    # Control, from any thread.

    def set_address(self, address):
        self.address = address
        if self._task is None:
            self._applier = threading.Thread(
                target=self._apply_loop, daemon=True,
                name=f'zc.zrs applier {self.storage.getName()}')
            self._applier.start()
            self._task = zrsloop.call(self._start)
        else:
            self.loop.call_soon_threadsafe(self._address_changed)

    def _start(self):
        self._wakeup = asyncio.Event()
        return self.loop.create_task(self._run())

    def _address_changed(self):
        self._wakeup.set()
        if self.connection is not None:
            self.connection.transport.abort()

    def close(self):
        self.closed = True
        if self._task is not None:
            try:
                zrsloop.call(self._stop)
            except Exception:
                logger.exception('stopping replication')
            self.queue.put(None)
            self._applier.join(CLOSE_TIMEOUT)
            if self._applier.is_alive():
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
                try:
                    await asyncio.wait_for(self._wakeup.wait(),
                                           self.reconnect_delay)
                except asyncio.TimeoutError:
                    pass

    async def _applied(self):
        """Wait until every received transaction is applied: the next
        connection starts from the storage's last transaction."""
        while self.pending and not self.closed:
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

    # Handing over, from the loop to the applier.

    def enqueue(self, transaction):
        with self._pending_lock:
            self.pending += 1
            self.pending_bytes += transaction.size
            full = (self.pending >= MAX_QUEUED_TRANSACTIONS
                    or self.pending_bytes >= MAX_QUEUED_BYTES)
        self.queue.put(transaction)
        if full:
            transaction.connection.pause()

    def _done(self, transaction):
        with self._pending_lock:
            self.pending -= 1
            self.pending_bytes -= transaction.size
            roomy = (self.pending <= MAX_QUEUED_TRANSACTIONS // 2
                     and self.pending_bytes <= MAX_QUEUED_BYTES // 2)
        if roomy and transaction.connection.paused:
            self.loop.call_soon_threadsafe(transaction.connection.resume)

    # Applying, in the applier thread.

    def _apply_loop(self):
        sync = groupsync.GroupSync(self.storage)
        try:
            self._apply_all(sync)
        finally:
            sync.close()

    def _apply_all(self, sync):
        while True:
            try:
                transaction = self.queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                if self.closed:
                    break
                continue
            if transaction is None:
                break
            try:
                if self.closed or transaction.connection.failed:
                    transaction.discard()
                else:
                    self._apply(transaction)
                    sync.applied(more_waiting=not self.queue.empty())
            except Exception:
                logger.critical('Failed to apply replicated transaction %s',
                                tid_repr(transaction.tid), exc_info=True)
                transaction.connection.failed = True
                self.loop.call_soon_threadsafe(
                    transaction.connection.transport.abort)
            finally:
                self._done(transaction)
        # Anything left was received but will be fetched again.
        while True:
            try:
                transaction = self.queue.get_nowait()
            except queue.Empty:
                break
            if transaction is not None:
                transaction.discard()
                self._done(transaction)

    def _apply(self, transaction):
        storage = self.storage
        meta = TransactionMetaData(transaction.user, transaction.description,
                                   transaction.extension)
        storage.tpc_begin(meta, transaction.tid, transaction.status)
        try:
            for record in transaction.records:
                if record.blob is None:
                    storage.restore(record.oid, record.tid, record.data, '',
                                    record.data_txn, meta)
                else:
                    storage.restoreBlob(record.oid, record.tid, record.data,
                                        record.blob, record.data_txn, meta)
            storage.tpc_vote(meta)
            storage.tpc_finish(meta)
        except BaseException:
            storage.tpc_abort(meta)
            raise
        finally:
            transaction.discard()
        db = self.secondary._db
        if db is not None:
            try:
                db.invalidate(transaction.tid, list(dict.fromkeys(
                    record.oid for record in transaction.records)))
            except Exception:  # committed all the same
                logger.exception('invalidating %r after %s', db,
                                 tid_repr(transaction.tid))


def _show(address):
    return address if isinstance(address, str) else '%s:%s' % address


class _PrimaryConnection(asyncio.Protocol):
    """The secondary's end of the connection, on the loop: a state machine
    over the primary's messages."""

    def __init__(self, replicator, address, start_tid):
        self.replicator = replicator
        self.address = _show(address)
        self.start_tid = start_tid
        self.last_tid = start_tid
        self.checksum = protocol.Checksum(start_tid)
        self.reader = protocol.FrameReader()
        self.decoder = protocol.Decoder()
        self.lost = asyncio.get_running_loop().create_future()
        self.transport = None
        self.transaction = None
        self.record = None
        self.blob_file = None
        self.state = self._expect_transaction
        self.failed = False
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
            self._keep_alive = asyncio.get_running_loop().call_later(
                delay, self._send_keep_alive)

    def _send_keep_alive(self):
        if not self.transport.is_closing():
            self.transport.write(protocol.KEEP_ALIVE)
            self._schedule_keep_alive()

    def data_received(self, data):
        if self.failed:
            return
        try:
            for payload in self.reader.feed(data):
                self.state(payload)
                self.checksum.update(payload)
        except Exception as exc:
            self._input_error(exc)

    def _input_error(self, exc):
        self.failed = True
        logger.critical('Input data error from primary %s: %s', self.address,
                        exc, exc_info=not isinstance(exc, protocol.InputError))
        self.transport.abort()

    # States: each takes the next payload.

    def _expect_transaction(self, payload):
        kind, args = self.decoder.loads(payload)
        if kind != 'T':
            raise protocol.InputError(f'expected a transaction, got {kind}')
        header = protocol.transaction_header(args)
        if header[0] <= self.last_tid:
            raise protocol.InputError(
                f'transaction {tid_repr(header[0])} is not after '
                f'{tid_repr(self.last_tid)}')
        self.transaction = _Transaction(header, self)
        self.state = self._expect_record

    def _expect_record(self, payload):
        kind, args = self.decoder.loads(payload)
        transaction = self.transaction
        if kind == 'C':
            digest, = args
            if (self.replicator.check_checksums
                    and digest != self.checksum.digest()):
                raise protocol.InputError('checksum mismatch')
            self.transaction = None
            self.last_tid = transaction.tid
            self.state = self._expect_transaction
            self.replicator.enqueue(transaction)
            return
        if kind not in ('S', 'B'):
            raise protocol.InputError(f'unexpected {kind} message')
        record = _Record()
        record.oid, record.tid, record.data_txn = protocol.record_header(args)
        if record.tid != transaction.tid:
            raise protocol.InputError(
                f'record of {tid_repr(record.tid)} in transaction '
                f'{tid_repr(transaction.tid)}')
        record.blob = None
        record.blocks = None
        if kind == 'B':
            if not self.replicator.blobs:
                raise protocol.InputError('blob record, but no blob storage')
            record.blocks = args[4]
            if not isinstance(record.blocks, int) or record.blocks < 0:
                raise protocol.InputError(f'bad block count {args[4]!r}')
        self.record = record
        transaction.records.append(record)
        self.state = self._expect_data

    def _expect_data(self, payload):
        record = self.record
        record.data = payload or None
        self.transaction.size += len(payload)
        if record.blocks is None:
            self.state = self._expect_record
            return
        # A blob record: its file arrives in blocks, into a temporary file
        # in the storage's own temporary directory (restoreBlob moves it).
        fd, record.blob = tempfile.mkstemp(
            suffix='.zrs', dir=self.replicator.storage.temporaryDirectory())
        self.blob_file = os.fdopen(fd, 'wb')
        self.state = self._expect_block
        if not record.blocks:
            self._blob_complete()

    def _expect_block(self, payload):
        self.blob_file.write(payload)
        self.record.blocks -= 1
        if not self.record.blocks:
            self._blob_complete()

    def _blob_complete(self):
        self.blob_file.close()
        self.blob_file = None
        self.state = self._expect_record

    # Flow control and end.

    def pause(self):
        """From the applier: too much is waiting to be applied."""
        self.paused = True
        self.replicator.loop.call_soon_threadsafe(self._pause)

    def _pause(self):
        if self.paused and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume(self):
        self.paused = False
        if not self.transport.is_closing():
            self.transport.resume_reading()

    def connection_lost(self, exc):
        if self._keep_alive is not None:
            self._keep_alive.cancel()
        if self.blob_file is not None:
            self.blob_file.close()
        if self.transaction is not None:
            self.transaction.discard()  # partial: dropped, fetched again
        if self.replicator.connection is self:
            self.replicator.connection = None
        if not self.replicator.closed and not self.failed:
            logger.warning('lost connection to primary %s%s', self.address,
                           f': {exc}' if exc else '')
        self.lost.set_result(None)
