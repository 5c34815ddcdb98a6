"""zrs2.2: epochs in the opening, acknowledgements, synchronous commit,
fencing. Primaries and secondaries of this process, raw secondaries on
sockets, and secondaries in processes of their own that are stopped or
killed."""
import logging
import os
import signal
import socket
import threading
import time
import unittest
import unittest.mock

import transaction
import ZConfig
import ZODB
import ZODB.config
import ZODB.FileStorage
from ZODB.Connection import TransactionMetaData
from ZODB.POSException import ReadOnlyError
from ZODB.utils import tid_repr
from ZODB.utils import z64
from zope.testing.wait import wait

import zc.zrs
from zc.zrs import groupsync
from zc.zrs import protocol
from zc.zrs.interfaces import Fenced
from zc.zrs.synchronous import Acknowledgements
from zc.zrs.interfaces import NotAcknowledged
from zc.zrs.tests import support
from zc.zrs.tests.test_replication import RawSecondary
from zc.zrs.tests.test_replication import TempDirTest


def store(storage, data=b'x', callback=None):
    """Commit one record through the storage API (what ZEO does); the
    tid."""
    meta = TransactionMetaData()
    storage.tpc_begin(meta)
    try:
        storage.store(storage.new_oid(), z64, data, '', meta)
        storage.tpc_vote(meta)
    except BaseException:
        storage.tpc_abort(meta)
        raise
    return storage.tpc_finish(meta, callback)


class ProtocolTests(unittest.TestCase):
    """The zrs2.2 parts of zc.zrs.protocol."""

    def messages(self, data):
        return protocol.FrameReader().feed(data)

    def test_the_opening(self):
        tid = b'\x03' * 8
        messages = self.messages(protocol.opening(b'zrs2.2', tid, 7))
        self.assertEqual(messages, [b'zrs2.2', tid, (7).to_bytes(8, 'big')])
        opening = protocol.Opening(blobs=True)
        self.assertEqual([opening.message(m) for m in messages],
                         [False, False, True])
        self.assertEqual((opening.protocol_id, opening.start_tid,
                          opening.epoch), (b'zrs2.2', tid, 7))
        # Before zrs2.2: two messages, no epoch.
        messages = self.messages(protocol.opening(b'zrs2.1', tid, 7))
        opening = protocol.Opening(blobs=True)
        self.assertEqual([opening.message(m) for m in messages],
                         [False, True])
        self.assertIsNone(opening.epoch)

    def test_bad_openings(self):
        for messages, error in (([b'zrs2.0'], 'cannot replicate blobs'),
                                ([b'zrs2.3'], 'unknown protocol'),
                                ([b'zrs2.2', z64, b'1234'], 'bad epoch')):
            opening = protocol.Opening(blobs=True)
            with self.assertRaisesRegex(protocol.InputError, error):
                for message in messages:
                    opening.message(message)

    def test_acknowledgements(self):
        sent = [b'\x00' * 7 + b'\x05']
        acknowledgement = protocol.Acknowledgement(b'zrs2.2', z64,
                                                   lambda: sent[0])
        self.assertIsNone(acknowledgement.message(b''))  # keep-alive
        self.assertEqual(acknowledgement.message(sent[0]), sent[0])
        for bad in (sent[0], z64, b'\x00' * 7 + b'\x06', b'x'):
            self.assertRaises(protocol.InputError,
                              acknowledgement.message, bad)
        older = protocol.Acknowledgement(b'zrs2.1', z64, lambda: sent[0])
        self.assertFalse(older.acknowledges)
        with self.assertRaisesRegex(protocol.InputError, 'unexpected data'):
            older.message(sent[0])
        self.assertEqual(self.messages(protocol.acknowledgement(sent[0])),
                         sent)

    def test_the_primary_epoch_in_pieces(self):
        data = protocol.epoch_message(2 ** 40) + b'transactions'
        reader = protocol.EpochReader()
        self.assertIsNone(reader.feed(data[:3]))
        self.assertIsNone(reader.feed(data[3:9]))
        self.assertEqual(reader.feed(data[9:]), (2 ** 40, b'transactions'))
        with self.assertRaisesRegex(protocol.InputError, 'bad epoch'):
            protocol.EpochReader().feed(protocol.frame(b'zrs2.2'))

    def test_fallback(self):
        self.assertEqual(protocol.fallback(blobs=True), b'zrs2.1')
        self.assertEqual(protocol.fallback(blobs=False), b'zrs2.0')


