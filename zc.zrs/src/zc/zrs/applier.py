"""The secondary's applier: one thread that turns the primary's byte
stream into committed transactions.

The loop only receives bytes and queues them; this thread decodes them
(zc.zrs.protocol's StreamDecoder: whole transactions whose checksum
matched) and applies each one with ``tpc_begin`` / ``restore`` /
``tpc_vote`` / ``tpc_finish``. Keeping the decoding and the storage writes
in one thread keeps the two from fighting over the GIL.

Once what it applied is durable (zc.zrs.groupsync), it acknowledges the
newest transaction to connections that want acknowledgements (zrs2.2):
never before, and one acknowledgement for a batch.

The applier sees a connection only through IAppliedConnection (its start
tid and address, and pausing, resuming, failing and acknowledging it) and
the database only through the ``invalidate`` callable it is given.
"""
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
#: The applier re-checks whether it should stop this often.
POLL_INTERVAL = 1.0


class Applier:
    """Applies what the connections of one Secondary receive to
    ``storage``, then calls ``invalidate(tid, oids)`` (a DB's
    invalidate, say: it must not fail the transaction, which is committed).

    ``feed(connection, data)`` (from the loop) queues received bytes, and
    ``feed(connection, None)`` the end of a connection. ``pending`` counts
    what is queued and not yet processed (and made durable): a new
    connection starts only once it is 0, from the storage's last
    transaction, which it then has on disk.
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
        self._streams = {}
        self._unacknowledged = {}  # connection -> newest tid applied
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
                    if sync.applied(more_waiting=not self.queue.empty()):
                        self._acknowledge()
                    self._processed(connection, data)
            # What is left was received but will be fetched again.
            for stream in self._streams.values():
                stream.discard()
        finally:
            sync.close()

    def _acknowledge(self):
        """Everything applied is durable: say so."""
        unacknowledged, self._unacknowledged = self._unacknowledged, {}
        for connection, tid in unacknowledged.items():
            if connection.acknowledges and not connection.failed:
                connection.acknowledge(tid)

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
