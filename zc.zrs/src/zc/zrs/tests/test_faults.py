"""Faults: in every case the secondary holds only whole committed
transactions, in order, resumes by itself, and finally equals the primary
(same transactions, same file bytes).

These tests run in their own layer (``bin/test --layer Fault``) so they can
be repeated on their own.
"""
import logging
import os
import signal
import threading
import time

from ZODB.serialize import referencesf
from zope.testing.wait import wait

import zc.zrs
import zc.zrs.loop
from zc.zrs.tests import proxy
from zc.zrs.tests import support
from zc.zrs.tests.test_replication import TempDirTest

MARKER = b'<<zc.zrs fault marker>>'


class FaultLayer:
    """Marks the fault tests (nothing to share: each test builds its
    primary, secondary and faults)."""

    @classmethod
    def setUp(cls):
        pass

    @classmethod
    def tearDown(cls):
        zc.zrs.loop.stop()


class FaultTests(TempDirTest):

    layer = FaultLayer

    def in_process_primary(self, transactions=0, size=100):
        primary, db = self.primary_db()
        self.commit(db, transactions, size)
        return primary, db

    def commit_marked(self, db, count=3):
        """Transactions whose records hold MARKER followed by data."""
        for i in range(count):
            with db.transaction() as conn:
                conn.root()[f'marked{i}'] = MARKER + os.urandom(50000)

    def test_sigkill_primary_during_write_storm(self):
        port = support.free_port()
        path = self.path('primary.fs')

        def start(*args):
            process = support.spawn('-m', 'zc.zrs.tests.primary_process',
                                    path, str(port), *args)
            self.addCleanup(process.wait, support.TIMEOUT)
            self.addCleanup(process.kill)
            self.addCleanup(process.stdout.close)
            self.addCleanup(process.stderr.close)
            self.addCleanup(process.stdin.close)
            self.assertEqual(process.stdout.readline(), 'ready\n',
                             process.stderr.read() if process.poll() else '')
            return process

        storm = start('storm')
        secondary = self.secondary(('127.0.0.1', port))
        wait(lambda: os.path.getsize(self.path('secondary.fs')) > 500000,
             timeout=support.TIMEOUT)
        storm.send_signal(signal.SIGKILL)
        storm.wait(support.TIMEOUT)
        # Whatever arrived is whole, committed and in order.
        wait(lambda: not secondary._replicator.pending,
             timeout=support.TIMEOUT)
        support.assert_prefix(self, path, self.path('secondary.fs'))

        primary = start()
        primary.stdin.write('commit 5\nlast\n')
        primary.stdin.flush()
        self.assertEqual(primary.stdout.readline(), 'done\n')
        last = bytes.fromhex(primary.stdout.readline().strip())
        wait(lambda: secondary.lastTransaction() == last,
             timeout=support.TIMEOUT)
        primary.stdin.write('quit\n')
        primary.stdin.close()
        self.assertEqual(primary.wait(support.TIMEOUT), 0)
        secondary.close()
        support.assert_replica(self, path, self.path('secondary.fs'))
        self.assertNoErrors()

    def through_proxy(self, fault):
        primary, db = self.in_process_primary(5)
        middle = proxy.Proxy(primary.address, fault)
        self.addCleanup(middle.close)
        self.commit_marked(db)
        secondary = self.secondary(middle.address)
        wait(middle.faulted.is_set, timeout=support.TIMEOUT)
        self.commit(db, 5)
        self.caught_up(secondary, primary)
        self.assertGreaterEqual(middle.connections, 2)
        secondary.close()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        return primary

    def test_connection_dropped_mid_transaction(self):
        seen = []

        def watch(data):
            # Record what the secondary held when the cut happened.
            result = cut(data)
            if result[1]:
                seen.append(True)
            return result

        cut = proxy.cut_after(MARKER)
        self.through_proxy(watch)
        self.assertEqual(seen, [True])
        warnings = self.logs.messages(logging.WARNING)
        self.assertTrue(any('lost connection' in m for m in warnings),
                        warnings)
        self.assertNoErrors()

    def test_corrupted_bytes_are_caught_by_the_checksum(self):
        self.through_proxy(proxy.flip_after(MARKER))
        criticals = self.logs.messages(logging.CRITICAL)
        self.assertEqual(len(criticals), 1, criticals)
        self.assertIn('Input data error', criticals[0])
        self.assertIn('checksum mismatch', criticals[0])
        self.logs.records.clear()  # the one expected error

    def test_secondary_restarted_while_behind(self):
        primary, db = self.in_process_primary(300, size=20000)
        secondary = self.secondary(primary.address)
        wait(lambda: len(secondary) > 0, timeout=support.TIMEOUT)
        secondary.close()
        held = len(secondary)
        self.assertLess(held, 301)
        support.assert_prefix(self, self.path('primary.fs'),
                              self.path('secondary.fs'))
        self.commit(db, 10)
        secondary = self.secondary(primary.address)
        self.caught_up(secondary, primary)
        secondary.close()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertNoErrors()

    def test_primary_packed_while_a_secondary_is_connected(self):
        primary, db = self.in_process_primary(200, size=2000)
        secondary = self.secondary(primary.address)
        self.caught_up(secondary, primary)
        # Commits go on during the pack, all after the pack time (so the
        # result of packing does not depend on how they interleave).
        pack_time = time.time()
        time.sleep(0.01)
        writer = threading.Thread(target=self.commit, args=(db, 100))
        writer.start()
        primary.pack(pack_time, referencesf)
        writer.join(support.TIMEOUT)
        self.commit(db, 5)  # after the pack: read from the new file
        self.caught_up(secondary, primary)
        # The secondary keeps the history the primary packed away; packed
        # the same way, it is the same database again.
        secondary.pack(pack_time, referencesf)
        secondary.close()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertNoErrors()
