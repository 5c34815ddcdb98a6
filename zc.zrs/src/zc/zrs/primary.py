"""The primary: a storage wrapper that streams every committed transaction
to the secondaries connected to its replication address.

A committing thread sends its transaction itself: it notes how far the
data file is durable, reads what is new from the file, encodes it and
hands it to each caught-up secondary's socket (zc.zrs.loop.SocketWriter),
with no hand-off to the zc.zrs loop on the way. The loop does the rest:
reading the secondaries' acknowledgements, a new secondary's catch-up
(a slice at a time), and whatever a socket could not take at once.
Batching comes from the socket: while a secondary's socket is full the
loop owns the connection, and its next send carries every transaction
committed meanwhile. No commit waits for a timer. (Over TLS, whose bytes
only the transport can write, a commit nudges the loop instead.)

With synchronous commit (``synchronous`` N > 0), ``tpc_finish`` returns
(and calls its callback: ZEO's invalidations to other clients) only once
N zrs2.2 secondaries acknowledged the transaction as durable
(zc.zrs.synchronous). The
``epoch`` goes to zrs2.2 secondaries first: a secondary that knows a
newer one refuses this primary, and the primary fences itself.
"""
import asyncio
import errno
import logging
import os
import threading
import time

import ZODB.blob
import ZODB.interfaces
import zope.interface
from ZODB.POSException import POSKeyError
from ZODB.TimeStamp import TimeStamp
from ZODB.utils import tid_repr
from ZODB.utils import z64

from zc.zrs import filescan
from zc.zrs import fsinternals
from zc.zrs import loop as zrsloop
from zc.zrs import protocol
from zc.zrs import synchronous as zrssync
from zc.zrs.interfaces import IReplicationStatus
from zc.zrs.wrapper import StorageWrapper
from zc.zrs.wrapper import open_storage
from zc.zrs.wrapper import parse_address

logger = logging.getLogger(__name__)

#: How long close() lets connected secondaries catch up.
CLOSE_TIMEOUT = 60
#: How long close() waits for a secondary that takes nothing from its
#: socket (it is stuck, or shutting down itself): it is disconnected
#: then, and gets the rest from whichever primary it finds next.
STALL_TIMEOUT = 5
#: How often close() looks whether the secondaries it waits for progress.
PROGRESS_INTERVAL = 0.5
#: Bytes gathered before they are handed to the socket (and the loop
#: attends to other connections).
SLICE_SIZE = 1 << 18
#: The transport buffer a TLS connection lets fill before it pauses.
WRITE_HIGH_WATER = 1 << 20


def _seconds(tid):
    return TimeStamp(tid).timeTime()