def tid(n):
    return n.to_bytes(8, 'big')


class AcknowledgementsTests(unittest.TestCase):
    """zc.zrs.synchronous on its own: secondaries are mere keys here."""

    def test_the_nth_newest_counts(self):
        acks = Acknowledgements(required=2, timeout=0.05)
        acks.acknowledge('a', tid(5))
        self.assertIsNone(acks.acknowledged())  # only one
        acks.acknowledge('b', tid(3))
        acks.acknowledge('c', tid(4))
        self.assertEqual(acks.acknowledged(), tid(4))
        self.assertEqual(acks.acknowledged(count=1), tid(5))
        self.assertEqual(acks.acknowledged(count=3), tid(3))
        acks.finish(tid(4))
        acks.disconnected('c')
        self.assertEqual(acks.acknowledged(), tid(3))
        self.assertRaises(NotAcknowledged, acks.finish, tid(5))

    def test_fenced_while_degraded(self):
        announced = []
        acks = Acknowledgements(required=1, timeout=0.01, fallback='async',
                                announce=lambda: announced.append(True))
        acks.finish(tid(1))  # degrades
        acks.finish(tid(2))  # does not wait
        acks.fence('stepping down')
        self.assertRaises(Fenced, acks.check)
        with self.assertRaisesRegex(NotAcknowledged, 'stepping down'):
            acks.finish(tid(3))  # begun before the fence
        acks.acknowledge('a', tid(3))
        self.assertEqual(announced, [True])

    def test_drain_lets_begun_commits_finish_and_waits_for_them(self):
        acks = Acknowledgements(required=1, timeout=support.TIMEOUT)
        begun = object()
        acks.begin(begun)
        finished = []

        def commit():
            acks.finish(tid(1))  # committed locally, waits for its ack
            acks.ended(begun)
            finished.append(True)

        committer = threading.Thread(target=commit)
        committer.start()
        # The gate is closed at once; the commit begun goes on waiting.
        self.assertFalse(acks.drain('switchover', 0.05))
        self.assertRaises(Fenced, acks.begin, object())
        drained = []
        drainer = threading.Thread(
            target=lambda: drained.append(
                acks.drain('switchover', support.TIMEOUT)))
        drainer.start()
        acks.acknowledge('a', tid(1))
        committer.join(support.TIMEOUT)
        drainer.join(support.TIMEOUT)
        self.assertEqual((finished, drained), ([True], [True]))
        # A fence (a lost session) while draining fails waiting commits.
        acks.unfence()
        acks.begin(begun)
        acks.drain('switchover', 0.01)
        acks.fence('session lost')
        self.assertRaises(NotAcknowledged, acks.finish, tid(2))
        acks.ended(begun)
        self.assertTrue(acks.drain('switchover', 0.01))

    def test_waiting_for_all_connected(self):
        acks = Acknowledgements()
        acks.acknowledge('a', tid(5))
        acks.acknowledge('b', tid(1))
        self.assertEqual(acks.acknowledged(), tid(1))
        waited = []
        waiter = threading.Thread(
            target=lambda: waited.append(acks.wait(tid(5), support.TIMEOUT)))
        waiter.start()
        acks.disconnected('b')  # the one behind goes: all have it now
        waiter.join(support.TIMEOUT)
        self.assertEqual(waited, [True])

    def test_asynchronous_commits_never_wait(self):
        acks = Acknowledgements()
        acks.finish(tid(1))
        acks.fence('x')
        acks.finish(tid(2))  # begun before the fence: nothing to wait for
        self.assertRaises(Fenced, acks.check)
        acks.unfence()
        acks.check()


