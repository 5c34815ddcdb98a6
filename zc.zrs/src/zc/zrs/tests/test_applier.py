"""The applier: a little data fed while nothing waits is applied by the
thread that fed it (the loop); the rest by the applier's own thread, in
order; acknowledgements only once durable."""
import os
import tempfile
import threading
import unittest

import transaction
import ZODB
import ZODB.FileStorage
import zope.interface
from persistent.mapping import PersistentMapping
from ZODB.utils import z64
from zope.testing.wait import wait

from zc.zrs import applier as zrsapplier
from zc.zrs import filescan
from zc.zrs import protocol
from zc.zrs.interfaces import IAppliedConnection


@zope.interface.implementer(IAppliedConnection)
class Connection:
    """What the applier may use of a connection; notes what it is told."""

    address = 'primary'
    acknowledges = True

    def __init__(self, start_tid):
        self.start_tid = start_tid
        self.paused = self.failed = False
        self.acknowledged = []

    def pause(self):
        self.paused = True

    def resume(self):
        self.paused = False

    def fail(self):
        self.failed = True

    def acknowledge(self, tid):
        self.acknowledged.append(tid)


class SubclassedFileStorage(ZODB.FileStorage.FileStorage):
    """Not a plain FileStorage: it keeps its own fsync in tpc_finish."""


class ApplierTests(unittest.TestCase):

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.directory = tmp.name
        source = os.path.join(tmp.name, 'source.fs')
        db = ZODB.DB(ZODB.FileStorage.FileStorage(source))
        with db.transaction() as conn:
            conn.root()['big'] = PersistentMapping(
                data=os.urandom(2 * zrsapplier.AT_ONCE_BYTES))
        for i in range(3):
            with db.transaction() as conn:
                conn.root()['small'] = i
        db.close()
        # Each transaction's bytes as the primary sends them, and its tid,
        # after the root's creation (the start of the stream).
        self.sent = []
        data_file = filescan.DataFile(source)
        data_file.limit = os.path.getsize(source)
        root = data_file.transaction_at(filescan.FILE_START)
        self.start_tid = root.tid
        encoder = protocol.Encoder(root.tid)
        pos = data_file.next_position(root)
        while pos < data_file.limit:
            txn = data_file.transaction_at(pos)
            list(encoder.transaction(txn, list(data_file.records(txn))))
            self.sent.append((txn.tid, encoder.take()))
            pos = data_file.next_position(txn)
        data_file.close()
        self.invalidated = []  # (tid, name of the applying thread)

    def applier(self, storage_class=ZODB.FileStorage.FileStorage,
                invalidate=None):
        storage = storage_class(os.path.join(self.directory, 'replica.fs'))

        def record(tid, oids):
            self.invalidated.append((tid, threading.current_thread().name))
            if invalidate is not None:
                invalidate()

        applier = zrsapplier.Applier(storage, record, True, False)
        applier.start()

        def close():
            self.assertTrue(applier.close(10))
            storage.close()
        self.addCleanup(close)
        return applier

    def test_a_small_transaction_fed_while_idle_is_applied_at_once(self):
        applier = self.applier()
        connection = Connection(self.start_tid)
        for tid, data in self.sent[1:]:
            self.assertLessEqual(len(data), zrsapplier.AT_ONCE_BYTES)
        # The first (big) one goes to the thread; wait until it is done.
        applier.feed(connection, self.sent[0][1])
        wait(lambda: applier.settled, timeout=10)
        for tid, data in self.sent[1:]:
            applier.feed(connection, data)
            # Applied before feed returned, by the thread that fed it.
            self.assertEqual(applier.storage.lastTransaction(), tid)
            self.assertEqual(self.invalidated[-1],
                             (tid, threading.current_thread().name))
            # Acknowledged once the syncing thread's fsync covers it.
            wait(lambda: connection.acknowledged[-1:] == [tid], timeout=10)
        self.assertEqual(self.invalidated[0][1],
                         applier._thread.name)  # the big one
        self.assertEqual(connection.acknowledged,
                         [tid for tid, _ in self.sent])

    def test_data_fed_while_earlier_data_waits_goes_to_the_thread(self):
        release = threading.Event()
        self.addCleanup(release.set)
        applier = self.applier(invalidate=lambda: release.wait(10))
        connection = Connection(self.start_tid)
        applier.feed(connection, self.sent[0][1])  # big: to the thread
        wait(lambda: self.invalidated, timeout=10)  # held after applying
        for _, data in self.sent[1:]:
            applier.feed(connection, data)
        # Nothing of the small ones was applied by this thread, out of
        # order: they wait their turn in the queue.
        self.assertEqual(applier.storage.lastTransaction(), self.sent[0][0])
        self.assertEqual(applier.pending, len(self.sent))
        release.set()
        wait(lambda: applier.settled, timeout=10)
        self.assertEqual(self.invalidated,
                         [(tid, applier._thread.name)
                          for tid, _ in self.sent])
        wait(lambda: connection.acknowledged[-1:] == [self.sent[-1][0]],
             timeout=10)

    def test_a_storage_fsyncing_by_itself_is_never_written_by_the_loop(self):
        # The loop never waits for a disk: without group commit, even a
        # small transaction goes to the applier's thread.
        applier = self.applier(SubclassedFileStorage)
        connection = Connection(self.start_tid)
        for _, data in self.sent:
            applier.feed(connection, data)
        wait(lambda: applier.settled, timeout=10)
        self.assertEqual(self.invalidated,
                         [(tid, applier._thread.name)
                          for tid, _ in self.sent])
        self.assertEqual(connection.acknowledged[-1], self.sent[-1][0])

    def test_a_bad_small_transaction_fails_the_connection_at_once(self):
        applier = self.applier()
        connection = Connection(self.start_tid)
        tid, data = self.sent[1]
        damaged = data[:-20] + bytes(20)  # its checksum message
        applier.feed(connection, damaged)
        self.assertTrue(connection.failed)  # before feed returned
        self.assertEqual(applier.storage.lastTransaction(), z64)  # empty
        wait(lambda: applier.settled, timeout=10)
        self.assertEqual(connection.acknowledged, [])


if __name__ == '__main__':
    unittest.main()
