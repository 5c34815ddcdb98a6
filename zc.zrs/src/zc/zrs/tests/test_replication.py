"""Primary and Secondary in one process: handshake rules, the wire format
seen by a raw client, blobs, relays, closing."""
import hashlib
import logging
import os
import pickle
import socket
import struct
import tempfile
import threading
import time
import unittest
from unittest import mock

import transaction
import ZODB
import ZODB.blob
import ZODB.FileStorage
import ZODB.utils
from twisted.internet import task
from ZODB.utils import z64
from zope.testing.wait import wait

import zc.zrs
import zc.zrs.loop
import zc.zrs.primary
import zc.zrs.testing
from zc.zrs import protocol
from zc.zrs.tests import support


class TempDirTest(unittest.TestCase):

    def setUp(self):
        self.addCleanup(zc.zrs.loop.stop)  # runs last
        self._tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self._tmp.cleanup)
        self.logs = support.LogCapture().install()
        self.addCleanup(self.logs.uninstall)

    def path(self, name):
        return os.path.join(self._tmp.name, name)

    def primary(self, name='primary.fs', blobs=False, **kw):
        storage = ZODB.FileStorage.FileStorage(
            self.path(name), blob_dir=self.path(name + '.blobs')
            if blobs else None)
        primary = zc.zrs.Primary(storage, ('127.0.0.1', 0), **kw)
        self.addCleanup(primary.close)
        return primary

    def secondary(self, address, name='secondary.fs', blobs=False, **kw):
        storage = ZODB.FileStorage.FileStorage(
            self.path(name), blob_dir=self.path(name + '.blobs')
            if blobs else None)
        kw.setdefault('reconnect_delay', 0.1)
        secondary = zc.zrs.Secondary(storage, address, **kw)
        self.addCleanup(secondary.close)
        return secondary

    def replication(self, **kw):
        """A primary (primary.fs), a DB on it and a secondary of it
        (secondary.fs), from zc.zrs.testing.server."""
        pair = zc.zrs.testing.server(self._tmp.name, **kw)
        self.addCleanup(pair.stop)
        db = ZODB.DB(pair.primary)
        self.addCleanup(db.close)
        return pair.primary, db, pair.secondary

    def primary_db(self, **kw):
        primary = self.primary(**kw)
        db = ZODB.DB(primary)
        self.addCleanup(db.close)
        return primary, db

    def commit(self, db, count=1, size=100):
        for i in range(count):
            with db.transaction() as conn:
                conn.root()[f'k{i % 20}'] = os.urandom(size)

    def caught_up(self, secondary, primary):
        wait(lambda: secondary.lastTransaction()
             == primary.lastTransaction(), timeout=support.TIMEOUT)

    def assertNoErrors(self):
        self.assertEqual(self.logs.messages(logging.ERROR), [])


class RawSecondary:
    """A hand-made secondary speaking the wire protocol."""

    def __init__(self, address, receive_buffer=None):
        self.sock = socket.socket()
        self.sock.settimeout(support.TIMEOUT)
        if receive_buffer is not None:  # set before the window is agreed
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                 receive_buffer)
        self.sock.connect(address)
        self.buffer = b''

    def send(self, payload):
        self.sock.sendall(protocol.frame(payload))

    def message(self):
        while True:
            if len(self.buffer) >= 4:
                size, = struct.unpack('>I', self.buffer[:4])
                if len(self.buffer) >= 4 + size:
                    payload = self.buffer[4:4 + size]
                    self.buffer = self.buffer[4 + size:]
                    return payload
            data = self.sock.recv(1 << 16)
            if not data:
                return None
            self.buffer += data

    def closed_by_peer(self):
        """Whether the peer closes the connection (reading what it sent
        before); a timeout means it does not."""
        try:
            while self.sock.recv(1 << 16):
                pass
        except ConnectionResetError:
            pass
        except TimeoutError:
            return False
        return True

    def close(self):
        self.sock.close()