class SynchronousTest(TempDirTest):

    def in_sync(self, primary):
        """Wait until the primary's last transaction is acknowledged."""
        wait(lambda: primary.acknowledged() == primary.lastTransaction(),
             timeout=support.TIMEOUT)

    def synchronous_pair(self, name='secondary.fs', **kw):
        """A synchronous primary, a secondary in sync, and a DB on the
        primary."""
        primary = self.primary(synchronous=1, **kw)
        secondary = self.secondary(primary.address, name=name)
        self.in_sync(primary)
        db = ZODB.DB(primary)
        self.addCleanup(db.close)
        return primary, db, secondary

    def waiting_commit(self, primary):
        """Start a commit on ``primary`` (synchronous, no secondary) in a
        thread; return once it is committed here and waits for its
        acknowledgement: the thread, and the list that gets the message
        of the NotAcknowledged it ends with."""
        failed = []

        def commit():
            try:
                store(primary)
            except NotAcknowledged as exc:
                failed.append(str(exc))

        committer = threading.Thread(target=commit)
        committer.start()
        wait(lambda: primary.lastTransaction() != z64,
             timeout=support.TIMEOUT)
        return committer, failed


class SynchronousTests(SynchronousTest):

    def test_a_commit_returns_once_the_secondary_has_it(self):
        primary, db, secondary = self.synchronous_pair()
        for i in range(20):
            self.commit(db)
            # Not "eventually": the commit returned, so the secondary has
            # it on disk.
            self.assertEqual(secondary.lastTransaction(),
                             primary.lastTransaction())
        [status] = primary.replication_status()
        self.assertEqual(status['protocol'], 'zrs2.2')
        self.assertEqual(status['acknowledged'],
                         primary.lastTransaction().hex())
        self.assertEqual(primary.acknowledged(), primary.lastTransaction())
        self.assertEqual(secondary.replication_status()['protocol'],
                         'zrs2.2')
        self.assertEqual(self.logs.messages(logging.WARNING), [])

    def test_the_callback_runs_after_the_acknowledgement(self):
        primary = self.primary(synchronous=1)
        secondary = self.secondary(primary.address)
        self.in_sync(primary)
        seen = []
        tid = store(primary, callback=lambda tid: seen.append(
            (tid, secondary.lastTransaction())))
        self.assertEqual(seen, [(tid, tid)])
        # Asynchronous: the callback runs inside the storage's commit.
        async_primary = self.primary('async.fs')
        seen = []
        tid = store(async_primary, callback=lambda tid: seen.append(
            (tid, async_primary.lastTransaction())))
        self.assertEqual(len(seen), 1)
        self.assertEqual(seen[0][0], tid)
        self.assertLess(seen[0][1], tid)  # not finished yet
        self.assertNoErrors()

    def test_no_secondary_fail(self):
        primary = self.primary(synchronous=1, synchronous_timeout=0.3)
        before = primary.lastTransaction()
        seen = []
        started = time.monotonic()
        with self.assertRaisesRegex(NotAcknowledged,
                                    '1 secondary did not acknowledge'):
            store(primary, callback=seen.append)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(seen, [])  # clients are not told
        unacknowledged = primary.lastTransaction()
        self.assertGreater(unacknowledged, before)  # committed here
        with self.assertRaisesRegex(NotAcknowledged, 'refused.*1 secondary '
                                    'to be in sync again'):
            store(primary)  # refused at once
        self.assertEqual(primary.lastTransaction(), unacknowledged)
        self.assertEqual(self.logs.messages(logging.WARNING), [
            f'1 secondary did not acknowledge {tid_repr(unacknowledged)} '
            f'within 0.3 seconds: commits are refused until they are in '
            f'sync'])
        # A secondary gets it: in sync again, commits resume.
        secondary = self.secondary(primary.address)
        wait(lambda: primary.acknowledged() == unacknowledged,
             timeout=support.TIMEOUT)
        tid = store(primary)
        self.assertEqual(secondary.lastTransaction(), tid)
        self.assertIn('1 secondary in sync again: synchronous commit '
                      'resumes', self.logs.messages(logging.INFO))
        self.assertNoErrors()

    def test_a_late_acknowledgement_makes_clients_drop_their_caches(self):
        primary, db, secondary = self.synchronous_pair(
            synchronous_timeout=0.3)
        reader = db.open()
        self.assertEqual(reader.root().get('k0'), None)
        secondary.close()
        self.assertRaises(NotAcknowledged, self.commit, db)
        secondary = self.secondary(primary.address, name='secondary2.fs')
        wait(lambda: primary.acknowledged() == primary.lastTransaction(),
             timeout=support.TIMEOUT)
        self.assertIn('a transaction that was not acknowledged in time is '
                      'now: clients drop their caches',
                      self.logs.messages(logging.WARNING))
        # The reader, never told of that commit, sees it now.
        reader.transaction_manager.begin()
        self.assertIsNotNone(reader.root().get('k0'))
        self.assertEqual(secondary.lastTransaction(),
                         primary.lastTransaction())
        reader.close()

    def test_no_secondary_async(self):
        started = time.monotonic()
        # The DB's first commit (its root) waits, then degrades.
        primary, db = self.primary_db(synchronous=1, synchronous_timeout=2,
                                      synchronous_fallback='async')
        self.assertGreaterEqual(time.monotonic() - started, 2)
        started = time.monotonic()
        self.commit(db, 5)  # degraded: no more waiting
        self.assertLess(time.monotonic() - started, 2)
        [warning] = self.logs.messages(logging.WARNING)
        self.assertIn('synchronous commit degraded to asynchronous: 1 '
                      'secondary did not acknowledge', warning)
        secondary = self.secondary(primary.address)
        wait(lambda: '1 secondary in sync again: synchronous commit '
             'resumes' in self.logs.messages(logging.INFO),
             timeout=support.TIMEOUT)
        for i in range(3):
            self.commit(db)
            self.assertEqual(secondary.lastTransaction(),
                             primary.lastTransaction())
        self.assertNoErrors()

    def test_fence_and_unfence(self):
        primary, db = self.primary_db()
        self.assertIsNone(primary.fenced)
        primary.fence('lost the ZooKeeper session')
        self.assertEqual(primary.fenced, 'lost the ZooKeeper session')
        with self.assertRaisesRegex(Fenced, 'lost the ZooKeeper session'):
            self.commit(db)
        self.assertTrue(issubclass(Fenced, ReadOnlyError))
        primary.unfence()
        self.assertIsNone(primary.fenced)
        self.commit(db)
        self.assertEqual(self.logs.messages(logging.INFO)[-2:], [
            'primary fenced: lost the ZooKeeper session',
            'primary no longer fenced (was: lost the ZooKeeper session)'])

    def test_fencing_fails_a_commit_waiting_for_acknowledgements(self):
        primary = self.primary(synchronous=1,
                               synchronous_timeout=support.TIMEOUT)
        started = time.monotonic()
        committer, failed = self.waiting_commit(primary)
        primary.fence('switchover')
        committer.join(support.TIMEOUT)
        self.assertLess(time.monotonic() - started, support.TIMEOUT)
        [message] = failed
        self.assertIn('not acknowledged: the primary is fenced: switchover',
                      message)
        self.assertRaises(Fenced, store, primary)

    def test_a_stale_primary_is_refused_and_fences_itself(self):
        primary, db = self.primary_db(epoch=3)
        self.commit(db, 3)
        secondary = self.secondary(primary.address, epoch=5)
        wait(lambda: primary.fenced is not None, timeout=support.TIMEOUT)
        self.assertRegex(
            primary.fenced,
            r'^secondary 127\.0\.0\.1:\d+ knows epoch 5, newer than 3$')
        self.assertRaises(Fenced, self.commit, db)
        wait(lambda: any('stale primary' in m
                         for m in self.logs.messages()),
             timeout=support.TIMEOUT)
        errors = self.logs.messages()
        self.assertIn(f'primary {self.show(primary.address)} has epoch 3, '
                      f'older than epoch 5: a stale primary; refusing it',
                      errors)
        self.assertEqual(secondary.lastTransaction(), z64)  # nothing taken
        self.assertEqual(secondary.epoch, 5)

    def test_the_secondary_learns_newer_epochs(self):
        primary, db = self.primary_db(epoch=7)
        secondary = self.secondary(primary.address, epoch=2)
        self.commit(db)
        self.caught_up(secondary, primary)
        self.assertEqual(secondary.epoch, 7)
        self.assertEqual(secondary.replication_status()['epoch'], 7)
        self.assertEqual(primary.epoch, 7)
        self.assertNoErrors()

    def test_a_newer_epoch_drops_an_older_primary(self):
        primary, db = self.primary_db(epoch=1)
        secondary = self.secondary(primary.address, reconnect_delay=60)
        self.commit(db)
        self.caught_up(secondary, primary)
        secondary.epoch = 2  # say, from ZooKeeper: another one was elected
        wait(lambda: not secondary.replication_status()['connected'],
             timeout=support.TIMEOUT)
        self.commit(db)
        self.assertNotEqual(secondary.lastTransaction(),
                            primary.lastTransaction())
        self.assertIn(f'primary {self.show(primary.address)} has epoch 1, '
                      f'older than epoch 2: a stale primary; refusing it',
                      self.logs.messages())
        self.assertRaises(ValueError, setattr, secondary, 'epoch', -1)

    def test_wait_acknowledged(self):
        primary, db = self.primary_db()  # asynchronous
        self.commit(db)
        self.assertIsNone(primary.acknowledged())  # nobody connected
        self.assertFalse(primary.wait_acknowledged(
            primary.lastTransaction(), 0.1))
        secondary = self.secondary(primary.address)
        self.commit(db)
        tid = primary.lastTransaction()
        self.assertTrue(primary.wait_acknowledged(tid, support.TIMEOUT))
        self.assertEqual(primary.acknowledged(), tid)
        self.assertEqual(secondary.lastTransaction(), tid)
        # How many: all connected by default (asynchronous), or a count.
        self.assertEqual(primary.acknowledged(count=1), tid)
        self.assertIsNone(primary.acknowledged(count=2))
        other = self.secondary(primary.address, 'other.fs')
        self.assertFalse(primary.wait_acknowledged(tid, 0.01, count=3))
        self.assertTrue(primary.wait_acknowledged(tid, support.TIMEOUT,
                                                  count=2))
        self.assertEqual(other.lastTransaction(), tid)

    def test_bad_acknowledgements_close_the_connection(self):
        primary, db = self.primary_db(epoch=4)
        self.commit(db)
        for ack in (primary.lastTransaction(), b'\xff' * 8, b'short'):
            raw = RawSecondary(primary.address)
            self.addCleanup(raw.close)
            raw.send(protocol.SYNC_PROTOCOL)
            raw.send(z64)
            raw.send((1).to_bytes(8, 'big'))
            self.assertEqual(raw.message(), (4).to_bytes(8, 'big'))
            kind, _ = protocol.Decoder().loads(raw.message())
            self.assertEqual(kind, 'T')
            if ack == primary.lastTransaction():
                ack = z64  # not after the start
            raw.send(ack)
            self.assertTrue(raw.closed_by_peer())
        errors = self.logs.messages()
        self.assertEqual(len(errors), 3, errors)
        self.assertIn('acknowledgement of', errors[0])
        self.assertIn('acknowledgement of', errors[1])
        self.assertIn('bad acknowledgement', errors[2])
        self.assertIsNone(primary.fenced)

    def test_a_refused_zrs22_secondary_gets_the_epoch_first(self):
        primary, db = self.primary_db(epoch=4)
        raw = RawSecondary(primary.address)
        self.addCleanup(raw.close)
        raw.send(protocol.SYNC_PROTOCOL)
        raw.send(b'\x7f' + b'\xff' * 7)  # TidTooHigh
        raw.send(z64)
        self.assertEqual(raw.message(), (4).to_bytes(8, 'big'))
        self.assertTrue(raw.closed_by_peer())
        [error] = self.logs.messages()
        self.assertIn('TidTooHigh', error)

    def test_closing_fails_a_waiting_commit(self):
        primary = self.primary(synchronous=1,
                               synchronous_timeout=support.TIMEOUT)
        committer, failed = self.waiting_commit(primary)
        primary.close()
        committer.join(support.TIMEOUT)
        self.assertFalse(committer.is_alive())
        self.assertIn('the primary is closed', failed[0])

    def test_an_older_secondary_epoch_is_served(self):
        primary, db = self.primary_db(epoch=4)
        self.commit(db)
        raw = RawSecondary(primary.address)
        self.addCleanup(raw.close)
        raw.send(protocol.SYNC_PROTOCOL)
        raw.send(z64)
        raw.send(z64)  # epoch 0
        self.assertEqual(raw.message(), (4).to_bytes(8, 'big'))
        self.assertIsNotNone(raw.message())
        self.assertIsNone(primary.fenced)

    def test_close_without_closing_the_storage(self):
        """A node switches roles over one FileStorage."""
        primary, db = self.primary_db()
        self.commit(db, 3)
        storage = ZODB.FileStorage.FileStorage(self.path('node.fs'))
        secondary = zc.zrs.Secondary(storage, primary.address,
                                     reconnect_delay=0.1)
        self.caught_up(secondary, primary)
        secondary.close(close_storage=False)
        promoted = zc.zrs.Primary(storage, ('127.0.0.1', 0), epoch=1)
        self.addCleanup(promoted.close)
        new_db = ZODB.DB(promoted)
        self.addCleanup(new_db.close)
        self.commit(new_db)
        self.assertGreater(storage.lastTransaction(),
                           primary.lastTransaction())
        # And back: the primary steps down, the storage stays open.
        promoted.close(close_storage=False)
        tid = store(storage)  # still open
        zc.zrs.Secondary(storage, None).close()
        reopened = ZODB.FileStorage.FileStorage(self.path('node.fs'))
        self.assertEqual(reopened.lastTransaction(), tid)  # was closed
        reopened.close()
        self.assertNoErrors()

    def test_bad_arguments(self):
        for kw, message in (
                (dict(synchronous=-1), 'synchronous must be a number'),
                (dict(synchronous_timeout=0), 'must be more than 0'),
                (dict(synchronous_fallback='maybe'),
                 "must be fail or async, not 'maybe'"),
                (dict(epoch=-2), 'epoch must be an integer')):
            with self.assertRaisesRegex(ValueError, message):
                zc.zrs.Primary(self.path('bad.fs'), ('127.0.0.1', 0), **kw)
            self.assertFalse(os.path.exists(self.path('bad.fs')))

    def show(self, address):
        return '%s:%s' % address


