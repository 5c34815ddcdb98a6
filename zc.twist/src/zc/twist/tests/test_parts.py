"""The parts a Partial is built from: references, connections, adapters
and sanitized failures."""
import pickle

import BTrees.OOBTree
import persistent.mapping
import zope.component
import zope.interface.verify
from transaction.interfaces import ITransactionManager
from twisted.internet import task
from twisted.python import failure as twisted_failure
from ZODB.interfaces import IConnection

import zc.twist
from zc.twist.tests import support
from zc.twist.tests.support import Counter
from zc.twist.tests.support import result_of




class ReferenceTests(support.TestCase):

    def setUp(self):
        super().setUp()
        self.db = self.database()
        connection = self.open(self.db)
        with connection.transaction_manager:
            connection.root.mapping = persistent.mapping.PersistentMapping()
            connection.root.tree = BTrees.OOBTree.OOBTree()
        self.connection = connection

    def test_persistent_object(self):
        counter = self.connection.root.counter
        reference = zc.twist.Reference(counter)
        self.assertIsInstance(reference,
                              zc.twist.DeferredReferenceToPersistent)
        self.assertTrue(zope.interface.verify.verifyObject(
            zc.twist.IDeferredReference, reference))
        self.assertEqual((reference.db, reference.id, reference.name),
                         (self.db, counter._p_oid, None))
        other = self.open(self.db)
        resolved = reference(other)
        self.assertIs(resolved, other.root.counter)
        self.assertIsNot(resolved, counter)

    def test_methods_of_every_kind(self):
        root = self.connection.root
        cases = [
            (root.counter.add, 'add'),                   # Python method
            (root.counter.__setattr__, '__setattr__'),   # slot wrapper
            (root.tree.insert, 'insert'),                # C method
            (root.mapping.__setitem__, '__setitem__'),   # Python slot
        ]
        other = self.open(self.db)
        for method, name in cases:
            reference = zc.twist.Reference(method)
            self.assertIsInstance(
                reference, zc.twist.DeferredReferenceToPersistent, method)
            self.assertEqual(reference.name, name)
            resolved = reference(other)
            self.assertIs(zc.twist.get_self(resolved)._p_jar, other)
            self.assertEqual(resolved.__name__, name)

    def test_method_wrapper_type(self):
        self.assertIsInstance(self.connection.root.counter.__setattr__,
                              zc.twist.METHOD_WRAPPER_TYPE)
        self.assertIs(zc.twist.get_self(object.__str__.__get__(1)), 1)

    def test_anything_else_is_unchanged(self):
        counter = self.connection.root.counter
        loose = Counter()
        for obj in (1, 'x', None, max, [counter], {'c': counter},
                    loose, loose.add, Counter.add, len):
            self.assertIs(zc.twist.Reference(obj), obj)

    def test_switches_database_in_a_multi_database(self):
        first, second = self.multi_database()
        reference = zc.twist.Reference(self.open(second).root.counter.add)
        self.assertIs(reference.db, second)
        self.assertEqual(
            repr(reference),
            "<DeferredReferenceToPersistent oid 0x01 in 'second',"
            " method add>")
        connection = self.open(first)
        bound = reference(connection)
        self.assertIs(bound.__self__._p_jar,
                      connection.get_connection('second'))


class ConnectionTests(support.TestCase):

    def setUp(self):
        super().setUp()
        self.db = self.database(pool_size=3)
        self.clock = task.Clock()

    def test_available_connection_count(self):
        self.assertEqual(zc.twist.availableConnectionCount(self.db), 3)
        first = self.db.open()
        second = self.db.open()
        self.assertEqual(zc.twist.availableConnectionCount(self.db), 1)
        first.close()
        self.assertEqual(zc.twist.availableConnectionCount(self.db), 2)
        more = [self.db.open() for i in range(3)]
        self.assertEqual(zc.twist.availableConnectionCount(self.db), -1)
        for connection in [second] + more:
            connection.close()
        self.assertEqual(zc.twist.availableConnectionCount(self.db), 3)

    def test_a_free_connection_is_given_at_once(self):
        deferred = zc.twist.get_connection(self.db, reactor=self.clock)
        connection = result_of(deferred)
        self.addCleanup(connection.close)
        self.assertIsNotNone(connection.opened)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_given_deferred_is_fired(self):
        import twisted.internet.defer
        mine = twisted.internet.defer.Deferred()
        self.assertIs(zc.twist.get_connection(self.db, mine,
                                              reactor=self.clock), mine)
        result_of(mine).close()

    def test_waits_when_the_pool_is_used_up(self):
        held = [self.open(self.db) for i in range(3)]
        deferred = zc.twist.get_connection(self.db, reactor=self.clock)
        [wait] = self.clock.getDelayedCalls()
        self.assertGreaterEqual(wait.getTime(), 0.0625)
        self.assertLess(wait.getTime(), 0.1125)
        self.clock.advance(wait.getTime())
        self.assertFalse(deferred.called)
        [wait] = self.clock.getDelayedCalls()
        held.pop().close()
        self.clock.advance(wait.getTime())
        connection = result_of(deferred)
        self.assertIsNotNone(connection.opened)
        connection.close()

    def test_opens_regardless_once_the_backoff_reached_half_a_second(self):
        for i in range(3):
            self.open(self.db)
        connection = result_of(zc.twist.get_connection(
            self.db, backoff=0.5, reactor=self.clock))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(zc.twist.availableConnectionCount(self.db), -1)
        connection.close()

    def test_failure_to_open_fails_the_deferred(self):
        import ZODB
        closed = ZODB.DB(None)
        closed.close()
        outcome = result_of(zc.twist.get_connection(closed,
                                                    reactor=self.clock))
        self.assertIsInstance(outcome, zc.twist.Failure)
        self.assertIsNone(outcome.tb)

    def test_each_connection_has_its_own_transaction_manager(self):
        first = result_of(zc.twist.get_connection(self.db,
                                                  reactor=self.clock))
        second = result_of(zc.twist.get_connection(self.db,
                                                   reactor=self.clock))
        self.assertIsNot(first.transaction_manager,
                         second.transaction_manager)
        import transaction
        self.assertIsNot(first.transaction_manager, transaction.manager)
        first.close()
        second.close()


