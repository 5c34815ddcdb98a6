"""Real parts for the tests: a reactor running in a thread, ZEO server
processes that can go away and come back, a writer committing from another
thread, and a check that tests leave no thread behind."""
import concurrent.futures
import logging
import os
import shutil
import tempfile
import threading
import time
import unittest

import persistent
import transaction
import ZEO
import ZODB
import ZODB.FileStorage
from twisted.internet import defer
from twisted.python import failure

#: Upper bound for any wait in the tests.
TIMEOUT = 30


# --- the reactor ----------------------------------------------------------

def global_reactor():
    from twisted.internet import reactor
    return reactor


class ReactorLayer:
    """Runs the global reactor in a thread for the layer's tests.

    A reactor cannot be restarted, and no other layer uses it: tearing
    down stops it for good, and setting up again in the same process (as
    ``--repeat`` would) says so. (Refusing to tear down instead would make
    the test runner start a fresh process for every later layer, each
    importing the whole suite again.)
    """

    thread = None

    @classmethod
    def setUp(cls):
        if cls.thread is not None:
            raise RuntimeError('a reactor cannot be restarted: the layer'
                               ' runs once per process')
        cls.threads = NoThreadsLeftBehind()
        reactor = global_reactor()
        cls.thread = threading.Thread(
            target=reactor.run, kwargs={'installSignalHandlers': False},
            name='reactor', daemon=True)
        cls.thread.start()
        in_reactor(lambda: None)  # running

    @classmethod
    def tearDown(cls):
        global_reactor().callFromThread(global_reactor().stop)
        cls.thread.join(TIMEOUT)
        if cls.thread.is_alive():
            raise RuntimeError('the reactor did not stop')
        cls.threads.check()  # its thread pool, for instance

    @classmethod
    def testSetUp(cls):
        pass

    @classmethod
    def testTearDown(cls):
        pass


def call_in_reactor(func, *args, **kwargs):
    """Call ``func`` in the reactor's thread; return a
    ``concurrent.futures.Future`` of its result (of the Deferred's result
    if it returns a Deferred)."""
    future = concurrent.futures.Future()

    def settle(result):
        if isinstance(result, failure.Failure):
            future.set_exception(result.value)
        else:
            future.set_result(result)

    def call():
        defer.maybeDeferred(func, *args, **kwargs).addBoth(settle)

    global_reactor().callFromThread(call)
    return future


def in_reactor(func, *args, timeout=TIMEOUT, **kwargs):
    """Call ``func`` in the reactor's thread and wait for its result; a
    Deferred is waited for, a failure raised here."""
    future = call_in_reactor(func, *args, **kwargs)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        raise AssertionError(f'{func!r} did not finish in {timeout} s')


def result_of(deferred):
    """The result of a Deferred that has fired (a Failure if it failed);
    the Deferred is left with None, so a failure is not reported as
    unhandled."""
    outcome = []
    deferred.addBoth(outcome.append)
    if not outcome:
        raise AssertionError(f'{deferred!r} has not fired')
    return outcome[0]


# --- threads --------------------------------------------------------------

class NoThreadsLeftBehind:
    """Remembers the threads running before a test and, after it, waits
    (bounded) for any new one to end, failing if one does not."""

    def __init__(self):
        self.before = set(threading.enumerate())

    def new_threads(self):
        return [thread for thread in threading.enumerate()
                if thread not in self.before and thread.is_alive()]

    def check(self, timeout=10):
        deadline = time.monotonic() + timeout
        while self.new_threads() and time.monotonic() < deadline:
            time.sleep(0.01)
        left = self.new_threads()
        if left:
            raise AssertionError(f'threads left behind: {left}')