class ZEOTests(TempDirTest):
    """A ZEO server whose storage is a synchronous primary."""

    def test_zeo_clients(self):
        import ZEO
        port = support.free_port()
        address, stop = ZEO.server(storage_conf=f'''
            %import zc.zrs
            <zrs 1>
              replicate-to 127.0.0.1:{port}
              synchronous 1
              synchronous-timeout 0.5
              <filestorage>
                path {self.path('primary.fs')}
              </filestorage>
            </zrs>''')
        self.addCleanup(stop)
        secondary = self.secondary(('127.0.0.1', port))
        writer, reader = ZEO.DB(address), ZEO.DB(address)
        self.addCleanup(writer.close)
        self.addCleanup(reader.close)
        with writer.transaction() as conn:
            conn.root()['x'] = 1
        # The commit returned: the secondary has it.
        self.assertEqual(secondary.lastTransaction(),
                         writer.lastTransaction())
        reading = reader.open()
        wait(lambda: (reading.sync() or reading.root().get('x')) == 1,
             timeout=support.TIMEOUT)
        secondary.close()
        with self.assertRaisesRegex(Exception, 'did not acknowledge'):
            with writer.transaction() as conn:
                conn.root()['x'] = 2
        with self.assertRaisesRegex(Exception, 'to be in sync again'):
            with reader.transaction() as conn:
                conn.root()['y'] = 1
        secondary = self.secondary(('127.0.0.1', port), 'secondary2.fs')
        wait(lambda: self.committed(reader, 'y'), timeout=support.TIMEOUT)
        self.assertEqual(secondary.lastTransaction(),
                         reader.lastTransaction())
        reading.close()

    def committed(self, db, key):
        try:
            with db.transaction() as conn:
                conn.root()[key] = 1
        except Exception:
            return False
        return True


