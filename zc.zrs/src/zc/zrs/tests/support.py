"""Helpers shared by the zc.zrs tests."""
import contextlib
import logging
import os
import subprocess
import sys

import ZODB.FileStorage
from ZODB.Connection import TransactionMetaData
from ZODB.utils import z64

# free_port: for servers that cannot report the port they bound, like the
# original zc.zrs and runzeo. stop_process: SIGSTOP, and wait until it took.
from zc.zk.testing import free_port  # noqa: F401 (for the tests)
from zc.zk.testing import stop_process  # noqa: F401 (for the tests)
from zc.zrs.testing import same_bytes

#: Upper bound on any single wait in the tests.
TIMEOUT = 60


def transactions(path):
    """Everything a FileStorage holds, as comparable data: per transaction
    its header and its records."""
    storage = ZODB.FileStorage.FileStorage(path, read_only=True)
    try:
        return [((t.tid, t.status, t.user, t.description, t.extension),
                 [(r.oid, r.tid, r.data, r.data_txn) for r in t])
                for t in storage.iterator()]
    finally:
        storage.close()


def killed_while_committing(storage, data_path, copy_path):
    """Commit a transaction (a new object, a copy of the root that no
    connection loads) to ``storage``, whose data file is ``data_path``,
    and copy the file to ``copy_path`` between the vote and the finish:
    what a process killed there leaves (the vote wrote and flushed the
    transaction, marked as in progress). The transaction's tid."""
    meta = TransactionMetaData()
    data, _ = storage.load(z64)
    storage.tpc_begin(meta)
    storage.store(storage.new_oid(), z64, data, '', meta)
    storage.tpc_vote(meta)
    with open(data_path, 'rb') as source, open(copy_path, 'wb') as copy:
        copy.write(source.read())
    return storage.tpc_finish(meta)


def assert_prefix(test, primary_path, secondary_path):
    """The secondary holds only whole committed transactions of the
    primary, in order: its history is a prefix of the primary's."""
    secondary = transactions(secondary_path)
    primary = transactions(primary_path)
    tids = [t[0][0].hex() for t in secondary]
    test.assertEqual(tids, sorted(set(tids)))
    test.assertEqual([t[0][0].hex() for t in primary[:len(secondary)]],
                     tids)
    test.assertTrue(primary[:len(secondary)] == secondary,
                    'the secondary has transactions the primary has not')


def assert_replica(test, primary_path, secondary_path):
    """Same transactions, and the same bytes."""
    primary = transactions(primary_path)
    secondary = transactions(secondary_path)
    test.assertEqual([t[0][0].hex() for t in primary],
                     [t[0][0].hex() for t in secondary])
    test.assertTrue(primary == secondary, 'different transactions')
    test.assertTrue(same_bytes(primary_path, secondary_path))


def python_env():
    """Environment for child processes that import what we import."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in sys.path if p)
    return env


def spawn(*args, **kw):
    """A Python child process of ours with piped stdio."""
    return subprocess.Popen([sys.executable, *args], env=python_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


class LogCapture(logging.Handler):
    """Records zc.zrs log records (installed for a test's duration)."""

    def __init__(self, name='zc.zrs', level=logging.INFO):
        super().__init__(level)
        self.records = []
        self.logger = logging.getLogger(name)

    def emit(self, record):
        self.records.append(record)

    def install(self):
        self.logger.addHandler(self)
        self._old_level = self.logger.level
        self.logger.setLevel(self.level)
        self._propagate = self.logger.propagate
        self.logger.propagate = False
        return self

    def uninstall(self):
        self.logger.removeHandler(self)
        self.logger.setLevel(self._old_level)
        self.logger.propagate = self._propagate

    def messages(self, level=logging.ERROR):
        return [r.getMessage() for r in self.records if r.levelno >= level]


@contextlib.contextmanager
def captured_logs(name='zc.zrs'):
    capture = LogCapture(name).install()
    try:
        yield capture
    finally:
        capture.uninstall()

