"""The writer clients' bookkeeping (zc.stack.cluster.load), on an
in-memory database: what a writer records is what it committed, and
``missing`` finds an acknowledged commit the database lost."""
import os
import tempfile
import unittest

import ZODB
import ZODB.MappingStorage

from zc.stack.cluster import load


class StopAfter:
    """A writer's ``stopping`` that is set once ``commits`` were
    attempted (it is read before each attempt)."""

    def __init__(self, commits):
        self.left = commits + 1

    @property
    def set(self):
        self.left -= 1
        return self.left <= 0


class LoadTests(unittest.TestCase):

    def setUp(self):
        self.db = ZODB.DB(None)
        self.addCleanup(self.db.close)
        directory = tempfile.mkdtemp(prefix='zcs-load-')
        self.log = os.path.join(directory, 'w1.log')
        self.addCleanup(lambda: (os.path.exists(self.log)
                                 and os.remove(self.log),
                                 os.rmdir(directory)))
        self.writer = load.Record('w1', self.log)

    def test_every_acknowledged_commit_is_logged_and_found(self):
        times = iter(range(100))
        load.write(self.db, 'w1', self.log, StopAfter(5),
                   clock=lambda: float(next(times)))
        commits = self.writer.commits()
        self.assertEqual([(c.seq, c.start, c.end) for c in commits],
                         [(1, 0.0, 1.0), (2, 2.0, 3.0), (3, 4.0, 5.0),
                          (4, 6.0, 7.0), (5, 8.0, 9.0)])
        self.assertEqual(load.missing(self.db, [self.writer]), {})

    def test_failed_commits_are_retried_and_not_logged(self):
        storage = ZODB.MappingStorage.MappingStorage()
        failures = [0]
        original = storage.tpc_vote

        def tpc_vote(transaction):
            if failures[0]:
                failures[0] -= 1
                raise ZODB.POSException.ReadOnlyError('fenced')
            return original(transaction)
        storage.tpc_vote = tpc_vote
        self.db = ZODB.DB(storage)
        self.addCleanup(self.db.close)
        failures[0] = 2
        load.write(self.db, 'w1', self.log, StopAfter(4))
        # Attempts 1 and 2 failed: only 3 and 4 were acknowledged.
        self.assertEqual([c.seq for c in self.writer.commits()], [3, 4])
        self.assertEqual(load.missing(self.db, [self.writer]), {})

    def test_missing_finds_a_lost_commit(self):
        load.write(self.db, 'w1', self.log, StopAfter(3))
        with self.db.transaction() as connection:
            del connection.root()[load.ROOT_KEY]['w1'][2]
        self.assertEqual(load.missing(self.db, [self.writer]), {'w1': [2]})
        # A writer the database never heard of lost everything.
        other = load.Record('w2', self.log)
        self.assertEqual(load.missing(self.db, [other]), {'w2': [1, 2, 3]})

    def test_a_line_cut_short_was_not_recorded(self):
        with open(self.log, 'w') as f:
            f.write('1 0.5 0.75\n2 0.8')
        self.assertEqual([c.seq for c in load.read_log(self.log)], [1])
        self.assertEqual(load.read_log(self.log + '.none'), [])