class SecondaryProcessTests(TempDirTest):
    """A secondary of its own process: stopped (SIGSTOP) or killed while a
    synchronous primary waits for its acknowledgements."""

    def start_secondary(self, port):
        process = support.spawn('-m', 'zc.zrs.tests.secondary_process',
                                self.path('secondary.fs'), str(port))
        self.addCleanup(process.wait, support.TIMEOUT)
        self.addCleanup(process.kill)
        self.addCleanup(process.stdout.close)
        self.addCleanup(process.stderr.close)
        self.addCleanup(process.stdin.close)
        self.addCleanup(self.resume, process)
        self.assertEqual(process.stdout.readline(), 'ready\n')
        return process

    def synchronous_primary(self):
        """A synchronous primary, its secondary process, a DB."""
        primary = self.primary(synchronous=1, synchronous_timeout=1)
        secondary = self.start_secondary(primary.address[1])
        wait(lambda: primary.acknowledged() is not None,
             timeout=support.TIMEOUT)
        db = ZODB.DB(primary)
        self.addCleanup(db.close)
        return primary, db, secondary

    def resume(self, process):
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)

    def test_a_stopped_secondary(self):
        primary, db, secondary = self.synchronous_primary()
        self.commit(db, 5)
        support.stop_process(secondary.pid)
        self.assertRaises(NotAcknowledged, self.commit, db)
        self.assertRaises(NotAcknowledged, self.commit, db)  # at tpc_begin
        os.kill(secondary.pid, signal.SIGCONT)
        wait(lambda: primary.acknowledged() == primary.lastTransaction(),
             timeout=support.TIMEOUT)
        self.commit(db, 5)
        secondary.stdin.write('last\n')
        secondary.stdin.flush()
        self.assertEqual(secondary.stdout.readline().strip(),
                         primary.lastTransaction().hex())

    def test_a_secondary_killed_while_commits_wait(self):
        primary, db, secondary = self.synchronous_primary()
        acknowledged = []
        refused = []
        stop = threading.Event()

        def commit():
            conn = db.open()
            try:
                for i in range(10 ** 6):
                    if stop.is_set():
                        break
                    conn.root()[f'k{i % 10}'] = os.urandom(1000)
                    try:
                        transaction.commit()
                    except NotAcknowledged:
                        transaction.abort()
                        refused.append(i)
                        break
                    acknowledged.append(primary.lastTransaction())
            finally:
                transaction.abort()
                conn.close()

        committer = threading.Thread(target=commit)
        committer.start()
        self.addCleanup(committer.join, support.TIMEOUT)
        self.addCleanup(stop.set)
        wait(lambda: len(acknowledged) >= 50, timeout=support.TIMEOUT)
        secondary.kill()
        secondary.wait(support.TIMEOUT)
        committer.join(support.TIMEOUT)
        self.assertFalse(committer.is_alive())
        self.assertEqual(len(refused), 1)
        # Every commit that returned is in the dead secondary's file.
        tids = {t[0][0] for t in support.transactions(
            self.path('secondary.fs'))}
        self.assertFalse(set(acknowledged) - tids)
        support.assert_prefix(self, self.path('primary.fs'),
                              self.path('secondary.fs'))
        # A new secondary process on the same file: in sync again.
        self.start_secondary(primary.address[1])
        wait(lambda: primary.acknowledged() == primary.lastTransaction(),
             timeout=support.TIMEOUT)
        self.commit(db)