class HandshakeTests(TempDirTest):

    def setUp(self):
        super().setUp()
        self.primary = self.primary()
        self.db = ZODB.DB(self.primary)
        self.addCleanup(self.db.close)

    def refused(self, *payloads):
        raw = RawSecondary(self.primary.address)
        self.addCleanup(raw.close)
        for payload in payloads:
            raw.send(payload)
        self.assertTrue(raw.closed_by_peer())
        wait(lambda: self.logs.messages(), timeout=support.TIMEOUT)
        return self.logs.messages()[0]

    def test_unknown_protocol(self):
        self.assertIn('unknown protocol', self.refused(b'zrs9.9'))

    def test_start_tid_must_be_8_bytes(self):
        self.assertIn('bad start tid', self.refused(b'zrs2.0', b'1234567'))

    def test_long_message_is_refused_from_its_length(self):
        raw = RawSecondary(self.primary.address)
        self.addCleanup(raw.close)
        raw.sock.sendall(struct.pack('>I', 1 << 30))  # no payload follows
        self.assertTrue(raw.closed_by_peer())
        self.assertIn('too long', self.logs.messages()[0])

    def test_data_after_the_start_tid(self):
        self.assertIn('unexpected data',
                      self.refused(b'zrs2.0', z64, b'x'))

    def test_tid_too_high(self):
        self.assertIn('TidTooHigh',
                      self.refused(b'zrs2.0', b'\x7f' + b'\xff' * 7))

    def test_stream_format_and_checksums(self):
        self.commit(self.db, 3)
        raw = RawSecondary(self.primary.address)
        self.addCleanup(raw.close)
        raw.send(b'zrs2.0')
        raw.send(z64)
        raw.send(b'')  # keep-alives are fine
        md5 = hashlib.md5(z64)
        tids = []
        checked = 0
        while checked < 4:
            payload = raw.message()
            kind, args = pickle.loads(payload)
            if kind == 'T':
                tids.append(args[0])
                self.assertEqual(args[1], ' ')
            elif kind == 'S':
                md5.update(payload)
                payload = raw.message()
            elif kind == 'C':
                self.assertEqual(args[0], md5.digest())
                checked += 1
            md5.update(payload)
        storage_tids = [t.tid for t in self.primary.iterator()]
        self.assertEqual(tids, storage_tids)
        raw.send(b'')
        self.commit(self.db)
        kind, args = pickle.loads(raw.message())
        self.assertEqual((kind, args[0]), ('T', self.primary.lastTransaction()))

    def test_start_tid_the_primary_lacks_is_reported(self):
        self.commit(self.db, 2)
        tids = [t.tid for t in self.primary.iterator()]
        missing = (int.from_bytes(tids[1], 'big') + 1).to_bytes(8, 'big')
        raw = RawSecondary(self.primary.address)
        self.addCleanup(raw.close)
        raw.send(b'zrs2.0')
        raw.send(missing)
        kind, args = pickle.loads(raw.message())
        self.assertEqual((kind, args[0]), ('T', tids[2]))
        [warning] = [m for m in self.logs.messages(logging.WARNING)
                     if 'does not have' in m]
        self.assertIn('the secondary holds transactions the primary never '
                      'had', warning)

    def test_only_filestorages(self):
        import ZODB.MappingStorage
        with self.assertRaises(ValueError):
            zc.zrs.Primary(ZODB.MappingStorage.MappingStorage(),
                           ('127.0.0.1', 0))


