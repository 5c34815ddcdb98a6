"""Writer clients: load on the cluster's database, with a record of every
commit the database acknowledged, and the check that none was lost.

A writer is a process of its own (``Writer(...)`` starts ``python -m
zc.stack.cluster.load``) committing through zc.zkzeo to whichever node is
primary, as fast as it can. Each transaction adds one key, the writer's
next sequence number, to the writer's own BTree (``root[ROOT_KEY][name]``,
so writers never conflict). Once a commit returned (the database
acknowledged it) the writer appends ``SEQ START END`` to its log file,
flushed (``time.monotonic()`` seconds, one clock for every process of the
machine); a commit that failed (the primary went away, fenced itself,
could not get its acknowledgements) is logged (a WARNING, to the writer's
``.err`` file) and retried with the next number after ``RETRY_PAUSE``.
SIGTERM stops it after the commit in flight.

``missing(db, writers)`` then lists every acknowledged commit the
database does not hold: after a failover it must be empty. The fault
tests and ``benchmarks/zrs_failover.py`` use this module.
"""
import argparse
import logging
import os
import signal
import subprocess
import sys
import time

import BTrees.IOBTree
import BTrees.OOBTree
import transaction

from zc.stack.cluster.services import python_environment, python_program

logger = logging.getLogger(__name__)

ROOT_KEY = 'zc.stack.load'
#: Seconds between a failed commit and the next attempt.
RETRY_PAUSE = 0.01
#: Seconds a commit waits for a primary before it fails.
WAIT_TIMEOUT = 30.0
#: Times a writer tries to open the database.
OPEN_ATTEMPTS = 10
#: Seconds a writer may take to stop.
STOP_TIMEOUT = 30.0


class Commit:
    """One acknowledged commit: ``seq`` and when it started and ended."""

    __slots__ = ('seq', 'start', 'end')

    def __init__(self, seq, start, end):
        self.seq, self.start, self.end = seq, start, end


def read_log(path):
    """The commits recorded in a writer's log (a line cut short by the
    writer's death is left out: it was not recorded)."""
    commits = []
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) == 3 and line.endswith('\n'):
                    commits.append(Commit(int(fields[0]), float(fields[1]),
                                          float(fields[2])))
    except FileNotFoundError:
        pass
    return commits


class Record:
    """What writer ``name`` logged to ``log``."""

    def __init__(self, name, log):
        self.name = name
        self.log = log

    def commits(self):
        return read_log(self.log)


class Writer(Record):
    """A writer process called ``name``, committing to the database whose
    primary registers at ``path`` of ZooKeeper ``zookeeper``, logging to
    ``log``; what it logs goes to ``log + '.err'``."""

    def __init__(self, zookeeper, path, name, log):
        super().__init__(name, log)
        with open(log + '.err', 'a') as errors:
            self.process = subprocess.Popen(
                python_program(__name__, zookeeper, path, name, log),
                env=dict(os.environ, **python_environment()),
                stdin=subprocess.DEVNULL, stdout=errors, stderr=errors)

    def stop(self):
        """Stop after the commit in flight; True if it stopped in
        time (else it is killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
            return False
        return True


def missing(db, writers):
    """``{name: [seq, ...]}``: the commits each writer (``Record``) saw
    acknowledged that ``db`` does not hold (none, after any failover)."""
    tm = transaction.TransactionManager()
    connection = db.open(tm)
    try:
        tm.begin()
        trees = connection.root().get(ROOT_KEY, {})
        lost = {}
        for writer in writers:
            tree = trees.get(writer.name, {})
            gone = [c.seq for c in writer.commits() if c.seq not in tree]
            if gone:
                lost[writer.name] = gone
        return lost
    finally:
        tm.abort()
        connection.close()


class _Stopping:
    """Set by SIGTERM: the writer stops after the commit in flight."""

    def __init__(self):
        self.set = False
        signal.signal(signal.SIGTERM, self)

    def __call__(self, signum, frame):
        self.set = True


def _tree(connection, name):
    """The writer's tree, created on first use."""
    root = connection.root()
    if ROOT_KEY not in root:
        root[ROOT_KEY] = BTrees.OOBTree.OOBTree()
    if name not in root[ROOT_KEY]:
        root[ROOT_KEY][name] = BTrees.IOBTree.IOBTree()
    return root[ROOT_KEY][name]


def write(db, name, log, stopping, clock=time.monotonic):
    """Commit until ``stopping.set``, recording each acknowledged commit
    in the file ``log``."""
    tm = transaction.TransactionManager()
    connection = db.open(tm)
    seq = 0
    with open(log, 'a') as out:
        while not stopping.set:
            seq += 1
            start = clock()
            try:
                tm.begin()
                _tree(connection, name)[seq] = 1
                tm.commit()
            except Exception as error:  # every failure is retried
                tm.abort()
                logger.warning('commit %s failed: %s: %s', seq,
                            type(error).__name__, error)
                time.sleep(RETRY_PAUSE)
                continue
            out.write(f'{seq} {start:.6f} {clock():.6f}\n')
            out.flush()
    connection.close()


def open_db(zookeeper, path, attempts=OPEN_ATTEMPTS):
    """A ``ZODB.DB`` on the primary registered at ``path``. Clients that
    open an empty database at once all try to create its root, and all
    but one fail with a conflict: they try again."""
    import zc.zkzeo
    from ZODB.POSException import ConflictError
    for attempt in range(attempts):
        try:
            return zc.zkzeo.DB(zookeeper, path, wait_timeout=WAIT_TIMEOUT)
        except ConflictError:
            if attempt == attempts - 1:
                raise
            time.sleep(RETRY_PAUSE)


def main(args=None):
    parser = argparse.ArgumentParser(
        prog=f'python -m {__name__}',
        description='Commit to a database through zc.zkzeo until SIGTERM,'
                    ' logging every acknowledged commit.')
    parser.add_argument('zookeeper', help='ZooKeeper connection string')
    parser.add_argument('path', help="where the primary's ZEO address is"
                                     ' registered')
    parser.add_argument('name', help="the writer's name (its tree)")
    parser.add_argument('log', help='the file acknowledged commits are'
                                    ' appended to')
    options = parser.parse_args(args)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr,
        format='%(asctime)s %(levelname)s %(name)s %(message)s')
    stopping = _Stopping()
    db = open_db(options.zookeeper, options.path)
    try:
        write(db, options.name, options.log, stopping)
    finally:
        db.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
