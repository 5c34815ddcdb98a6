"""The primary: a storage wrapper that streams every committed transaction
to the secondaries connected to its replication address."""
import asyncio
import logging
import os
import threading
import time

import ZODB.blob
import ZODB.FileStorage
from ZODB.POSException import POSKeyError
from ZODB.TimeStamp import TimeStamp
from ZODB.utils import tid_repr
from ZODB.utils import z64

from zc.zrs import filescan
from zc.zrs import loop as zrsloop
from zc.zrs import protocol
from zc.zrs.wrapper import StorageWrapper
from zc.zrs.wrapper import open_storage
from zc.zrs.wrapper import parse_address

logger = logging.getLogger(__name__)

#: How long close() lets connected secondaries catch up.
CLOSE_TIMEOUT = 60
#: Bytes gathered before they are handed to the network.
BATCH_SIZE = 1 << 18
#: The socket buffer the producer lets fill before it waits.
WRITE_HIGH_WATER = 1 << 20
#: Producers re-check their state at least this often, whatever happens.
POLL_INTERVAL = 1.0


def _filestorage(storage):
    """The FileStorage under ``storage`` (itself, or under a BlobStorage)."""
    if isinstance(storage, ZODB.FileStorage.FileStorage):
        return storage
    if isinstance(storage, ZODB.blob.BlobStorage):
        base = storage._BlobStorage__storage
        if isinstance(base, ZODB.FileStorage.FileStorage):
            return base
    raise ValueError('Invalid storage')


def _seconds(tid):
    return TimeStamp(tid).timeTime()


class Primary(StorageWrapper):
    """Wraps a FileStorage (or a BlobStorage over one) and serves its
    transactions, as they commit, on ``addr``: ``(host, port)`` (port 0
    picks a free one; see ``address``) or a unix socket path. ``ssl`` is a
    server-side ``ssl.SSLContext``; make it require client certificates for
    mutual authentication (see zc.zrs.tls)."""

    def __init__(self, storage, addr, reactor=None, ssl=None):
        if reactor is not None:
            raise TypeError('zc.zrs runs its own asyncio loop; the reactor '
                            'argument is no longer supported')
        storage = open_storage(storage)
        self._filestorage = _filestorage(storage)
        super().__init__(storage)
        self._blobs = ZODB.interfaces.IBlobStorage.providedBy(storage)
        self._producers = set()
        self._producers_lock = threading.Lock()
        self._final_end = None
        self._closed = False
        self._ssl = ssl
        self._server = zrsloop.call(self._listen, parse_address(addr))
        self.address = self._server.sockets[0].getsockname()
        if not isinstance(self.address, str):
            self.address = self.address[:2]
        logger.info('Primary %s replicating on %s',
                    self._filestorage.getName(), self.address)

    async def _listen(self, addr):
        loop = asyncio.get_running_loop()
        factory = lambda: _SecondaryConnection(self)  # noqa: E731
        if isinstance(addr, str):
            return await loop.create_unix_server(factory, addr, ssl=self._ssl)
        return await loop.create_server(factory, addr[0], addr[1],
                                        ssl=self._ssl, reuse_address=True)

    # The storage API: commits wake the producers.

    def tpc_finish(self, *args, **kw):
        tid = self._storage.tpc_finish(*args, **kw)
        self._wake()
        return tid

    def pack(self, *args, **kw):
        result = self._storage.pack(*args, **kw)
        self._wake()  # producers notice the new file and move to it
        return result

    def _wake(self):
        with self._producers_lock:
            producers = list(self._producers)
        for producer in producers:
            producer.wake.set()

    def _committed_end(self):
        """``(end, inode)``: how far the data file holds durable
        transactions, and which file that is. FileStorage moves its end
        only after a transaction is flushed and fsynced, and swaps files on
        pack while holding the same lock."""
        if self._final_end is not None:
            return self._final_end
        fs = self._filestorage
        with fs._lock:
            return fs._pos, os.fstat(fs._file.fileno()).st_ino

    def _data_file_name(self):
        return self._filestorage._file_name

    # Secondaries.

    def _add_producer(self, producer):
        with self._producers_lock:
            if self._closed:
                return False
            self._producers.add(producer)
            return True

    def _remove_producer(self, producer):
        with self._producers_lock:
            self._producers.discard(producer)

    def replication_status(self):
        """Plain data about each connected secondary, for monitoring: a list
        of dicts with ``address``, ``protocol``, ``connected`` (time),
        ``last_tid`` (hex of the last transaction sent to it, or None),
        ``lag`` (seconds between the primary's last transaction and that
        one; 0.0 when it has everything) and ``bytes_behind``."""
        last = self._storage.lastTransaction()
        with self._producers_lock:
            producers = sorted(self._producers, key=lambda p: p.connected)
        return [producer.status(last) for producer in producers]

    def close(self):
        """Stop listening, close the storage, let connected secondaries
        catch up (at most CLOSE_TIMEOUT seconds), then disconnect them."""
        if self._closed:
            return
        server = self._server
        try:
            zrsloop.call(self._stop_listening, server)
        except Exception:
            logger.exception('stopping the replication server')
        self._final_end = self._committed_end()
        with self._producers_lock:
            self._closed = True
            producers = list(self._producers)
        self._storage.close()
        for producer in producers:
            producer.finish()
        deadline = time.monotonic() + CLOSE_TIMEOUT
        for producer in producers:
            producer.join(max(0, deadline - time.monotonic()))
            if producer.is_alive():
                logger.warning('secondary %s did not catch up before close',
                               producer.peer)
                producer.stop()

    async def _stop_listening(self, server):
        server.close()
        await asyncio.wait_for(server.wait_closed(), zrsloop.CALL_TIMEOUT)