class StreamingTests(TempDirTest):
    """How commits reach a connected secondary: from the committing
    thread, and through the loop when the socket is full."""

    def setUp(self):
        super().setUp()
        self.primary, self.db = self.primary_db()
        self.commit(self.db)
        self.raw = RawSecondary(self.primary.address)
        self.addCleanup(self.raw.close)
        self.raw.send(b'zrs2.0')
        self.raw.send(z64)
        self.md5 = hashlib.md5(z64)
        tids = [t.tid for t in self.primary.iterator()]
        self.assertEqual(self.transactions(len(tids)), tids)

    def transactions(self, count):
        """The tids of the next ``count`` transactions on the raw
        connection, their checksums verified."""
        tids = []
        while len(tids) < count:
            payload = self.raw.message()
            kind, args = pickle.loads(payload)
            if kind == 'T':
                tids.append(args[0])
            elif kind == 'S':
                self.md5.update(payload)
                payload = self.raw.message()
            elif kind == 'C':
                self.assertEqual(args[0], self.md5.digest())
            self.md5.update(payload)
        return tids

    def test_a_commit_is_sent_by_the_committing_thread(self):
        # With the zc.zrs loop busy, a commit still reaches a caught-up
        # secondary: no hand-off to the loop on the way.
        loop = zc.zrs.loop.get_loop()
        release = threading.Event()
        self.addCleanup(release.set)
        zc.zrs.loop.soon(loop, release.wait, support.TIMEOUT)
        self.raw.sock.settimeout(support.TIMEOUT / 4)  # the loop waits more
        self.commit(self.db)
        self.assertEqual(self.transactions(1),
                         [self.primary.lastTransaction()])

    def test_a_secondary_that_stops_reading_gets_every_commit_in_order(self):
        # Commits go on while the secondary's socket is full (the loop
        # keeps what it cannot take); once it reads, it gets them all, in
        # order, and commits are sent directly again.
        self.raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        [connection] = self.primary._server.connections
        for _ in range(100):
            self.commit(self.db, size=100_000)
        self.assertTrue(connection._writer.pending)  # the socket was full
        tids = [t.tid for t in self.primary.iterator()]
        self.assertEqual(self.transactions(100), tids[-100:])
        wait(lambda: not connection._loop_owns, timeout=support.TIMEOUT)
        self.commit(self.db)
        self.assertEqual(self.transactions(1),
                         [self.primary.lastTransaction()])
        self.assertNoErrors()


