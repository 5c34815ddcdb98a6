"""Group commit on secondaries: one fsync per batch while catching up, and
every transaction synced once the secondary is idle."""
import os
import sys
import threading
import unittest.mock

import ZODB.FileStorage
from zope.testing.wait import wait

import zc.zrs
from zc.zrs import groupsync
from zc.zrs.tests import support
from zc.zrs.tests.test_replication import TempDirTest


# The module (its name is shadowed by the class in ZODB.FileStorage).
filestorage_module = sys.modules['ZODB.FileStorage.FileStorage']


class Counter:

    def __init__(self, real):
        self.real = real
        self.calls = 0

    def __call__(self, fd):
        self.calls += 1
        return self.real(fd)


class GroupSyncTests(TempDirTest):

    def test_catching_up_syncs_per_batch_and_when_idle(self):
        primary = self.primary()
        db = ZODB.DB(primary)
        self.addCleanup(db.close)
        self.commit(db, 300)
        per_transaction = Counter(os.fsync)
        grouped = Counter(os.fsync)
        with unittest.mock.patch.object(filestorage_module, 'fsync',
                                        per_transaction), \
                unittest.mock.patch.object(groupsync.os, 'fsync', grouped):
            secondary = self.secondary(primary.address)
            self.caught_up(secondary, primary)
            # Acknowledged: the fsync covering the last one has returned
            # (any later sync finds nothing to write).
            self.durable(primary)
            self.assertGreater(grouped.calls, 0)
            self.assertEqual(per_transaction.calls, 0)
            self.assertLess(grouped.calls, 100)
            before = grouped.calls
            self.commit(db)  # an isolated commit is synced at once
            self.durable(primary)
            self.assertEqual(grouped.calls, before + 1)
            secondary.close()
        self.assertNoErrors()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))

    def durable(self, primary):
        wait(lambda: primary.acknowledged() == primary.lastTransaction(),
             timeout=support.TIMEOUT)

    def test_only_plain_filestorages_defer(self):
        class Custom(ZODB.FileStorage.FileStorage):
            pass
        custom = Custom(self.path('custom.fs'))
        self.addCleanup(custom.close)
        self.assertFalse(groupsync.GroupSync(custom).deferring)
        plain = ZODB.FileStorage.FileStorage(self.path('plain.fs'))
        self.addCleanup(plain.close)
        sync = groupsync.GroupSync(plain)
        self.assertTrue(sync.deferring)
        sync.close()
        self.assertNotIn('_finish_finish', vars(plain))
        relay = zc.zrs.Primary(ZODB.FileStorage.FileStorage(
            self.path('relay.fs')), ('127.0.0.1', 0))
        self.addCleanup(relay.close)
        self.assertFalse(groupsync.GroupSync(relay).deferring)

    def test_the_applier_goes_on_while_its_fsync_runs(self):
        # Whatever waits for durability runs only after the fsync that
        # covers it returned; meanwhile transactions go on being applied.
        storage = ZODB.FileStorage.FileStorage(self.path('plain.fs'))
        self.addCleanup(storage.close)
        db = ZODB.DB(storage)
        self.addCleanup(db.close)
        release = threading.Event()
        started = threading.Event()
        fsync = os.fsync

        def slow_fsync(fd):
            started.set()
            release.wait(support.TIMEOUT)
            fsync(fd)

        with unittest.mock.patch.object(groupsync.os, 'fsync', slow_fsync):
            sync = groupsync.GroupSync(storage)
            self.commit(db)
            self.assertTrue(sync.applied(more_waiting=False))
            durable = []
            sync.sync(lambda: durable.append(1))
            self.assertTrue(started.wait(support.TIMEOUT))
            self.commit(db)  # not held up by the fsync under way
            sync.sync(lambda: durable.append(2))
            self.assertEqual(durable, [])
            release.set()
            wait(lambda: durable == [1, 2], timeout=support.TIMEOUT)
            sync.close()
        self.assertNotIn('_finish_finish', vars(storage))