class AdapterTests(support.TestCase):

    def setUp(self):
        super().setUp()
        self.db = self.database()
        self.connection = self.open(self.db)

    def test_connection_of_a_persistent_object(self):
        counter = self.connection.root.counter
        self.assertIs(zc.twist.connection(counter), self.connection)

    def test_connection_through_parents(self):
        child, grandchild = Counter(), Counter()
        grandchild.__parent__ = child
        child.__parent__ = self.connection.root.counter
        self.assertIs(zc.twist.connection(grandchild), self.connection)

    def test_no_connection(self):
        orphan = Counter()
        self.assertIsNone(zc.twist.connection(orphan))
        self.assertIsNone(zc.twist.transactionManager(orphan))
        looping = Counter()
        looping.__parent__ = looping
        self.assertIsNone(zc.twist.connection(looping))

    def test_transaction_manager_of_objects_and_connections(self):
        counter = self.connection.root.counter
        manager = self.connection.transaction_manager
        self.assertIs(zc.twist.transactionManager(counter), manager)
        self.assertIs(zc.twist.transactionManager(self.connection), manager)

    def test_registered_as_adapters(self):
        registry = zope.component.globalregistry.BaseGlobalComponents()
        registry.registerAdapter(zc.twist.connection)
        registry.registerAdapter(zc.twist.transactionManager)
        registry.registerAdapter(zc.twist.transactionManager,
                                 (IConnection,))
        counter = self.connection.root.counter
        self.assertIs(registry.getAdapter(counter, IConnection),
                      self.connection)
        manager = self.connection.transaction_manager
        self.assertIs(registry.getAdapter(counter, ITransactionManager),
                      manager)
        self.assertIs(registry.getAdapter(self.connection,
                                          ITransactionManager), manager)
        self.assertIsNone(registry.queryAdapter(Counter(), IConnection))


def fail_with_locals():
    secret = 'x' * 100
    number = 42
    raise KeyError(f'{secret}{number}')


class FailureTests(support.TestCase):

    def raw_failure(self, **kwargs):
        try:
            fail_with_locals()
        except KeyError:
            return twisted_failure.Failure(**kwargs)

    def test_sanitizing_keeps_reprs_and_drops_tracebacks(self):
        raw = self.raw_failure(captureVars=True)
        clean = zc.twist.sanitize(raw)
        self.assertIsNot(clean, raw)
        self.assertIsNone(clean.tb)
        self.assertIsNone(clean.value.__traceback__)
        name, filename, line, localz, globalz = clean.frames[-1]
        self.assertEqual(name, 'fail_with_locals')
        self.assertEqual(dict(localz),
                         {'secret': repr('x' * 100), 'number': '42'})
        self.assertTrue(all(isinstance(value, str)
                            for key, value in globalz))
        self.assertIn('fail_with_locals', clean.getTraceback())
        self.assertTrue(clean.check(KeyError))
        with self.assertRaises(KeyError):
            clean.raiseException()

    def test_without_captured_variables(self):
        clean = zc.twist.sanitize(self.raw_failure())
        self.assertEqual(clean.frames[-1][3:], ([], []))
        self.assertIn('fail_with_locals', clean.getTraceback())

    def test_chained_exceptions_lose_their_tracebacks_too(self):
        try:
            try:
                fail_with_locals()
            except KeyError as exception:
                raise ValueError('wrapped') from exception
        except ValueError:
            clean = zc.twist.Failure()
        self.assertIsNone(clean.value.__traceback__)
        self.assertIsNone(clean.value.__cause__.__traceback__)

    def test_pickling_truncates_locals_and_drops_globals(self):
        clean = zc.twist.sanitize(self.raw_failure(captureVars=True))
        unpickled = pickle.loads(pickle.dumps(clean))
        self.assertIs(type(unpickled), zc.twist.Failure)
        self.assertEqual(dict(unpickled.frames[-1][3]),
                         {'secret': "'xxxxxxxxxxxxxxxxxxxx[...]",
                          'number': '42'})
        self.assertTrue(all(frame[4] == [] for frame in unpickled.frames))
        self.assertNotIn('stack', unpickled.__dict__)
        self.assertTrue(unpickled.check(KeyError))
        # the live failure keeps its full reprs
        self.assertEqual(dict(clean.frames[-1][3])['secret'],
                         repr('x' * 100))

    def test_sanitizing_a_pickled_failure_keeps_its_reprs(self):
        raw = self.raw_failure(captureVars=True)
        raw.cleanFailure()  # Twisted's own clean-up: reprs already
        clean = zc.twist.sanitize(raw)
        self.assertEqual(dict(clean.frames[-1][3])['number'], '42')

    def test_truncate(self):
        self.assertEqual(zc.twist.truncate('a' * 21), 'a' * 21)
        self.assertEqual(zc.twist.truncate('a' * 22), 'a' * 21 + '[...]')
        self.assertEqual(zc.twist.truncate(''), '')

    def test_explosive_errors(self):
        import ZODB.POSException
        self.assertEqual(zc.twist.EXPLOSIVE_ERRORS,
                         (SystemExit, KeyboardInterrupt,
                          ZODB.POSException.POSError))
