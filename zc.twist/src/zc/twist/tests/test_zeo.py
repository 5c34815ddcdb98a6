"""Partials with ZEO clients whose real server process goes away and comes
back: driven by a Clock (the documented backoff sequence), and by the real
reactor in real time."""
import logging

import ZEO.ClientStorage
import ZEO.Exceptions
import ZODB
from twisted.internet import defer
from twisted.internet import task
from zope.testing.wait import wait

import zc.twist
from zc.twist.tests import support
from zc.twist.tests.support import Counter
from zc.twist.tests.support import ZEOServer
from zc.twist.tests.support import result_of

#: How long a disconnected client storage waits for its server before it
#: raises ClientDisconnected; it blocks the calling thread meanwhile.
WAIT_TIMEOUT = 0.1


class ZEOTestCase(support.TestCase):

    def setUp(self):
        super().setUp()
        # ZEO logs its disconnections, which these tests cause on purpose
        self.addCleanup(support.LogRecords('ZEO', logging.WARNING).uninstall)
        self.server = ZEOServer(self.path('zeo.fs')).start()
        self.addCleanup(self.server.stop)
        self.db = self.client()
        with self.db.transaction() as connection:
            connection.root.counter = Counter()

    def client(self):
        db = ZODB.DB(ZEO.ClientStorage.ClientStorage(
            self.server.address, wait_timeout=WAIT_TIMEOUT))
        self.addCleanup(db.close)
        return db

    def go_away(self, *databases):
        self.server.stop()
        for db in databases or [self.db]:
            wait(lambda: not db.storage.is_connected(),
                 timeout=support.TIMEOUT)

    def come_back(self, *databases):
        self.server.start()
        for db in databases or [self.db]:
            wait(db.storage.is_connected, timeout=support.TIMEOUT)


class ClockTests(ZEOTestCase):

    def test_the_documented_backoff_sequence(self):
        clock = task.Clock()
        partial = zc.twist.Partial(self.counter(self.db).add, 1)
        partial.setReactor(clock)
        self.go_away()
        with self.assertLogs('zc.twist', logging.WARNING) as logs:
            deferred = partial()
            waits = []
            for i in range(14):
                self.assertFalse(deferred.called)
                [retry] = clock.getDelayedCalls()
                waits.append(retry.getTime() - clock.seconds())
                self.assertEqual(partial.backoff, waits[-1])
                clock.advance(waits[-1])
        self.assertEqual(waits, [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55,
                                 60, 60, 60])
        self.assertEqual(len(logs.records), 15)
        self.assertIn('database disconnected, retrying in 60 seconds',
                      logs.records[-1].getMessage())
        self.come_back()
        [retry] = clock.getDelayedCalls()
        clock.advance(60)
        self.assertEqual(result_of(deferred), 1)
        self.assertEqual(partial.attempt_count, 16)
        # disconnections are not transaction errors, however many
        self.assertEqual(partial.transaction_error_count, 0)
        self.assertEqual(self.value(self.db), 1)

    def test_tunables_per_instance(self):
        clock = task.Clock()
        partial = zc.twist.Partial(self.counter(self.db).add, 1)
        partial.setReactor(clock)
        partial.initial_backoff = 1
        partial.backoff_increment = 2
        partial.max_backoff = 4
        self.go_away()
        deferred = partial()
        waits = []
        for i in range(4):
            [retry] = clock.getDelayedCalls()
            waits.append(retry.getTime() - clock.seconds())
            clock.advance(waits[-1])
        self.assertEqual(waits, [1, 3, 4, 4])
        deferred.cancel()
        self.assertTrue(result_of(deferred).check(defer.CancelledError))
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_disconnected_while_loading(self):
        # A second client that never loaded the counter: loading it needs
        # the server.
        other = self.client()
        connection = self.open(other)
        counter = connection.root()['counter']   # a ghost, not loaded
        self.assertEqual(counter._p_status, 'ghost')
        clock = task.Clock()
        partial = zc.twist.Partial(counter.add, 1).setReactor(clock)
        self.go_away(self.db, other)
        with self.assertLogs('zc.twist', logging.WARNING):
            deferred = partial()
        self.assertEqual(partial.backoff, 5)
        self.come_back(self.db, other)
        clock.advance(5)
        self.assertEqual(result_of(deferred), 1)


class ReactorTests(ZEOTestCase):

    layer = support.ReactorLayer

    def test_recovers_in_real_time(self):
        partial = zc.twist.Partial(self.counter(self.db).add, 1)
        partial.initial_backoff = partial.backoff_increment = 0.2
        self.assertEqual(support.in_reactor(partial), 1)
        self.go_away()
        with self.assertLogs('zc.twist', logging.WARNING) as logs:
            future = support.call_in_reactor(partial)
            wait(lambda: len(logs.records) >= 2, timeout=support.TIMEOUT)
            self.assertFalse(future.done())
            self.come_back()
            self.assertEqual(future.result(support.TIMEOUT), 2)
        self.assertGreaterEqual(partial.attempt_count, 3)
        self.assertEqual(self.value(self.db), 2)

    def test_conflicts_between_two_clients(self):
        other = self.client()
        counter = self.counter(self.db)

        def add_while_the_other_client_writes(counter, amount):
            counter.value += amount
            if counter.value < 300:
                support.commit_elsewhere(other, counter._p_oid,
                                         Counter.add, 100)
            return counter.value

        partial = zc.twist.Partial(add_while_the_other_client_writes,
                                   counter, 1)
        self.assertEqual(support.in_reactor(partial), 301)
        self.assertEqual(partial.transaction_error_count, 3)
        self.assertEqual(self.value(self.db), 301)
        # the other client sees it once the server's invalidation arrives
        wait(lambda: self.value(other) == 301, timeout=support.TIMEOUT)