class _SecondaryConnection(asyncio.Protocol):
    """The primary's end of one secondary's connection, on the loop.

    Reads the handshake, then only keep-alives; hands the sending to a
    producer thread."""

    def __init__(self, primary):
        self.primary = primary
        self.transport = None
        self.peer = '?'
        self.reader = protocol.FrameReader(protocol.MAX_SECONDARY_MESSAGE)
        self.protocol_id = None
        self.producer = None
        # Set while the transport can take more data (flow control).
        self.writable = threading.Event()
        self.writable.set()

    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(WRITE_HIGH_WATER)
        peer = transport.get_extra_info('peername')
        self.peer = (f'{peer[0]}:{peer[1]}' if isinstance(peer, tuple)
                     else str(peer or 'unix socket'))
        logger.info('secondary %s connected', self.peer)

    def data_received(self, data):
        try:
            for message in self.reader.feed(data):
                self._message(message)
        except protocol.InputError as exc:
            logger.error('secondary %s: %s; closing the connection',
                         self.peer, exc)
            self.transport.abort()

    def _message(self, message):
        if self.protocol_id is None:
            if message not in protocol.PROTOCOLS:
                raise protocol.InputError(
                    f'unknown protocol {message[:20]!r}')
            if self.primary._blobs and message != protocol.BLOB_PROTOCOL:
                raise protocol.InputError(
                    f'{message.decode()} cannot replicate blobs')
            self.protocol_id = message
        elif self.producer is None:
            if len(message) != 8:
                raise protocol.InputError(f'bad start tid {message!r}')
            last = self.primary._storage.lastTransaction()
            if message > last:
                raise protocol.InputError(
                    f'TidTooHigh: secondary starts at {tid_repr(message)}, '
                    f'beyond the last transaction {tid_repr(last)}')
            self._start(message)
        elif message:
            raise protocol.InputError('unexpected data after the handshake')

    def _start(self, start_tid):
        producer = _Producer(self.primary, self, start_tid)
        if not self.primary._add_producer(producer):
            self.transport.close()  # the primary is closing
            return
        self.producer = producer
        logger.info('secondary %s (%s) starts after %s', self.peer,
                    self.protocol_id.decode(), tid_repr(start_tid))
        producer.start()

    def pause_writing(self):
        self.writable.clear()

    def resume_writing(self):
        self.writable.set()

    def write(self, data):
        """On the loop: send what the producer gathered."""
        if self.transport.is_closing():
            return
        self.transport.write(data)
        if self.transport.get_write_buffer_size() < WRITE_HIGH_WATER:
            self.writable.set()

    def close(self):
        if not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc):
        self.writable.set()
        if self.producer is not None:
            self.producer.stop()
            self.primary._remove_producer(self.producer)
        logger.info('secondary %s disconnected', self.peer)


class _Stopped(Exception):
    """The connection went away while the producer was sending."""


