"""The secondary's applier: turns the primary's byte stream into
committed transactions.

The loop receives bytes; they are decoded (zc.zrs.protocol's
StreamDecoder: whole transactions whose checksum matched) and applied with
``tpc_begin`` / ``restore`` / ``tpc_vote`` / ``tpc_finish``. A little data
arriving while nothing else is waiting (a transaction committed on its
own, the common case once caught up) is processed at once by the loop
that received it: handing it to another thread costs a thread wake-up,
as long as the work itself on a busy machine, and adds its delay to the
secondary's lag. Anything bigger, or arriving while earlier data is still
being processed, goes to the applier's thread, in order: a catch-up keeps
the loop free, and the decoding and the storage writes stay in one thread
instead of fighting over the GIL. Only a storage whose fsyncs group commit
takes over (a plain FileStorage) is written from the loop: the loop never
waits for a disk.

Once what was applied is durable (zc.zrs.groupsync, whose syncing thread
fsyncs while the applier goes on), the newest transaction is acknowledged
to connections that want acknowledgements (zrs2.2): never before, and one
acknowledgement for a batch.

The applier sees a connection only through IAppliedConnection (its start
tid and address, and pausing, resuming, failing and acknowledging it) and
the database only through the ``invalidate`` callable it is given.
"""
import functools
import logging
import queue
import threading

from ZODB.Connection import TransactionMetaData
from ZODB.utils import tid_repr

from zc.zrs import groupsync
from zc.zrs import protocol

logger = logging.getLogger('zc.zrs.secondary')

#: Received bytes waiting for the applier before reading pauses.
MAX_QUEUED_BYTES = 16 << 20
#: Received data up to this size is processed by the loop itself when
#: nothing else is waiting (bounds how long it keeps the loop busy).
AT_ONCE_BYTES = 16 << 10
#: The applier re-checks whether it should stop this often.
POLL_INTERVAL = 1.0


class Applier:
    """Applies what the connections of one Secondary receive to
    ``storage``, then calls ``invalidate(tid, oids)`` (a DB's
    invalidate, say: it must not fail the transaction, which is committed).

    ``feed(connection, data)`` (from the loop) processes or queues
    received bytes, and ``feed(connection, None)`` the end of a
    connection. ``pending`` counts what is fed and not yet processed; a new
    connection starts only once the applier is ``settled`` (nothing
    pending, and on disk), from the storage's last transaction.
    """

    def __init__(self, storage, invalidate, check_checksums, blobs):
        self.storage = storage
        self.invalidate = invalidate
        self.check_checksums = check_checksums
        self.blobs = blobs
        self.closed = False
        self.queue = queue.Queue()
        self._lock = threading.Lock()
        self.pending = 0
        self._pending_bytes = 0
        self._syncing = 0  # syncs asked for and not done
        self._streams = {}
        self._unacknowledged = {}  # connection -> newest tid applied
        self._sync = None  # groupsync.GroupSync, once started
        self._thread = threading.Thread(
            target=self._run, daemon=True,
            name=f'zc.zrs applier {storage.getName()}')

    def start(self):
        self._sync = groupsync.GroupSync(self.storage)
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
            # Nothing pending: the thread is idle and stays so until this
            # is processed (it only takes what is queued), so processing
            # it here keeps the order and never overlaps with the thread.
            at_once = (not self.pending and not self.closed
                       and size <= AT_ONCE_BYTES and self._sync.deferring)
            self.pending += 1
            self._pending_bytes += size
            full = self._pending_bytes >= MAX_QUEUED_BYTES
        if at_once:
            self._handle(connection, data, more_waiting=False)
            return
        self.queue.put((connection, data))
        if full:
            connection.pause()

    # In the applier thread (or the loop, for data processed at once).

    def _run(self):
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
                self._handle(connection, data,
                             more_waiting=not self.queue.empty())
            # What is left was received but will be fetched again.
            for stream in self._streams.values():
                stream.discard()
        finally:
            self._sync.close()

    def _handle(self, connection, data, more_waiting):
        try:
            self._process(connection, data)
        finally:
            if self._sync.applied(more_waiting=more_waiting):
                self._make_durable()
            self._processed(connection, data)

    def _make_durable(self):
        """Have everything applied made durable, and then acknowledged."""
        unacknowledged, self._unacknowledged = self._unacknowledged, {}
        with self._lock:
            self._syncing += 1
        self._sync.sync(functools.partial(self._synced, unacknowledged))

    def _synced(self, unacknowledged):
        """From the syncing thread: what was applied is durable; say
        so."""
        for connection, tid in unacknowledged.items():
            if connection.acknowledges and not connection.failed:
                connection.acknowledge(tid)
        with self._lock:
            self._syncing -= 1

    @property
    def settled(self):
        """Whether everything received is processed and on disk (a new
        connection starts from the storage's last transaction)."""
        with self._lock:
            return not (self.pending or self._syncing)

    def _processed(self, connection, data):
        with self._lock:
            self.pending -= 1
            self._pending_bytes -= len(data) if data else 0
            roomy = self._pending_bytes <= MAX_QUEUED_BYTES // 2
        if roomy and connection.paused:
            connection.resume()

    def _process(self, connection, data):
        stream = self._streams.get(connection)
        if data is None:  # the connection ended: drop a partial transaction
            if stream is not None:
                stream.discard()
                del self._streams[connection]
            self._unacknowledged.pop(connection, None)
            return
        if self.closed or connection.failed:
            return
        if stream is None:
            stream = self._streams[connection] = protocol.StreamDecoder(
                connection.start_tid, check_checksums=self.check_checksums,
                blob_directory=(self.storage.temporaryDirectory()
                                if self.blobs else None))
        try:
            for transaction in stream.feed(data):
                self._apply(transaction)
                self._unacknowledged[connection] = transaction.tid
        except protocol.InputError as exc:
            self._fail(connection, stream, 'Input data error from primary '
                       f'{connection.address}: {exc}', exc_info=False)
        except Exception:
            self._fail(connection, stream, 'Failed to apply replicated '
                       f'transaction from {connection.address}',
                       exc_info=True)

    def _fail(self, connection, stream, message, exc_info):
        logger.critical(message, exc_info=exc_info)
        connection.fail()
        stream.discard()

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
        try:
            self.invalidate(transaction.tid, list(dict.fromkeys(
                record.oid for record in transaction.records)))
        except Exception:  # committed all the same
            logger.exception('invalidating after %s',
                             tid_repr(transaction.tid))
