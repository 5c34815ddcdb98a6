"""The secondary's applier: one thread that turns the primary's byte
stream into committed transactions.

The loop only receives bytes and queues them; this thread splits them into
messages, checks the running checksum, gathers whole transactions (blob
files go straight to temporary files, never into memory) and applies each
one, once its checksum message has arrived and matched, with ``tpc_begin``
/ ``restore`` / ``tpc_vote`` / ``tpc_finish``. Keeping the parsing and the
storage writes in one thread keeps the two from fighting over the GIL.
"""
import logging
import os
import queue
import tempfile
import threading

from ZODB.Connection import TransactionMetaData
from ZODB.utils import tid_repr

from zc.zrs import groupsync
from zc.zrs import loop as zrsloop
from zc.zrs import protocol

logger = logging.getLogger('zc.zrs.secondary')

#: Received bytes waiting for the applier before reading pauses.
MAX_QUEUED_BYTES = 16 << 20
#: The applier re-checks whether it should stop this often.
POLL_INTERVAL = 1.0


class Applier:
    """Applies what the connections of one Secondary receive.

    ``feed(connection, data)`` (from the loop) queues received bytes, and
    ``feed(connection, None)`` the end of a connection. ``pending`` counts
    what is queued and not yet processed: a new connection starts only once
    it is 0, from the storage's last transaction.
    """

    def __init__(self, secondary, storage, loop, check_checksums, blobs):
        self.secondary = secondary
        self.storage = storage
        self.loop = loop
        self.check_checksums = check_checksums
        self.blobs = blobs
        self.closed = False
        self.queue = queue.Queue()
        self._lock = threading.Lock()
        self.pending = 0
        self._pending_bytes = 0
        self._streams = {}
        self._thread = threading.Thread(
            target=self._run, daemon=True,
            name=f'zc.zrs applier {storage.getName()}')

    def start(self):
        self._thread.start()

    def close(self, timeout):
        """Stop after the transaction being applied (what is still queued
        will be fetched again)."""
        self.closed = True
        self.queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # From the loop.

    def feed(self, connection, data):
        size = len(data) if data else 0
        with self._lock:
            self.pending += 1
            self._pending_bytes += size
            full = self._pending_bytes >= MAX_QUEUED_BYTES
        self.queue.put((connection, data))
        if full:
            connection.pause()

    # In the applier thread.

    def _run(self):
        sync = groupsync.GroupSync(self.storage)
        try:
            while True:
                try:
                    item = self.queue.get(timeout=POLL_INTERVAL)
                except queue.Empty:
                    if self.closed:
                        break
                    continue
                if item is None:
                    break
                connection, data = item
                try:
                    self._process(connection, data)
                finally:
                    self._processed(connection, data)
                sync.applied(more_waiting=not self.queue.empty())
            # What is left was received but will be fetched again.
            for stream in self._streams.values():
                stream.discard()
        finally:
            sync.close()

    def _processed(self, connection, data):
        with self._lock:
            self.pending -= 1
            self._pending_bytes -= len(data) if data else 0
            roomy = self._pending_bytes <= MAX_QUEUED_BYTES // 2
        if roomy and connection.paused:
            zrsloop.soon(self.loop, connection.resume)

    def _process(self, connection, data):
        stream = self._streams.get(connection)
        if data is None:  # the connection ended: drop a partial transaction
            if stream is not None:
                stream.discard()
                del self._streams[connection]
            return
        if self.closed or connection.failed:
            return
        if stream is None:
            stream = self._streams[connection] = _Stream(
                self, connection.start_tid)
        try:
            for transaction in stream.feed(data):
                self._apply(transaction)
        except protocol.InputError as exc:
            self._fail(connection, stream, 'Input data error from primary '
                       f'{connection.address}: {exc}', exc_info=False)
        except Exception:
            self._fail(connection, stream, 'Failed to apply replicated '
                       f'transaction from {connection.address}',
                       exc_info=True)

    def _fail(self, connection, stream, message, exc_info):
        logger.critical(message, exc_info=exc_info)
        connection.failed = True
        stream.discard()
        zrsloop.soon(self.loop, connection.transport.abort)

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


class _Record:
    __slots__ = ('oid', 'tid', 'data', 'data_txn', 'blob', 'blocks')


class _Transaction:
    """A transaction as received."""

    def __init__(self, header):
        (self.tid, self.status, self.user, self.description,
         self.extension) = header
        self.records = []

    def discard(self):
        """Remove the temporary blob files nobody will restore."""
        for record in self.records:
            if record.blob is not None and os.path.exists(record.blob):
                os.remove(record.blob)


class _Stream:
    """The state machine over one connection's messages."""

    def __init__(self, applier, start_tid):
        self.applier = applier
        self.last_tid = start_tid
        self.checksum = protocol.Checksum(start_tid)
        self.reader = protocol.FrameReader()
        self.decoder = protocol.Decoder()
        self.transaction = None
        self.record = None
        self.blob_file = None
        self.state = self._expect_transaction
        self._complete = []

    def feed(self, data):
        """The transactions completed (and verified) by ``data``."""
        complete = self._complete = []
        for payload in self.reader.feed(data):
            self.state(payload)
            self.checksum.update(payload)
        return complete

    def discard(self):
        if self.blob_file is not None:
            self.blob_file.close()
            self.blob_file = None
        if self.transaction is not None:
            self.transaction.discard()
            self.transaction = None
        for transaction in self._complete:
            transaction.discard()
        self._complete = []

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
        self.transaction = _Transaction(header)
        self.state = self._expect_record

    def _expect_record(self, payload):
        kind, args = self.decoder.loads(payload)
        transaction = self.transaction
        if kind == 'C':
            digest, = args
            if (self.applier.check_checksums
                    and digest != self.checksum.digest()):
                raise protocol.InputError('checksum mismatch')
            self.transaction = None
            self.last_tid = transaction.tid
            self.state = self._expect_transaction
            self._complete.append(transaction)
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
            if not self.applier.blobs:
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
        if record.blocks is None:
            self.state = self._expect_record
            return
        # A blob record: its file arrives in blocks, into a temporary file
        # in the storage's own temporary directory (restoreBlob moves it).
        fd, record.blob = tempfile.mkstemp(
            suffix='.zrs', dir=self.applier.storage.temporaryDirectory())
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