class _Producer(threading.Thread):
    """Streams committed transactions after ``start_tid`` to one secondary:
    reads the data file up to its durable end, follows new commits (woken
    by tpc_finish), and moves to the new file after a pack."""

    def __init__(self, primary, connection, start_tid):
        super().__init__(name=f'zc.zrs producer {connection.peer}',
                         daemon=True)
        self.primary = primary
        self.connection = connection
        self.peer = connection.peer
        self.protocol_id = connection.protocol_id.decode()
        self.loop = zrsloop.get_loop()
        self.wake = threading.Event()
        self.connected = time.time()
        self.last_tid = start_tid  # the last one handed to the network
        self._sent_tid = start_tid  # the last one gathered in the batch
        self.bytes_behind = 0
        self._checksum = protocol.Checksum(start_tid)
        self._batch = bytearray()
        self._stopped = False
        self._finishing = False

    def status(self, primary_last):
        last = self.last_tid
        lag = (max(0.0, _seconds(primary_last) - _seconds(last))
               if last != z64 else None)
        return dict(address=self.peer, protocol=self.protocol_id,
                    connected=self.connected,
                    last_tid=last.hex() if last != z64 else None,
                    lag=lag, bytes_behind=self.bytes_behind)

    def stop(self):
        self._stopped = True
        self.wake.set()

    def finish(self):
        """Send what is committed, then close the connection."""
        self._finishing = True
        self.wake.set()

    def run(self):
        data_file = None
        try:
            pos = None
            while not self._stopped:
                self.wake.clear()
                end, inode = self.primary._committed_end()
                if data_file is None or data_file.inode != inode:
                    if data_file is not None:
                        data_file.close()
                    data_file = filescan.DataFile(
                        self.primary._data_file_name())
                    if data_file.inode != inode:
                        continue  # packed again meanwhile
                    data_file.limit = end
                    pos = data_file.position_after(self.last_tid, end)
                data_file.limit = end
                self.bytes_behind = end - pos
                if pos < end:
                    pos = self._send_until(data_file, pos, end)
                    continue
                if self._finishing:
                    break
                self.wake.wait(POLL_INTERVAL)
        except _Stopped:
            pass
        except Exception:
            if not self._stopped:
                logger.exception('replicating to secondary %s', self.peer)
        finally:
            if data_file is not None:
                data_file.close()
            self.loop.call_soon_threadsafe(self.connection.close)
            self.primary._remove_producer(self)

    def _send_until(self, data_file, pos, end):
        while pos < end and not self._stopped:
            txn = data_file.transaction_at(pos)
            self._send_transaction(data_file, txn)
            pos = data_file.next_position(txn)
            self.bytes_behind = end - pos
            if len(self._batch) >= BATCH_SIZE:
                self._flush()
        self._flush()
        return pos

    def _send_transaction(self, data_file, txn):
        add = self._add
        add(protocol.dumps(('T', (txn.tid, txn.status, txn.user,
                                  txn.description, txn.extension))))
        for record in data_file.records(txn):
            blob = self._blob_file(record)
            if blob is None:
                add(protocol.dumps(
                    ('S', (record.oid, record.tid, '', record.data_txn))))
                add(record.data or b'')
            else:
                self._add_blob(record, blob)
        add(protocol.dumps(('C', (self._checksum.digest(),))))
        self._sent_tid = txn.tid

    def _blob_file(self, record):
        if not (self.primary._blobs and record.data
                and ZODB.blob.is_blob_record(record.data)):
            return None
        try:
            return self.primary._storage.loadBlob(record.oid, record.tid)
        except POSKeyError:
            return None

    def _add_blob(self, record, path):
        with open(path, 'rb') as blob:
            size = os.fstat(blob.fileno()).st_size
            blocks = -(-size // protocol.BLOB_BLOCK_SIZE)
            self._add(protocol.dumps(('B', (record.oid, record.tid, '',
                                            record.data_txn, blocks))))
            self._add(record.data)
            for _ in range(blocks):
                block = blob.read(protocol.BLOB_BLOCK_SIZE)
                if not block:
                    raise filescan.CorruptedFile(f'blob {path} shrank')
                self._add(block)
                if len(self._batch) >= BATCH_SIZE:
                    self._flush()

    def _add(self, payload):
        self._checksum.update(payload)
        self._batch += protocol.frame(payload)

    def _flush(self):
        if not self._batch:
            return
        data = bytes(self._batch)
        self._batch.clear()
        writable = self.connection.writable
        while not writable.wait(POLL_INTERVAL):
            if self._stopped:
                raise _Stopped()
        if self._stopped:
            raise _Stopped()
        writable.clear()
        self.loop.call_soon_threadsafe(self.connection.write, data)
        self.last_tid = self._sent_tid