class BlobTests(TempDirTest):

    def test_blob_primary_refuses_zrs20(self):
        primary = self.primary(blobs=True)
        raw = RawSecondary(primary.address)
        self.addCleanup(raw.close)
        raw.send(b'zrs2.0')
        self.assertTrue(raw.closed_by_peer())
        self.assertIn('cannot replicate blobs', self.logs.messages()[0])

    def test_large_blobs_are_streamed_not_loaded(self):
        import tracemalloc
        primary, db = self.primary_db(blobs=True)
        size = 48 << 20
        with db.transaction() as conn:
            blob = conn.root()['large'] = ZODB.blob.Blob()
            with blob.open('w') as f:
                chunk = os.urandom(1 << 20)
                for _ in range(size >> 20):
                    f.write(chunk)
        tracemalloc.start()
        self.addCleanup(tracemalloc.stop)
        secondary = self.secondary(primary.address, blobs=True)
        self.caught_up(secondary, primary)
        _, peak = tracemalloc.get_traced_memory()
        self.assertLess(peak, size // 2)
        self.assertEqual(os.path.getsize(secondary.loadBlob(
            ZODB.utils.p64(1), primary.lastTransaction())), size)

    def test_blobstorage_wrapper_as_primary(self):
        storage = ZODB.blob.BlobStorage(
            self.path('wrapped.blobs'),
            ZODB.FileStorage.FileStorage(self.path('primary.fs')))
        primary = zc.zrs.Primary(storage, ('127.0.0.1', 0))
        self.addCleanup(primary.close)
        db = ZODB.DB(primary)
        self.addCleanup(db.close)
        secondary = self.secondary(primary.address, blobs=True)
        with db.transaction() as conn:
            blob = conn.root()['blob'] = ZODB.blob.Blob()
            with blob.open('w') as f:
                f.write(b'wrapped' * 20000)
        self.caught_up(secondary, primary)
        secondary_db = ZODB.DB(secondary)
        self.addCleanup(secondary_db.close)
        with secondary_db.transaction() as conn:
            with conn.root()['blob'].open() as f:
                self.assertEqual(f.read(), b'wrapped' * 20000)
        self.assertNoErrors()

    def test_large_and_empty_blobs_replicate(self):
        primary, db, secondary = self.replication(blobs=True)
        sizes = {'big': 3 * protocol.BLOB_BLOCK_SIZE + 17, 'empty': 0,
                 'exact': protocol.BLOB_BLOCK_SIZE}
        content = {}
        for name, size in sizes.items():
            with db.transaction() as conn:
                blob = ZODB.blob.Blob()
                content[name] = os.urandom(size)
                with blob.open('w') as f:
                    f.write(content[name])
                conn.root()[name] = blob
        self.caught_up(secondary, primary)
        secondary_db = ZODB.DB(secondary)
        self.addCleanup(secondary_db.close)
        with secondary_db.transaction() as conn:
            for name in sizes:
                with conn.root()[name].open() as f:
                    self.assertEqual(f.read(), content[name])
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertNoErrors()


class HistoryTests(TempDirTest):

    def test_undo_backpointers_and_undone_creations_replicate(self):
        from persistent.mapping import PersistentMapping
        primary, db, secondary = self.replication()
        with db.transaction() as conn:
            conn.root()['child'] = PersistentMapping(value=1)
        # Undoing the last transaction writes the root as a backpointer to
        # its previous version and the child as an undone creation.
        db.undo(db.undoLog(0, 1)[0]['id'])
        transaction.commit()
        self.caught_up(secondary, primary)
        _header, records = support.transactions(self.path('primary.fs'))[-1]
        self.assertEqual(sorted((data is None, data_txn is None)
                                for _oid, _tid, data, data_txn in records),
                         [(False, False), (True, True)])
        secondary.close()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertNoErrors()


class FailureTests(TempDirTest):

    def test_a_failing_apply_is_retried_from_the_last_transaction(self):
        primary, db = self.primary_db()
        self.commit(db, 5)
        storage = ZODB.FileStorage.FileStorage(self.path('secondary.fs'))
        real_restore = storage.restore
        failures = []

        def restore(*args):
            if not failures:
                failures.append(args[1])
                raise OSError('disk full (simulated)')
            return real_restore(*args)

        storage.restore = restore
        secondary = zc.zrs.Secondary(storage, primary.address,
                                     reconnect_delay=0.1)
        self.addCleanup(secondary.close)
        self.caught_up(secondary, primary)
        self.assertEqual(len(failures), 1)
        [critical] = self.logs.messages(logging.CRITICAL)
        self.assertIn('Failed to apply replicated transaction', critical)
        self.logs.records.clear()  # the one expected error
        secondary.close()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertNoErrors()

    def test_a_secondary_killed_while_committing_receives_that_commit(self):
        # Its FileStorage cuts the transaction it was committing when it
        # was killed, yet reports it as the last: the secondary must not
        # start after it (a hole in its history).
        primary, db = self.primary_db()
        self.commit(db, 3)
        cut = support.killed_while_committing(
            primary, self.path('primary.fs'), self.path('secondary.fs'))
        self.commit(db, 2)
        secondary = self.secondary(primary.address)
        self.caught_up(secondary, primary)
        secondary.close()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        [warning] = self.logs.messages(logging.WARNING)
        self.assertIn(f'reported {ZODB.utils.tid_repr(cut)} as its last',
                      warning)

    def test_secondary_status(self):
        primary, db = self.primary_db()
        secondary = self.secondary(None)
        self.assertEqual(secondary.replication_status(), dict(
            address=None, connected=False, last_tid=None, pending=0,
            protocol=None, epoch=0))
        secondary.setReplicationAddress(primary.address)
        self.caught_up(secondary, primary)
        status = secondary.replication_status()
        self.assertEqual(status, dict(
            address='%s:%s' % primary.address, connected=True,
            last_tid=primary.lastTransaction().hex(), pending=0,
            protocol='zrs2.2', epoch=0))


class TopologyTests(TempDirTest):

    def test_relay_chain(self):
        primary, db = self.primary_db()
        relay = zc.zrs.Secondary(
            zc.zrs.Primary(ZODB.FileStorage.FileStorage(self.path('r.fs')),
                           ('127.0.0.1', 0)),
            primary.address, reconnect_delay=0.1)
        self.addCleanup(relay.close)
        leaf = self.secondary(relay.address)
        self.commit(db, 30)
        self.caught_up(leaf, primary)
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('r.fs'))
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertNoErrors()

    def test_unix_socket(self):
        storage = ZODB.FileStorage.FileStorage(self.path('primary.fs'))
        primary = zc.zrs.Primary(storage, self.path('zrs.sock'))
        self.addCleanup(primary.close)
        db = ZODB.DB(primary)
        self.addCleanup(db.close)
        secondary = self.secondary(self.path('zrs.sock'))
        self.commit(db, 5)
        self.caught_up(secondary, primary)
        self.assertNoErrors()

    def test_secondary_connects_when_given_an_address(self):
        primary, db = self.primary_db()
        secondary = self.secondary(None)
        self.commit(db, 3)
        self.assertEqual(len(secondary), 0)
        secondary.setReplicationAddress(primary.address)
        self.caught_up(secondary, primary)

    def test_keep_alives(self):
        clock = task.Clock()
        primary, db, secondary = self.replication(keep_alive_delay=0.05,
                                                  clock=clock)
        self.commit(db)
        self.caught_up(secondary, primary)
        [status] = primary.replication_status()
        for _ in range(6):  # several keep-alives
            self.advance(clock, 0.05)
        self.commit(db)
        self.caught_up(secondary, primary)
        self.assertEqual(primary.replication_status()[0]['address'],
                         status['address'])  # same connection throughout
        self.assertNoErrors()

    def advance(self, clock, seconds):
        """Move the clock once the next call is scheduled on it."""
        wait(clock.getDelayedCalls, timeout=support.TIMEOUT)
        [call] = clock.getDelayedCalls()
        self.assertEqual(call.getTime(), clock.seconds() + seconds)
        clock.advance(seconds)

    def test_reconnect_delay(self):
        clock = task.Clock()
        address = ('127.0.0.1', support.free_port())
        secondary = self.secondary(address, reconnect_delay=60, clock=clock)
        # Nothing listens there yet: the secondary waits 60 s to try again.
        wait(clock.getDelayedCalls, timeout=support.TIMEOUT)
        [call] = clock.getDelayedCalls()
        self.assertEqual(call.getTime(), 60)
        primary = zc.zrs.Primary(ZODB.FileStorage.FileStorage(
            self.path('primary.fs')), address)
        self.addCleanup(primary.close)
        db = ZODB.DB(primary)  # commits the root
        self.addCleanup(db.close)
        clock.advance(59)
        self.assertTrue(call.active())
        clock.advance(1)
        self.caught_up(secondary, primary)
        self.assertEqual(len(secondary), 1)  # the root
        self.assertNoErrors()