@zope.interface.implementer(IReplicationStatus)
class Primary(StorageWrapper):
    """Wraps a FileStorage (or a BlobStorage over one) and serves its
    transactions, as they commit, on ``addr``: ``(host, port)`` (port 0
    picks a free one; see ``address``) or a unix socket path. ``ssl`` is a
    server-side ``ssl.SSLContext``; make it require client certificates
    (``verify_mode = ssl.CERT_REQUIRED``) for mutual authentication.

    With ``zookeeper`` (a connection string, or a ``zc.zk.ZooKeeper``; extra
    ``zk``), the address actually bound is registered under
    ``zookeeper_path`` for as long as the primary is open, where
    secondaries find it (see zc.zrs.zk).

    With ``synchronous`` N > 0, ``tpc_finish`` returns only once N zrs2.2
    secondaries have the transaction on disk; if they do not within
    ``synchronous_timeout`` seconds, ``synchronous_fallback`` ``'fail'``
    raises NotAcknowledged (and commits are refused until N are in sync
    again), ``'async'`` goes on asynchronously until they are.
    ``epoch`` is this primary's fencing token (see zc.zrs.protocol)."""

    def __init__(self, storage, addr, reactor=None, ssl=None,
                 zookeeper=None, zookeeper_path=None,
                 zookeeper_session_timeout=None, synchronous=0,
                 synchronous_timeout=5.0, synchronous_fallback='fail',
                 epoch=0):
        if reactor is not None:
            raise TypeError('zc.zrs runs its own asyncio loop; the reactor '
                            'argument is no longer supported')
        protocol.check_epoch(epoch)
        zrssync.check_settings(synchronous, synchronous_timeout,
                               synchronous_fallback)
        storage = open_storage(storage)
        self._filestorage = fsinternals.filestorage(storage)
        acknowledgements = zrssync.Acknowledgements(
            synchronous, synchronous_timeout, synchronous_fallback,
            storage.lastTransaction(), self._announce)
        super().__init__(storage)
        self._db = None
        self._ssl = ssl
        self._server = ReplicationServer(storage, self._filestorage,
                                         acknowledgements, epoch)
        self._acknowledgements = acknowledgements
        self.address = self._server.listen(parse_address(addr), ssl)
        logger.info('Primary %s replicating on %s',
                    self._filestorage.getName(), self.address)
        self._registration = None
        if zookeeper is not None:
            try:
                self._registration = self._register(
                    zookeeper, zookeeper_path, zookeeper_session_timeout)
            except BaseException:
                self.close()
                raise

    def _register(self, zookeeper, path, session_timeout):
        if not path:
            raise ValueError('zookeeper_path is needed with zookeeper')
        from zc.zrs.zk import Registration
        return Registration(
            zookeeper, path, self.address, session_timeout,
            storage=self._filestorage.getName(), ssl=self._ssl is not None,
            protocols=[p.decode() for p in protocol.PROTOCOLS
                       if p in protocol.BLOB_PROTOCOLS
                       or not self._server.blobs])

    # Synchronous commit and fencing.

    @property
    def synchronous(self):
        """How many secondaries must acknowledge a commit (0: none)."""
        return self._acknowledgements.required

    @property
    def synchronous_timeout(self):
        return self._acknowledgements.timeout

    @property
    def synchronous_fallback(self):
        return self._acknowledgements.fallback

    @property
    def epoch(self):
        """The fencing token sent to zrs2.2 secondaries."""
        return self._server.epoch

    @epoch.setter
    def epoch(self, epoch):
        protocol.check_epoch(epoch)
        self._server.epoch = epoch

    @property
    def fenced(self):
        """Why the primary is fenced, or None."""
        return self._acknowledgements.fenced

    def fence(self, reason):
        """Accept no more commits: ``tpc_begin`` raises Fenced, and a
        commit waiting for acknowledgements raises NotAcknowledged (this
        primary may no longer be the primary)."""
        self._acknowledgements.fence(reason)

    def drain(self, reason, timeout):
        """Accept no more commits (``tpc_begin`` raises Fenced), let those
        already begun finish or fail as usual, and return whether they all
        ended within ``timeout`` seconds: the last transaction is then
        final (a planned switchover). ``unfence()`` reverses it."""
        return self._acknowledgements.drain(reason, timeout)

    def unfence(self):
        """Accept commits again."""
        self._acknowledgements.unfence()

    def acknowledged(self, count=None):
        """The newest tid durable on ``count`` zrs2.2 secondaries (default:
        ``synchronous``, or all connected ones if that is 0); None if fewer
        are connected."""
        return self._acknowledgements.acknowledged(count)

    def wait_acknowledged(self, tid, timeout, count=None):
        """Whether ``tid`` is acknowledged (see ``acknowledged``) within
        ``timeout`` seconds."""
        return self._acknowledgements.wait(tid, timeout, count)

    def registerDB(self, db):  # noqa: N802 (the storage API's name)
        """Remember ``db`` (a ZODB DB, or a ZEO server's) to announce late
        acknowledgements to (see _announce)."""
        self._db = db
        register = getattr(self._storage, 'registerDB', None)
        if register is not None:
            register(db)

    def _announce(self):
        """A transaction whose commit failed with NotAcknowledged (so its
        invalidations never went out) is acknowledged after all: the
        clients' caches may hold what it changed. Have them drop their
        caches (ZEO clients reconnect and verify)."""
        db = self._db
        logger.warning('a transaction that was not acknowledged in time is '
                       'now: clients drop their caches')
        if db is not None:
            db.invalidateCache()

    # The storage API: commits (and packs) move the durable end.

    def tpc_begin(self, transaction, *args, **kw):
        self._acknowledgements.begin(transaction)
        try:
            return self._storage.tpc_begin(transaction, *args, **kw)
        except BaseException:
            self._acknowledgements.ended(transaction)
            raise

    def tpc_abort(self, transaction):
        try:
            return self._storage.tpc_abort(transaction)
        finally:
            self._acknowledgements.ended(transaction)

    def tpc_finish(self, transaction, f=None):
        """Commit, then with synchronous commit wait for the
        acknowledgements before calling ``f(tid)`` (ZEO's invalidations):
        clients never see a tid that a new primary may lack."""
        try:
            return self._finish(transaction, f)
        finally:
            self._acknowledgements.ended(transaction)

    def _finish(self, transaction, f):
        if not self._acknowledgements.required:
            tid = self._storage.tpc_finish(transaction, f)
            self._server.committed()
            return tid
        tid = self._storage.tpc_finish(transaction)
        self._server.committed()
        self._acknowledgements.finish(tid)
        if f is not None:
            f(tid)
        return tid

    def pack(self, *args, **kw):
        try:
            return self._storage.pack(*args, **kw)
        finally:
            self._server.committed()  # a new file, maybe

    def replication_status(self):
        """Plain data about each connected secondary, for monitoring: a list
        of dicts with ``address``, ``protocol``, ``connected`` (time),
        ``last_tid`` (hex of the last transaction sent to it, or None),
        ``lag`` (seconds between the primary's last transaction and that
        one; 0.0 when it has everything), ``bytes_behind``, and
        ``acknowledged`` (hex of the newest transaction it acknowledged as
        durable; None before zrs2.2). The primary's own ``epoch`` and
        ``synchronous`` are attributes."""
        return self._server.status()

    def close(self, close_storage=True):
        """Stop listening, close the storage (unless ``close_storage`` is
        false: it goes on, say as a secondary's), let connected secondaries
        receive what was committed (at most CLOSE_TIMEOUT seconds), then
        disconnect them."""
        server = self._server
        if server.closed:
            return
        if self._registration is not None:
            self._registration.close()  # secondaries stop coming here first
        server.stop_listening()
        server.close()
        self._acknowledgements.close()
        if close_storage:
            self._storage.close()
        server.finish_connections()


