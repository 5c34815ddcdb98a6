"""Partial against real databases, with a Clock as the reactor: every retry
and wait is driven, and checked, step by step."""
import logging

import transaction
import transaction.interfaces
import ZODB
import ZODB.MappingStorage
import ZODB.POSException
from twisted.internet import defer
from twisted.internet import task
from twisted.python import failure

import zc.twist
from zc.twist.tests import support
from zc.twist.tests.support import Counter
from zc.twist.tests.support import commit_elsewhere
from zc.twist.tests.support import result_of




class ConflictingCall:
    """A call that adds to the counter while a concurrent writer commits a
    change to it, for its first ``conflicts`` attempts."""

    def __init__(self, db, conflicts):
        self.db = db
        self.conflicts = conflicts
        self.calls = 0

    def __call__(self, counter, amount):
        self.calls += 1
        counter.value += amount
        if self.conflicts:
            self.conflicts -= 1
            commit_elsewhere(self.db, counter._p_oid, Counter.add, 100)
        return counter.value


class PartialTests(support.TestCase):

    def setUp(self):
        super().setUp()
        self.db = self.database()
        self.clock = task.Clock()

    def partial(self, call, *args, **kwargs):
        return zc.twist.Partial(call, *args, **kwargs).setReactor(self.clock)

    def test_defaults(self):
        partial = zc.twist.Partial(max)
        self.assertEqual(
            (partial.max_transaction_errors, partial.initial_backoff,
             partial.backoff_increment, partial.max_backoff),
            (5, 5, 5, 60))
        self.assertEqual((partial.attempt_count,
                          partial.transaction_error_count, partial.backoff),
                         (0, 0, None))

    def test_set_reactor_chains_and_get_reactor_defaults_to_global(self):
        from twisted.internet import reactor
        partial = zc.twist.Partial(max)
        self.assertIs(partial.getReactor(), reactor)
        self.assertIs(partial.setReactor(self.clock), partial)
        self.assertIs(partial.getReactor(), self.clock)

    def test_arguments_are_merged(self):
        def record(counter, *args, **kwargs):
            return args, kwargs

        partial = self.partial(record, self.counter(self.db), 1, a=1, b=2)
        self.assertEqual(result_of(partial(2, b=3, c=4)),
                         ((1, 2), {'a': 1, 'b': 3, 'c': 4}))
        # building arguments are not changed by a call
        self.assertEqual(result_of(partial()), ((1,), {'a': 1, 'b': 2}))

    def test_persistent_call_time_arguments_are_references_too(self):
        counter = self.counter(self.db)
        deferred = self.partial(Counter.add)(counter, 5)
        self.assertEqual(result_of(deferred), 5)
        self.assertEqual(self.value(self.db), 5)
        self.assertEqual(counter.value, 0)  # our connection was not used

    def test_each_attempt_has_its_own_connection_and_manager(self):
        seen = []

        def look(counter):
            seen.append((counter._p_jar, counter._p_jar.transaction_manager))

        counter = self.counter(self.db)
        for i in range(2):
            result_of(self.partial(look, counter)())
        [(first, first_manager), (second, second_manager)] = seen
        self.assertIsNot(first.transaction_manager, transaction.manager)
        self.assertIsNot(first_manager, second_manager)
        self.assertIsNone(first.opened)  # closed after the attempt
        self.assertIsNot(first_manager, transaction.manager)

    def test_connections_go_back_to_the_pool(self):
        available = zc.twist.availableConnectionCount(self.db)
        result_of(self.partial(Counter.add, self.counter(self.db), 1)())
        self.assertEqual(zc.twist.availableConnectionCount(self.db),
                         available - 1)  # the test's own connection

    def test_without_persistent_objects_the_call_is_direct(self):
        self.assertEqual(self.partial(max, 1)(2), 2)
        with self.assertRaises(ValueError):
            self.partial(int, 'x')()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_without_persistent_objects_a_coroutine_still_runs(self):
        gate = defer.Deferred()

        async def wait(value):
            return await gate + value

        deferred = self.partial(wait, 1)()
        self.assertIsInstance(deferred, defer.Deferred)
        gate.callback(41)
        self.assertEqual(result_of(deferred), 42)

    def test_objects_without_a_database_are_plain_arguments(self):
        loose = Counter()
        self.assertEqual(self.partial(Counter.add, loose, 3)(), 3)

    def test_conflicts_are_retried_with_a_new_connection(self):
        call = ConflictingCall(self.db, conflicts=3)
        partial = self.partial(call, self.counter(self.db), 1)
        deferred = partial()
        # retries go through the reactor, so that it stays responsive
        self.assertFalse(deferred.called)
        self.assertEqual((partial.attempt_count,
                          partial.transaction_error_count), (1, 1))
        [retry] = self.clock.getDelayedCalls()
        self.assertEqual(retry.getTime(), 0)
        self.clock.advance(0)  # runs the retries they schedule, too
        self.assertEqual(result_of(deferred), 301)
        self.assertEqual((partial.attempt_count,
                          partial.transaction_error_count), (4, 3))
        self.assertEqual(self.value(self.db), 301)

    def test_giving_up_at_max_transaction_errors(self):
        call = ConflictingCall(self.db, conflicts=100)
        partial = self.partial(call, self.counter(self.db), 1)
        partial.max_transaction_errors = 2
        with self.assertLogs('zc.twist', logging.INFO) as logs:
            deferred = partial()
            self.clock.advance(0)
        outcome = result_of(deferred)
        self.assertIsInstance(outcome, zc.twist.Failure)
        self.assertTrue(outcome.check(ZODB.POSException.ConflictError))
        self.assertEqual((call.calls, partial.transaction_error_count),
                         (2, 2))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual([r.levelname for r in logs.records],
                         ['INFO', 'WARNING'])
        self.assertIn('giving up after 2 transaction errors',
                      logs.records[1].getMessage())
        # the concurrent writer's changes are there, ours are not
        self.assertEqual(self.value(self.db), 200)

    def test_max_transaction_errors_none_retries_forever(self):
        call = ConflictingCall(self.db, conflicts=12)
        partial = self.partial(call, self.counter(self.db), 1)
        partial.max_transaction_errors = None
        deferred = partial()
        self.clock.advance(0)
        self.assertEqual(result_of(deferred), 1201)
        self.assertEqual(partial.transaction_error_count, 12)

    def test_class_tunables_apply_unless_set_on_the_instance(self):
        class Stubborn(zc.twist.Partial):
            max_transaction_errors = 1

        call = ConflictingCall(self.db, conflicts=100)
        counter = self.counter(self.db)
        gives_up = Stubborn(call, counter, 1).setReactor(self.clock)
        self.assertTrue(result_of(gives_up()).check(
            ZODB.POSException.ConflictError))
        patient = Stubborn(call, counter, 1).setReactor(self.clock)
        patient.max_transaction_errors = 3
        deferred = patient()
        self.clock.advance(0)
        self.assertTrue(result_of(deferred).check(
            ZODB.POSException.ConflictError))
        self.assertEqual(patient.attempt_count, 3)

    def test_any_transaction_error_is_retried(self):
        attempts = []

        def doomed_once(counter):
            attempts.append(1)
            counter.value += 1
            if len(attempts) == 1:
                raise transaction.interfaces.TransientError('try again')
            return counter.value

        deferred = self.partial(doomed_once, self.counter(self.db))()
        self.clock.advance(0)
        self.assertEqual(result_of(deferred), 1)  # the first was aborted

    def test_other_errors_abort_and_fail_sanitized(self):
        def fail(counter):
            counter.value = 99
            raise ValueError('nope')

        partial = self.partial(fail, self.counter(self.db))
        outcome = result_of(partial())
        self.assertIsInstance(outcome, zc.twist.Failure)
        self.assertTrue(outcome.check(ValueError))
        self.assertIsNone(outcome.tb)
        self.assertEqual(partial.attempt_count, 1)
        self.assertEqual(self.value(self.db), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_failing_to_open_a_connection_fails_the_deferred(self):
        db = ZODB.DB(ZODB.MappingStorage.MappingStorage())
        with db.transaction() as connection:
            connection.root.counter = Counter()
        connection = db.open()
        partial = self.partial(Counter.add, connection.root.counter, 1)
        connection.close()
        db.close()
        outcome = result_of(partial())
        self.assertIsInstance(outcome, zc.twist.Failure)
        self.assertEqual(partial.attempt_count, 0)

    def test_explosive_error_in_the_call_is_raised_out_of_it(self):
        for error in (KeyboardInterrupt(), SystemExit(3),
                      ZODB.POSException.ReadOnlyError()):
            def explode(counter):
                counter.value = 99
                raise error

            with self.assertRaises(type(error)):
                self.partial(explode, self.counter(self.db))()
            self.assertEqual(self.value(self.db), 0)

    def test_explosive_error_in_a_retry_fails_and_is_raised(self):
        attempts = []

        def conflict_then_explode(counter):
            attempts.append(1)
            counter.value += 1
            if len(attempts) == 1:
                commit_elsewhere(self.db, counter._p_oid, Counter.add, 1)
            else:
                raise ZODB.POSException.StorageError('disk on fire')

        deferred = self.partial(conflict_then_explode,
                                self.counter(self.db))()
        try:
            self.clock.advance(0)
        except ZODB.POSException.StorageError as exception:
            raised = exception
        else:
            self.fail('StorageError not raised')
        # the traceback survives for whoever logs the raised error
        self.assertIsNotNone(raised.__traceback__)
        outcome = result_of(deferred)
        self.assertIsInstance(outcome, zc.twist.Failure)
        self.assertIs(outcome.value, raised)
        self.assertEqual(self.value(self.db), 1)

    def test_a_failure_result_is_committed_and_fails_the_deferred(self):
        def change_and_report(counter):
            counter.value = 7
            try:
                raise LookupError('reported, not raised')
            except LookupError:
                return failure.Failure()

        outcome = result_of(self.partial(change_and_report,
                                         self.counter(self.db))())
        self.assertIsInstance(outcome, zc.twist.Failure)
        self.assertTrue(outcome.check(LookupError))
        self.assertIsNone(outcome.tb)
        self.assertEqual(self.value(self.db), 7)

    def test_a_deferred_result_is_chained_after_the_commit(self):
        later = defer.Deferred()

        def change_and_defer(counter):
            counter.value = 8
            return later

        deferred = self.partial(change_and_defer, self.counter(self.db))()
        self.assertEqual(self.value(self.db), 8)  # committed already
        self.assertFalse(deferred.called)
        later.callback('done')
        self.assertEqual(result_of(deferred), 'done')

    def test_a_failing_deferred_result_fails_sanitized(self):
        later = defer.Deferred()
        deferred = self.partial(lambda counter: later,
                                self.counter(self.db))()
        later.errback(failure.Failure(KeyError('later')))
        outcome = result_of(deferred)
        self.assertIsInstance(outcome, zc.twist.Failure)
        self.assertTrue(outcome.check(KeyError))

    def test_a_coroutine_commits_when_it_is_done(self):
        gate = defer.Deferred()

        async def add_after_gate(counter, amount):
            counter.value += amount
            counter.value += await gate
            return counter.value

        deferred = self.partial(add_after_gate, self.counter(self.db), 1)()
        available = zc.twist.availableConnectionCount(self.db)
        self.assertEqual(self.value(self.db), 0)
        gate.callback(10)
        self.assertEqual(result_of(deferred), 11)
        self.assertEqual(self.value(self.db), 11)
        # the connection it held went back to the pool
        self.assertEqual(zc.twist.availableConnectionCount(self.db),
                         available + 1)

    def test_a_coroutine_method_of_a_persistent_object(self):
        gate = defer.Deferred()
        deferred = self.partial(self.counter(self.db).add_when, gate, 4)()
        self.assertFalse(deferred.called)
        gate.callback(1)
        self.assertEqual(result_of(deferred), 5)
        self.assertEqual(self.value(self.db), 5)

    def test_a_conflicting_coroutine_runs_again_entirely(self):
        runs = []

        async def add_slowly(counter):
            runs.append(defer.Deferred())
            counter.value += 1
            await runs[-1]
            return counter.value

        counter = self.counter(self.db)
        deferred = self.partial(add_slowly, counter)()
        commit_elsewhere(self.db, counter._p_oid, Counter.add, 10)
        runs[0].callback(None)  # commits, conflicts
        self.clock.advance(0)
        self.assertEqual(len(runs), 2)
        runs[1].callback(None)
        self.assertEqual(result_of(deferred), 11)

    def test_a_failing_coroutine_aborts(self):
        gate = defer.Deferred()

        async def fail_later(counter):
            counter.value = 50
            await gate
            raise ValueError('after all')

        deferred = self.partial(fail_later, self.counter(self.db))()
        gate.callback(None)
        self.assertTrue(result_of(deferred).check(ValueError))
        self.assertEqual(self.value(self.db), 0)

    def test_explosive_error_in_a_coroutine_fails_the_deferred(self):
        gate = defer.Deferred()

        async def explode_later(counter):
            await gate
            raise ZODB.POSException.StorageError('gone')

        deferred = self.partial(explode_later, self.counter(self.db))()
        gate.callback(None)  # nothing to raise into: the errback tells
        self.assertTrue(result_of(deferred).check(
            ZODB.POSException.StorageError))

    def test_cancelling_a_running_coroutine_aborts_it(self):
        gate = defer.Deferred()

        async def wait(counter):
            counter.value = 5
            await gate

        counter = self.counter(self.db)
        available = zc.twist.availableConnectionCount(self.db)
        deferred = self.partial(wait, counter)()
        deferred.cancel()
        self.assertTrue(result_of(deferred).check(defer.CancelledError))
        self.assertEqual(self.value(self.db), 0)
        self.assertEqual(zc.twist.availableConnectionCount(self.db),
                         available)

    def test_cancelling_stops_pending_retries(self):
        call = ConflictingCall(self.db, conflicts=100)
        partial = self.partial(call, self.counter(self.db), 1)
        deferred = partial()
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        deferred.cancel()
        self.assertTrue(result_of(deferred).check(defer.CancelledError))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(call.calls, 1)

    def test_cancelling_a_chained_deferred_result(self):
        later = defer.Deferred()
        deferred = self.partial(lambda counter: later,
                                self.counter(self.db))()
        deferred.cancel()
        self.assertTrue(later.called)
        self.assertTrue(result_of(deferred).check(defer.CancelledError))

    def test_awaiting_a_partial(self):
        counter = self.counter(self.db)

        async def main():
            first = await self.partial(Counter.add, counter, 2)
            second = await self.partial(counter.add)(3)
            direct = await self.partial(max, 1, 2)
            return first, second, direct

        self.assertEqual(result_of(defer.ensureDeferred(main())),
                         (2, 5, 2))

    def test_counters_describe_the_latest_call(self):
        call = ConflictingCall(self.db, conflicts=1)
        partial = self.partial(call, self.counter(self.db), 1)
        first = partial()
        self.clock.advance(0)
        self.assertEqual(result_of(first), 101)
        self.assertEqual((partial.attempt_count,
                          partial.transaction_error_count), (2, 1))
        self.assertEqual(result_of(partial()), 102)
        self.assertEqual((partial.attempt_count,
                          partial.transaction_error_count), (1, 0))

    def test_custom_deferred_references_make_a_partial_transactional(self):
        import zope.interface

        @zope.interface.implementer(zc.twist.IDeferredReference)
        class Root:
            def __init__(self, db):
                self.db = db

            def __call__(self, connection):
                return connection.root()

        def count_keys(root):
            root['visited'] = True
            return sorted(root)

        outcome = result_of(self.partial(count_keys, Root(self.db))())
        self.assertEqual(outcome, ['counter', 'visited'])
        with self.db.transaction() as connection:
            self.assertTrue(connection.root()['visited'])

    def test_repr(self):
        counter = self.counter(self.db)
        self.assertEqual(
            repr(zc.twist.Partial(counter.add)),
            "<Partial <DeferredReferenceToPersistent oid 0x01 in 'unnamed',"
            " method add>>")


class PoolTests(support.TestCase):
    """Partials wait, a little, for a free connection."""

    def setUp(self):
        super().setUp()
        self.db = self.database(pool_size=2)
        self.clock = task.Clock()

    def test_a_partial_waits_for_a_connection_held_by_a_coroutine(self):
        gates = [defer.Deferred(), defer.Deferred()]

        async def hold(counter, gate):
            await gate
            return counter.add(1)

        counter = self.counter(self.db)  # one of the two connections
        holding = zc.twist.Partial(hold, counter, gates[0])
        held = holding.setReactor(self.clock)()
        self.assertEqual(zc.twist.availableConnectionCount(self.db), 0)

        waiting = zc.twist.Partial(Counter.add, counter, 10)
        deferred = waiting.setReactor(self.clock)()
        self.assertFalse(deferred.called)
        self.assertEqual(waiting.attempt_count, 0)
        [wait] = self.clock.getDelayedCalls()
        self.assertGreaterEqual(wait.getTime(), 0.0625)
        self.assertLess(wait.getTime(), 0.1125)

        gates[0].callback(None)  # the coroutine commits and lets go
        self.assertEqual(result_of(held), 1)
        self.clock.advance(wait.getTime())
        self.assertEqual(result_of(deferred), 11)
        self.assertEqual(waiting.attempt_count, 1)

    def test_waits_grow_then_a_connection_is_opened_regardless(self):
        counter = self.counter(self.db)
        self.open(self.db)  # the pool is used up
        deferred = zc.twist.Partial(Counter.add, counter, 1).setReactor(
            self.clock)()
        waits = []
        while self.clock.getDelayedCalls():
            [call] = self.clock.getDelayedCalls()
            waits.append(call.getTime() - self.clock.seconds())
            self.clock.advance(waits[-1])
        self.assertEqual(result_of(deferred), 1)
        # each wait is the backoff so far: steps of 0.0625 plus jitter
        # under 0.05, until the backoff reaches 0.5
        steps = [b - a for a, b in zip([0] + waits, waits)]
        for step in steps:
            self.assertGreaterEqual(step, 0.0625 - 1e-9)
            self.assertLess(step, 0.1125)
        self.assertLess(waits[-2], 0.5)
        self.assertGreaterEqual(waits[-1], 0.5)
        self.assertIn(len(waits), range(5, 9))


class MultiDatabaseTests(support.TestCase):

    def test_objects_of_two_databases_in_one_transaction(self):
        first, second = self.multi_database()
        connection = self.open(first)
        here = connection.root.counter
        there = connection.get_connection('second').root.counter

        def move(source, target, amount):
            self.assertIsNot(source._p_jar, target._p_jar)
            self.assertIs(source._p_jar.db(), second)
            self.assertIs(target._p_jar.db(), first)
            source.value -= amount
            target.value += amount

        # the call's database is the second one: the first is reached
        # through the multi-database
        partial = zc.twist.Partial(move, there, here, 5)
        self.assertIsNone(result_of(partial.setReactor(task.Clock())()))
        with first.transaction() as connection:
            self.assertEqual(connection.root.counter.value, 5)
            self.assertEqual(
                connection.get_connection('second').root.counter.value, -5)

    def test_unrelated_databases_are_refused(self):
        first, second = self.database('first.fs'), self.database('second.fs')
        with self.assertRaises(ValueError) as raised:
            zc.twist.Partial(max, self.counter(first), self.counter(second))()
        self.assertIn('not part of the multi-database', str(raised.exception))