class ConfigurationTests(TempDirTest):

    def open(self, keys, name='Data.fs'):
        storage = ZODB.config.storageFromString(f'''
            %import zc.zrs
            <zrs>
              {keys}
              <filestorage>
                path {self.path(name)}
              </filestorage>
            </zrs>''')
        self.addCleanup(storage.close)
        return storage

    def test_keys(self):
        primary = self.open('replicate-to 127.0.0.1:0\nsynchronous 1\n'
                            'synchronous-timeout 0.5\n'
                            'synchronous-fallback async')
        self.assertEqual(primary.synchronous, 1)
        self.assertEqual(primary.synchronous_timeout, 0.5)
        self.assertEqual(primary.synchronous_fallback, 'async')
        primary = self.open('replicate-to 127.0.0.1:0', 'async.fs')
        self.assertEqual(primary.synchronous, 0)

    def assertRefused(self, keys, *words):
        with self.assertRaises(ZConfig.ConfigurationError) as caught:
            self.open(keys)
        message = str(caught.exception)
        self.assertNotIn('\n', message)
        for word in words:
            self.assertIn(word, message)

    def test_bad_keys(self):
        to = 'replicate-to 127.0.0.1:0'
        self.assertRefused(f'{to}\nsynchronous -1', 'synchronous must be')
        self.assertRefused(f'{to}\nsynchronous 1\nsynchronous-timeout 0',
                           'synchronous-timeout must be more than 0')
        self.assertRefused(f'{to}\nsynchronous-fallback maybe',
                           "synchronous-fallback must be fail or async, "
                           "not 'maybe'")
        self.assertRefused('replicate-from 127.0.0.1:1\nsynchronous 1',
                           'synchronous', 'needs replicate-to')
        self.assertRefused(f'{to}\nreplicate-from 127.0.0.1:1\n'
                           f'synchronous 1', 'relay', 'cannot be synchronous')