class ReplicationServer:
    """What a Primary's connections share, on the zc.zrs loop: the storage,
    how far its file is durable (``end``), the connections, the
    acknowledgements and epoch.

    Committing threads note the new end and have every connection send
    what is new (``committed``): caught-up ones from the committing thread
    itself, those over TLS through a nudge to the loop.
    """

    def __init__(self, storage, filestorage, acknowledgements, epoch):
        self.storage = storage
        self._filestorage = filestorage
        self.acknowledgements = acknowledgements
        self.epoch = epoch
        self.blobs = ZODB.interfaces.IBlobStorage.providedBy(storage)
        self.loop = zrsloop.get_loop()
        self.connections = set()  # streaming ones; changed on the loop
        self.handshaking = set()  # the others; used on the loop only
        self.closed = False
        #: ``(end, file)``: see fsinternals.durable_end.
        self.end = fsinternals.durable_end(filestorage)
        self._wake_pending = False  # a nudge is on its way to the loop
        self._listener = None

    @property
    def data_file_name(self):
        return fsinternals.data_file_name(self._filestorage)

    def listen(self, addr, ssl):
        """Start serving; the address bound."""
        self._listener = zrsloop.call(self._listen, addr, ssl)
        address = self._listener.sockets[0].getsockname()
        return address if isinstance(address, str) else address[:2]

    async def _listen(self, addr, ssl):
        loop = asyncio.get_running_loop()
        factory = lambda: _SecondaryConnection(self)  # noqa: E731
        if isinstance(addr, str):
            return await loop.create_unix_server(factory, addr, ssl=ssl)
        try:
            return await loop.create_server(factory, addr[0], addr[1],
                                            ssl=ssl, reuse_address=True)
        except OSError as exc:
            if exc.errno is not None:
                raise
            # Python 3.13 leaves out the errno when no address of the host
            # is this machine's (EADDRNOTAVAIL); 3.11 and 3.12 keep it.
            raise OSError(errno.EADDRNOTAVAIL,
                          f'{os.strerror(errno.EADDRNOTAVAIL)}: {exc}') \
                from None

    def committed(self):
        """From a committing thread: the durable end may have moved."""
        # The end is updated before the flag is read, and the loop clears
        # the flag before it reads the end: no commit goes unnoticed.
        if self.closed:
            return
        self.end = fsinternals.durable_end(self._filestorage)
        nudge = False
        for connection in list(self.connections):
            if connection.direct:
                connection.push()
            else:
                nudge = True
        if nudge and not self._wake_pending:
            self._wake_pending = True
            zrsloop.soon(self.loop, self._produce)

    def _produce(self):
        """On the loop: every connection the committing threads do not
        send to sends what is new."""
        self._wake_pending = False
        for connection in list(self.connections):
            if not connection.direct:
                connection.run()

    def status(self):
        """A status dict per streaming connection (see
        Primary.replication_status)."""
        last = self.storage.lastTransaction()
        while True:  # the loop may change the set meanwhile
            try:
                connections = sorted(self.connections,
                                     key=lambda c: c.connected)
                break
            except RuntimeError:
                continue
        return [connection.status(last) for connection in connections]

    def stale(self, connection, epoch):
        """On the loop: ``connection``'s secondary knows a newer epoch than
        ours: another primary was elected since; stop committing."""
        logger.error('secondary %s knows epoch %s, newer than this '
                     "primary's %s: closing its connection and fencing",
                     connection.peer, epoch, self.epoch)
        self.acknowledgements.fence(
            f'secondary {connection.peer} knows epoch {epoch}, newer than '
            f'{self.epoch}')

    def stop_listening(self):
        try:
            zrsloop.call(self._close_listener)
        except Exception:
            logger.exception('stopping the replication server')

    def _close_listener(self):
        # Closes the listening sockets at once (wait_closed would wait for
        # the connections too, which close() lets finish first).
        self._listener.close()

    def close(self):
        """The storage is about to close: its last end is final."""
        self.end = fsinternals.durable_end(self._filestorage)
        self.closed = True

    def finish_connections(self):
        """Let connected secondaries receive what was committed (at most
        CLOSE_TIMEOUT seconds, and STALL_TIMEOUT for one that takes
        nothing), then disconnect them."""
        try:
            zrsloop.call(self._finish_connections,
                         timeout=CLOSE_TIMEOUT + zrsloop.CALL_TIMEOUT)
        except Exception:
            logger.exception('closing replication connections')

    async def _finish_connections(self):
        for connection in list(self.handshaking):
            connection.transport.close()  # nothing sent yet: just close
        connections = list(self.connections)
        for connection in connections:
            connection.finish()
        await asyncio.sleep(0)  # those with nothing left to send are gone
        waiting = [c for c in connections if not c.lost.done()]
        for connection in waiting:
            logger.info('closing: waiting up to %s seconds for secondary %s '
                        'to receive %s more bytes', CLOSE_TIMEOUT,
                        connection.peer, connection.unsent())
        await self._wait_for(waiting)

    async def _wait_for(self, connections):
        """Wait until ``connections`` are lost (they close once their last
        send is flushed); disconnect any that took nothing from its
        socket for STALL_TIMEOUT seconds, and the rest after
        CLOSE_TIMEOUT."""
        clock = self.loop.time
        deadline = clock() + CLOSE_TIMEOUT
        progress = {c: (c.progress(), clock()) for c in connections}
        while connections and clock() < deadline:
            await asyncio.wait(
                [c.lost for c in connections],
                timeout=min(PROGRESS_INTERVAL, deadline - clock()),
                return_when=asyncio.FIRST_COMPLETED)
            for connection in list(connections):
                if connection.lost.done():
                    connections.remove(connection)
                    continue
                mark, since = progress[connection]
                seen = connection.progress()
                if seen != mark:
                    progress[connection] = seen, clock()
                elif clock() - since >= STALL_TIMEOUT:
                    logger.warning(
                        'secondary %s took nothing for %s seconds: '
                        'disconnecting it at close, %s bytes short',
                        connection.peer, STALL_TIMEOUT, connection.unsent())
                    connection.transport.abort()
                    connections.remove(connection)
        for connection in connections:
            logger.warning('secondary %s did not catch up before close, '
                           '%s bytes short', connection.peer,
                           connection.unsent())
            connection.transport.abort()


