"""Many Partials in flight on the real reactor, against a concurrent writer
thread and a small connection pool."""
import threading
import time

import ZODB.POSException

from twisted.internet import defer
from twisted.internet import task

import zc.twist
from zc.twist.tests import support
from zc.twist.tests.support import Counter


async def add_slowly(counter, amount, seconds):
    """Holds its connection across a real wait, as coroutines do."""
    counter.value += amount
    await task.deferLater(support.global_reactor(), seconds)
    return counter.value


class BusyReactorTests(support.TestCase):

    layer = support.ReactorLayer

    def test_everything_is_committed_exactly_once(self):
        db = self.database(pool_size=3)
        counter = self.counter(db)
        writes = 30

        def writer():
            # Commits every few milliseconds while the Partials run, and
            # retries its own conflicts with them.
            written = 0
            while written < writes:
                try:
                    support.commit_elsewhere(db, counter._p_oid,
                                             Counter.add, 1000)
                except ZODB.POSException.ConflictError:
                    continue
                written += 1
                time.sleep(0.005)

        partials = []

        def start_all():
            deferreds = []
            for i in range(10):
                slow = zc.twist.Partial(add_slowly, counter, 1, 0.01)
                quick = zc.twist.Partial(counter.add, 1)
                for partial in (slow, quick):
                    partial.max_transaction_errors = None
                    partials.append(partial)
                    deferreds.append(partial())
            return defer.gatherResults(deferreds)

        thread = threading.Thread(target=writer, name='writer')
        thread.start()
        try:
            results = support.in_reactor(start_all)
        finally:
            thread.join(support.TIMEOUT)
        self.assertEqual(len(results), 20)
        self.assertEqual(self.value(db), 20 + 1000 * writes)
        # the writer and the coroutines did get in each other's way
        self.assertGreater(sum(p.transaction_error_count
                               for p in partials), 0)
        # and every connection went back to the pool
        self.assertEqual(zc.twist.availableConnectionCount(db), 2)