class AcknowledgementSendingTests(TempDirTest):

    def test_the_syncing_thread_sends_acknowledgements_itself(self):
        # Over TCP, the acknowledgement goes out from the syncing thread
        # once its fsync returned: even while the loop is busy.
        source = ZODB.DB(ZODB.FileStorage.FileStorage(self.path('src.fs')))
        self.addCleanup(source.close)
        with source.transaction() as conn:
            conn.root()['x'] = 1
        tid = source.storage.lastTransaction()
        encoder = protocol.Encoder(z64)
        for txn in source.storage.iterator():
            list(encoder.transaction(txn, [
                type('R', (), dict(oid=r.oid, tid=r.tid, data=r.data,
                                   data_txn=r.data_txn))
                for r in txn]))
        listener = socket.create_server(('127.0.0.1', 0))
        listener.settimeout(support.TIMEOUT)
        self.addCleanup(listener.close)
        fsync_may_go = threading.Event()
        loop_may_go = threading.Event()
        self.addCleanup(loop_may_go.set)
        self.addCleanup(fsync_may_go.set)
        real_fsync = os.fsync

        def fsync(fd):
            fsync_may_go.wait(support.TIMEOUT)
            return real_fsync(fd)

        with unittest.mock.patch.object(groupsync.os, 'fsync', fsync):
            secondary = self.secondary(listener.getsockname())
            primary = RawSecondary.__new__(RawSecondary)  # its framing
            primary.sock, _ = listener.accept()
            primary.sock.settimeout(support.TIMEOUT)
            primary.buffer = b''
            self.assertEqual(primary.message(), protocol.SYNC_PROTOCOL)
            self.assertEqual(primary.message(), z64)
            primary.message()  # the secondary's epoch
            primary.sock.sendall(protocol.epoch_message(1)
                                 + encoder.take())
            wait(lambda: secondary.lastTransaction() == tid,
                 timeout=support.TIMEOUT)
            blocked = threading.Event()
            unblocked = threading.Event()

            def block():
                blocked.set()
                loop_may_go.wait(support.TIMEOUT)
                unblocked.set()
            zc.zrs.loop.soon(zc.zrs.loop.get_loop(), block)
            blocked.wait(support.TIMEOUT)
            fsync_may_go.set()
            primary.sock.settimeout(5)  # far less than the loop's block
            self.assertEqual(primary.message(), tid)
            self.assertFalse(unblocked.is_set())
            loop_may_go.set()
            primary.sock.close()