class _SecondaryConnection(asyncio.Protocol):
    """The primary's end of one secondary's connection.

    Reads the opening, then keep-alives and (zrs2.2) acknowledgements, on
    the loop; streams the transactions after the secondary's start tid,
    then new ones as they commit, and moves to the new file after a pack.

    What streaming changes (the file position, the encoder, the bytes the
    socket has not taken yet) changes under ``_lock``: on the loop
    (``run``: the catch-up, a socket that can take more, the finish, a
    commit over TLS) or in a committing thread (``push``). A committing
    thread sends only while the loop does not own the connection
    (``_loop_owns``: it is catching up, waiting for the socket, or
    finishing); otherwise, or if the lock is taken, it leaves ``_pushed``,
    which the holder looks at once it lets go: no commit goes unsent."""

    def __init__(self, server):
        self.server = server
        self.loop = server.loop
        self.transport = None
        self.peer = '?'
        self.reader = protocol.FrameReader(protocol.MAX_SECONDARY_MESSAGE)
        self.opening = protocol.Opening(server.blobs)
        self.acknowledgement = None  # protocol.Acknowledgement, once open
        self.lost = self.loop.create_future()
        self.connected = time.time()
        self.started = False
        self.last_tid = None  # the last transaction handed to the socket
        self.bytes_behind = 0
        self._data_file = None
        self._source = None  # the storage's file object _data_file views
        self._pos = None
        self._stream = None
        self._sent_tid = None  # the last one gathered in the batch
        self._encoder = None
        self._lock = threading.Lock()
        self._writer = None  # a zrsloop.SocketWriter, unless over TLS
        self.direct = False  # committing threads write themselves
        self._loop_owns = True  # until caught up; see the class docstring
        self._pushed = False
        self._paused = False  # TLS: the transport's buffer is full
        self._closed = False
        self._finishing = False
        self._starting = None

    # The handshake.

    def connection_made(self, transport):
        self.transport = transport
        self.server.handshaking.add(self)
        if zrsloop.SocketWriter.supports(transport):
            self._writer = zrsloop.SocketWriter(self.loop, transport,
                                                self.run)
            self.direct = True
        else:
            transport.set_write_buffer_limits(WRITE_HIGH_WATER)
        peer = transport.get_extra_info('peername')
        self.peer = (f'{peer[0]}:{peer[1]}' if isinstance(peer, tuple)
                     else str(peer or 'unix socket'))
        logger.info('secondary %s connected', self.peer)

    def data_received(self, data):
        try:
            for message in self.reader.feed(data):
                if self.transport.is_closing():
                    return
                self._message(message)
        except protocol.InputError as exc:
            logger.error('secondary %s: %s; closing the connection',
                         self.peer, exc)
            if self.opening.epoch is not None and not self.started:
                # The epoch goes out first: the secondary then knows it
                # spoke zrs2.2 to a primary that refused it.
                self.transport.close()
            else:
                self.transport.abort()

    @property
    def protocol_id(self):
        return self.opening.protocol_id

    def _message(self, message):
        if self.started:
            tid = self.acknowledgement.message(message)
            if tid is not None:
                self.server.acknowledgements.acknowledge(self, tid)
            return
        if not self.opening.message(message):
            return
        opening = self.opening
        if opening.epoch is not None:
            with self._lock:
                self._write(protocol.epoch_message(self.server.epoch))
            if opening.epoch > self.server.epoch:
                self.server.stale(self, opening.epoch)
                self.transport.close()
                return
        start = opening.start_tid
        last = self.server.storage.lastTransaction()
        if start > last:
            raise protocol.InputError(
                f'TidTooHigh: secondary starts at {tid_repr(start)}, '
                f'beyond the last transaction {tid_repr(last)}')
        self.started = True
        self.acknowledgement = protocol.Acknowledgement(
            opening.protocol_id, start, lambda: self.last_tid or start)
        self._starting = self.loop.create_task(self._start(start))

    async def _start(self, start_tid):
        if self.server.closed:
            self.transport.close()
            return
        self.last_tid = self._sent_tid = start_tid
        self._encoder = protocol.Encoder(start_tid)
        logger.info('secondary %s (%s) starts after %s', self.peer,
                    self.protocol_id.decode(), tid_repr(start_tid))
        try:
            # Finding the start may scan much of a big file: not on the loop.
            await self.loop.run_in_executor(None, self._open, start_tid)
        except Exception:
            logger.exception('secondary %s: finding its start', self.peer)
            self.transport.abort()
            return
        if self.transport.is_closing():  # lost meanwhile
            self._close_file()
            return
        self.server.handshaking.discard(self)
        self.server.connections.add(self)
        if self.acknowledgement.acknowledges:
            # It has what it starts from: in sync if that is the last.
            self.server.acknowledgements.acknowledge(self, start_tid)
        self.run()

    def _open(self, after_tid):
        """Open the current data file and find the first transaction after
        ``after_tid``; False if the file changed meanwhile (a pack)."""
        end, source = self.server.end
        data_file = filescan.DataFile(self.server.data_file_name)
        try:
            same = os.fstat(source.fileno()).st_ino == data_file.inode
        except ValueError:  # closed: packed again meanwhile
            same = False
        if not same:
            data_file.close()
            return False
        self._source = source
        data_file.limit = end
        self._pos = data_file.position_after(after_tid, end)
        if (self._data_file is None and after_tid != z64
                and not data_file.has_transaction(after_tid, self._pos)):
            logger.warning(
                'secondary %s starts after %s, a transaction this primary '
                'does not have: packed away here, or the secondary holds '
                'transactions the primary never had', self.peer,
                tid_repr(after_tid))
        if self._data_file is not None:
            self._data_file.close()
        self._data_file = data_file
        return True

    # Streaming.

    def push(self):
        """From a committing thread: send what is new now, unless the loop
        owns the connection (then the loop sends it)."""
        self._pushed = True
        while (self._pushed and not self._loop_owns
               and self._lock.acquire(blocking=False)):
            try:
                if self._loop_owns or self._closed:
                    return
                self._pushed = False
                more = self._send_slice()
                if more or (more is not None and self._writer.pending):
                    self._loop_owns = True  # the rest is the loop's
                    zrsloop.soon(self.loop, self.run)
            finally:
                self._lock.release()

    def run(self):
        """On the loop: send what the socket has not taken yet and what is
        new, a slice at a time, until caught up (then committing threads
        send), and close once caught up if finishing."""
        while True:
            with self._lock:
                self._pushed = False
                self._step()
            if self._loop_owns or not self._pushed:
                return

    def _step(self):
        """One turn of ``run``, under the lock: the loop owns the
        connection until it is caught up with nothing pending."""
        self._loop_owns = True
        if self._closed or self.transport.is_closing():
            return
        if self._writer is not None and not self._writer.flush():
            return  # the writer calls run() when the socket takes more
        if self._paused:
            return  # resume_writing() calls run()
        more = self._send_slice()
        if more is None:
            return
        if self._writer is not None and not self._writer.flush():
            return
        if more:
            if not self._paused:
                self.loop.call_soon(self.run)  # let other connections in
        elif self._finishing:
            self.transport.close()
        else:
            # Caught up: committing threads send from now on (over TLS,
            # only the loop can).
            self._loop_owns = self._writer is None

    def _send_slice(self):
        """Write up to a slice of what is durable and not sent yet;
        whether there is more (None: the connection failed)."""
        try:
            if self._data_file is None and not self._open(self._sent_tid):
                return False  # a pack is under way; its end comes later
            more = self._fill()
        except Exception:
            logger.exception('replicating to secondary %s', self.peer)
            self._abort()
            return None
        if self._encoder.buffer:
            # Before the bytes go: the secondary may acknowledge them.
            self.last_tid = self._sent_tid
            self._write(self._encoder.take())
        return None if self._closed else more

    def _write(self, data):
        if self._writer is None:
            self.transport.write(data)
            return
        self._writer.write(data)
        if self._writer.error is not None and not self._closed:
            logger.info('secondary %s: %s; closing the connection',
                        self.peer, self._writer.error)
            self._abort()

    def _abort(self):
        """From any thread: drop the connection."""
        self._closed = True
        zrsloop.soon(self.loop, self.transport.abort)

    def _fill(self):
        """Gather up to SLICE_SIZE bytes; True if there is more to send."""
        while len(self._encoder.buffer) < SLICE_SIZE:
            if self._stream is None:
                end, source = self.server.end
                if source is not self._source:
                    if not self._open(self._sent_tid):
                        return False  # the pack's end comes with a wake-up
                    continue
                self._data_file.limit = end
                self.bytes_behind = end - self._pos
                if self._pos >= end:
                    return False
                self._stream = self._transaction(
                    self._data_file.transaction_at(self._pos))
            if next(self._stream, None) is None:
                self._stream = None
        return True

    def _transaction(self, txn):
        """Gather one transaction's messages, yielding between them."""
        data_file = self._data_file
        yield from self._encoder.transaction(txn, data_file.records(txn),
                                             self._blob_file)
        self._pos = data_file.next_position(txn)
        self._sent_tid = txn.tid

    def _blob_file(self, record):
        if not (self.server.blobs and record.data
                and ZODB.blob.is_blob_record(record.data)):
            return None
        try:
            return self.server.storage.loadBlob(record.oid, record.tid)
        except POSKeyError:
            return None

    def pause_writing(self):
        self._paused = True

    def resume_writing(self):
        self._paused = False
        self.loop.call_soon(self.run)

    def finish(self):
        """Send what is committed, then close."""
        self._finishing = True
        if not self.started or self._data_file is None:
            self.transport.close()
        else:
            self.run()

    def unsent(self):
        """Roughly how many bytes the secondary has still to receive: those
        waiting for the socket and what is not gathered yet."""
        return self._waiting_for_socket() + self.bytes_behind

    def progress(self):
        """What changes while the secondary takes data from its socket
        (so the buffer drains, or the connection gathers more)."""
        return self._waiting_for_socket(), self.last_tid, self.bytes_behind

    def _waiting_for_socket(self):
        """The bytes gathered that the socket has not taken yet (the
        SocketWriter's, or over TLS the transport's)."""
        if self._writer is not None:
            return len(self._writer.pending)
        return self.transport.get_write_buffer_size()

    def status(self, primary_last):
        last = self.last_tid
        lag = (max(0.0, _seconds(primary_last) - _seconds(last))
               if last not in (None, z64) else None)
        acknowledgement = self.acknowledgement
        acknowledged = (acknowledgement.last.hex()
                        if acknowledgement is not None
                        and acknowledgement.acknowledges
                        and acknowledgement.last != z64 else None)
        return dict(address=self.peer, protocol=self.protocol_id.decode(),
                    connected=self.connected,
                    last_tid=last.hex() if last not in (None, z64) else None,
                    lag=lag, bytes_behind=self.bytes_behind,
                    acknowledged=acknowledged)

    def _close_file(self):
        if self._data_file is not None:
            self._data_file.close()
            self._data_file = None

    def connection_lost(self, exc):
        self.server.connections.discard(self)
        self.server.handshaking.discard(self)
        self.server.acknowledgements.disconnected(self)
        with self._lock:  # a committing thread may be writing
            self._closed = True
            if self._writer is not None:
                self._writer.close()
            if self._stream is not None:
                self._stream.close()
            self._close_file()
        self.lost.set_result(None)
        logger.info('secondary %s disconnected', self.peer)