class ClosingTests(TempDirTest):

    def test_closing_a_secondary_mid_transaction_is_clean(self):
        primary, db = self.primary_db()
        self.commit(db, 200, size=20000)
        secondary = self.secondary(primary.address)
        wait(lambda: len(secondary) > 0, timeout=support.TIMEOUT)
        secondary.close()
        self.assertNoErrors()
        support.assert_prefix(self, self.path('primary.fs'),
                              self.path('secondary.fs'))

    def test_closing_the_primary_lets_secondaries_catch_up(self):
        primary = self.primary()
        db = ZODB.DB(primary)
        secondary = self.secondary(primary.address)
        self.commit(db, 5)
        self.caught_up(secondary, primary)
        self.commit(db, 100, size=5000)
        last = primary.lastTransaction()
        db.close()  # closes the primary
        wait(lambda: secondary.lastTransaction() == last,
             timeout=support.TIMEOUT)
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertNoErrors()

    def test_closing_the_primary_with_a_secondary_in_sync_is_prompt(self):
        primary = self.primary()
        db = ZODB.DB(primary)
        secondary = self.secondary(primary.address)
        self.commit(db, 20)
        self.caught_up(secondary, primary)
        start = time.monotonic()
        db.close()  # closes the primary
        self.assertLess(time.monotonic() - start, 1)
        self.assertEqual(
            [m for m in self.logs.messages(logging.INFO)
             if 'waiting' in m or 'catch up' in m], [])
        self.assertNoErrors()

    def test_closing_the_primary_drops_a_secondary_that_reads_nothing(self):
        # A secondary that no longer reads (stuck, or shutting down
        # itself) holds the close for STALL_TIMEOUT, not CLOSE_TIMEOUT,
        # and the log says at once what the close waits for.
        primary = self.primary()
        db = ZODB.DB(primary)
        self.commit(db, 30, size=500000)
        raw = RawSecondary(primary.address, receive_buffer=4096)
        self.addCleanup(raw.close)
        raw.send(b'zrs2.1')
        raw.send(z64)
        wait(lambda: any(c._waiting_for_socket()
                         for c in primary._server.connections),
             timeout=support.TIMEOUT)  # its socket is full
        stall = 1
        with mock.patch.multiple(zc.zrs.primary, CLOSE_TIMEOUT=30,
                                 STALL_TIMEOUT=stall, PROGRESS_INTERVAL=0.1,
                                 create=True):
            start = time.monotonic()
            db.close()
        self.assertLess(time.monotonic() - start, stall + 5)
        [waiting] = [r for r in self.logs.records
                     if 'closing: waiting up to 30 seconds for secondary '
                     in r.getMessage()]
        [dropped] = [r for r in self.logs.records
                     if 'took nothing for 1 seconds: disconnecting it at '
                     'close' in r.getMessage()]
        self.assertEqual(dropped.levelno, logging.WARNING)
        # Said as the close began, a whole stall before it gave up.
        self.assertGreaterEqual(dropped.created - waiting.created,
                                stall * 0.9)
        self.assertTrue(raw.closed_by_peer())
        self.assertNoErrors()

    def test_reactor_argument_is_refused(self):
        with self.assertRaises(TypeError):
            zc.zrs.Secondary(self.path('s.fs'), None, reactor=object())