class TestCase(unittest.TestCase):
    """Fails a test that leaves a thread behind; offers databases in a
    temporary directory, closed after the test."""

    def setUp(self):
        threads = NoThreadsLeftBehind()
        self.addCleanup(threads.check)  # cleanups run last in, first out
        self.directory = tempfile.mkdtemp(prefix='zc.twist-')
        self.addCleanup(shutil.rmtree, self.directory)

    def path(self, name):
        return os.path.join(self.directory, name)

    def database(self, name='Data.fs', **options):
        """A database on a new FileStorage, with a Counter at root.counter."""
        db = ZODB.DB(ZODB.FileStorage.FileStorage(self.path(name)),
                     **options)
        self.addCleanup(db.close)
        with db.transaction() as connection:
            connection.root.counter = Counter()
        return db

    def multi_database(self):
        """Two databases, 'first' and 'second', of one multi-database,
        with a Counter at root.counter in each."""
        import ZODB.MappingStorage
        databases = {}
        first, second = [
            ZODB.DB(ZODB.MappingStorage.MappingStorage(),
                    databases=databases, database_name=name)
            for name in ('first', 'second')]
        self.addCleanup(second.close)
        self.addCleanup(first.close)
        with first.transaction() as connection:
            connection.root.counter = Counter()
            connection.get_connection('second').root.counter = Counter()
        return first, second

    def open(self, db):
        """A connection of the test's own (and its own transaction
        manager), closed after the test."""
        import transaction
        connection = db.open(transaction.TransactionManager())
        self.addCleanup(connection.close)
        return connection

    def counter(self, db):
        """The counter, loaded in a connection of the test's own."""
        return self.open(db).root.counter

    def value(self, db):
        """The counter's committed value."""
        with db.transaction() as connection:
            return connection.root.counter.value


# --- writing from elsewhere -----------------------------------------------

class Counter(persistent.Persistent):
    """What most tests change."""

    value = 0

    def add(self, amount):
        self.value += amount
        return self.value

    async def add_when(self, deferred, amount):
        """Add ``amount`` plus what ``deferred`` fires with."""
        return self.add(amount + await deferred)


def commit_elsewhere(db, oid, function, *args):
    """Commit ``function(obj, *args)`` for the object ``oid`` of ``db``
    from another thread, with a connection of its own, and wait until it is
    committed: a real concurrent writer."""
    errors = []

    def write():
        # Not db.transaction(): it leaves the connection open when the
        # commit fails.
        manager = transaction.TransactionManager()
        connection = db.open(manager)
        try:
            manager.begin()
            function(connection.get(oid), *args)
            manager.commit()
        except Exception as exception:  # reported below
            manager.abort()
            errors.append(exception)
        finally:
            connection.close()

    thread = threading.Thread(target=write, name='elsewhere')
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        raise AssertionError('the concurrent writer did not finish')
    if errors:
        raise errors[0]


# --- ZEO ------------------------------------------------------------------

class ZEOServer:
    """A real ZEO server, ``ZEO.server()`` in a process of its own (so
    that stopping it drops its clients' connections), serving a
    FileStorage.

    ``stop()`` stops it (the storage is closed cleanly); ``start()``
    starts it again on the same address, so clients reconnect. The first
    start binds a free port.
    """

    def __init__(self, path):
        self.path = path
        self.address = ('127.0.0.1', 0)
        self._stop = None

    def start(self):
        self.address, self._stop = ZEO.server(
            self.path, port=self.address[1], threaded=False,
            start_timeout=TIMEOUT)
        return self

    def stop(self):
        """Stop the server; it closes its storage on the way out."""
        stop, self._stop = self._stop, None
        if stop is not None:
            stop(TIMEOUT)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


# --- logs -----------------------------------------------------------------

class LogRecords(logging.Handler):
    """Collects the records of one logger, to show them in tests."""

    def __init__(self, name='zc.twist', level=logging.INFO):
        super().__init__(level)
        self.logger = logging.getLogger(name)
        self.records = []
        self.old_level = self.logger.level
        self.logger.addHandler(self)
        self.logger.setLevel(level)

    def emit(self, record):
        self.records.append(record)

    def show(self):
        """Print the records collected since the last call, and forget
        them."""
        records, self.records = self.records, []
        for record in records:
            print(record.levelname, record.getMessage())

    def uninstall(self):
        self.logger.removeHandler(self)
        self.logger.setLevel(self.old_level)