class ConfigTests(TempDirTest):

    def open(self, body):
        import ZODB.config
        return ZODB.config.storageFromString(f'''
            %import zc.zrs
            <zrs>
              {body}
              <filestorage>
                path {self.path('data.fs')}
              </filestorage>
            </zrs>''')

    def test_same_address_both_ways_is_refused(self):
        with self.assertRaises(ValueError) as caught:
            self.open('replicate-to 127.0.0.1:9999\n'
                      'replicate-from 127.0.0.1:9999')
        self.assertIn('same address 127.0.0.1:9999', str(caught.exception))

    def test_secondary_options(self):
        secondary = self.open('replicate-from 127.0.0.1:9999\n'
                              'keep-alive-delay 30\n'
                              'reconnect-delay 5\n'
                              'check-checksums false')
        self.addCleanup(secondary.close)
        replicator = secondary._replicator
        self.assertEqual((replicator.keep_alive_delay,
                          replicator.reconnect_delay,
                          replicator.check_checksums), (30, 5, False))
        self.assertEqual(replicator.address, ('127.0.0.1', 9999))


class HandshakeClosingTests(TempDirTest):

    def test_close_disconnects_secondaries_still_shaking_hands(self):
        primary = self.primary()
        raw = RawSecondary(primary.address)
        self.addCleanup(raw.close)
        raw.send(b'zrs2.0')  # and no start tid
        wait(lambda: primary._server.handshaking, timeout=support.TIMEOUT)
        primary.close()
        self.assertTrue(raw.closed_by_peer())
        self.assertNoErrors()
