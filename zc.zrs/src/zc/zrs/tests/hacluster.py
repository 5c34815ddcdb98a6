"""High-availability nodes as real ZEO server processes (``runzeo -C``
from a configuration file each), the clients that write to whichever is
primary (zkzeo, on ``<path>/primary``), and checks on the outcome."""
import faulthandler
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time

from persistent.mapping import PersistentMapping
from zope.testing.wait import wait

import zc.zk
import zc.zkzeo
from zc.zrs import election
from zc.zrs.tests import support

#: The ZooKeeper session timeout of the nodes (seconds).
SESSION_TIMEOUT = 2
#: The shortest session of the test's own ZooKeeper client, in seconds.
ADMIN_SESSION_TIMEOUT = 10

CONFIG = '''\
%import zc.zrs

<zeo>
  address 127.0.0.1:0
</zeo>

<zrs>
  failover on
  node-name {name}
  replicate-to 127.0.0.1:0
  zookeeper {zookeeper}
  zookeeper-path {path}
  zookeeper-session-timeout {session_timeout}
  election-timeout 3
  reconnect-delay 1
  {options}
  <filestorage>
    path {directory}/Data.fs
  </filestorage>
</zrs>

<eventlog>
  level INFO
  <logfile>
    path {directory}/zeo.log
  </logfile>
</eventlog>
'''


#: Errors logged when fencing works: ZEO's reports of a commit on a fenced
#: primary, or not acknowledged in time, and of a writing client knocking
#: at a node that is not (or no longer) the primary; a secondary refusing
#: the primary of an older epoch. And ZEO's report of a client resetting
#: its connection: a ZEO client dropping a connection attempt midway (its
#: addresses changed under a failover, or it was closed) closes a socket
#: the server wrote to and the client has not read yet, which the kernel
#: answers with a reset (ZEO 6.2: 14-17% of clients closed within 4 ms of
#: being opened do it; seen on a partitioned primary whose clients came
#: back while its registration gave way to the new primary's).
EXPECTED_FAILURE = re.compile(
    r'\n(zc\.zrs\.interfaces\.(Fenced|NotAcknowledged): [^\n]*'
    r'|ZODB\.POSException\.ReadOnlyError)\s*-*\s*$'
    r'|ERROR zc\.zrs\.secondary primary \S+ has epoch \d+, older than '
    r'epoch \d+: a stale primary; refusing it\s*-*\s*$'
    r'|ERROR ZEO\.asyncio\.server Disconnected ConnectionResetError:'
    r'[^\n]*\s*-*\s*$')


class NodeProcess:
    """One node: ``runzeo -C zeo.conf`` in a directory of its own."""

    def __init__(self, directory, name, zookeeper, path, options='',
                 session_timeout=SESSION_TIMEOUT):
        self.name = name
        self.directory = os.path.join(directory, name)
        os.makedirs(self.directory, exist_ok=True)
        self.config = os.path.join(self.directory, 'zeo.conf')
        with open(self.config, 'w') as f:
            f.write(CONFIG.format(name=name, zookeeper=zookeeper, path=path,
                                  session_timeout=session_timeout,
                                  options=options, directory=self.directory))
        self.process = None

    @property
    def data_path(self):
        return os.path.join(self.directory, 'Data.fs')

    @property
    def log_path(self):
        return os.path.join(self.directory, 'zeo.log')

    @property
    def output_path(self):
        return os.path.join(self.directory, 'output.log')

    def start(self):
        # With the fault handler, SIGABRT makes a stuck node print where
        # each of its threads is (see stop).
        env = dict(support.python_env(), PYTHONFAULTHANDLER='1')
        with open(self.output_path, 'ab') as out:
            self.process = subprocess.Popen(
                [sys.executable, '-m', 'ZEO.runzeo', '-C', self.config],
                env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT)

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(support.TIMEOUT)

    def stop(self):
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(support.TIMEOUT)
            except subprocess.TimeoutExpired:
                self.abort()
                raise AssertionError(
                    f'node {self.name} did not stop within {support.TIMEOUT}'
                    f' s of SIGTERM; its log ends:\n{self.log_tail()}\n'
                    f'its threads were at:\n{self.log_tail(200, True)}'
                ) from None

    def abort(self):
        """End a stuck node with SIGABRT: its fault handler writes every
        thread's stack to its output first."""
        self.process.send_signal(signal.SIGABRT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines=60, output=False):
        """The last ``lines`` lines of the node's log, or of its
        ``output`` (stdout and stderr): what a failure report needs, the
        test directory is gone by then."""
        try:
            with open(self.output_path if output else self.log_path) as f:
                return ''.join(f.readlines()[-lines:])
        except FileNotFoundError:
            return '(none)'

    def errors(self):
        """The ERROR and CRITICAL entries of the node's log, except the
        EXPECTED_FAILURE reports of ZEO."""
        try:
            with open(self.log_path) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        entries = re.split(r'\n(?=\d{4}-\d\d-\d\dT)', text)
        return [entry for entry in entries
                if re.match(r'\S+ (ERROR|CRITICAL) ', entry)
                and not EXPECTED_FAILURE.search(entry)]


class Cluster:
    """Nodes of one database at ``path`` in ZooKeeper (``zookeeper``:
    what the nodes connect to; ``admin``: what the test connects to,
    default the same; ``session_timeout``: the nodes' ZooKeeper
    sessions, in seconds)."""

    def __init__(self, directory, zookeeper, path, options='', admin=None,
                 session_timeout=SESSION_TIMEOUT):
        self.directory = directory
        self.session_timeout = session_timeout
        self.zookeeper = zookeeper
        self.path = path
        self.options = options
        self.nodes = {}
        # The test's own session (what it observes, its writers' zkzeo
        # clients) outlives whatever the nodes' sessions outlive: with the
        # client's default of 10 s, a ZooKeeper restart on a loaded machine
        # that 15 s node sessions survive expired it (3.13 in CI).
        self.zk = zc.zk.ZooKeeper(
            admin or zookeeper,
            session_timeout=max(session_timeout, ADMIN_SESSION_TIMEOUT))
        self.dbs = []

    def add(self, name, zookeeper=None):
        node = NodeProcess(self.directory, name, zookeeper or self.zookeeper,
                           self.path, self.options, self.session_timeout)
        self.nodes[name] = node
        node.start()
        return node

    def status(self):
        return election.status(self.zk, self.path)

    def roles(self):
        return {n['name']: n['role'] for n in self.status()['nodes']}

    def wait_roles(self, expected, timeout=support.TIMEOUT):
        """Wait until the live nodes have the ``expected`` roles."""
        wait(lambda: self.roles() == expected, timeout=timeout,
             message=f'roles {self.roles()}, not {expected}')

    def wait_new_primary(self, epoch, timeout=support.TIMEOUT):
        """Wait for a primary of an epoch after ``epoch`` serving ZEO
        clients; its name."""
        def serving():
            state = self.status()
            return (state['epoch'] > epoch and state['primary']
                    and self.zk.get_children(self.path + '/primary'))
        wait(serving, timeout=timeout,
             message=f'no new primary after epoch {epoch}')
        return self.status()['primary']

    def in_sync(self, names=None, timeout=support.TIMEOUT):
        """Wait until the nodes (default: all running) publish the same
        last tid."""
        names = names or [n for n, node in self.nodes.items()
                          if node.running]

        def same():
            tids = {n['name']: n.get('last_tid')
                    for n in self.status()['nodes']}
            return len({tids.get(name) for name in names}) == 1
        wait(same, timeout=timeout, message='nodes not in sync')

    def db(self):
        """A ZODB DB through zkzeo on the primary's registration."""
        db = zc.zkzeo.DB(self.zk, self.path + '/primary',
                         wait_timeout=support.TIMEOUT)
        self.dbs.append(db)
        return db

    def close(self):
        for db in self.dbs:
            db.close()
        for node in self.nodes.values():
            if node.running:
                node.stop()
        if not self.zk.closed:
            self.zk.delete_recursive(self.path, force=True)
            self.zk.close()

    def errors(self):
        return {name: node.errors() for name, node in self.nodes.items()
                if node.errors()}


class Writers:
    """``count`` zkzeo clients committing to the primary as fast as they
    can, from threads; each commit sets a new key of the client's own
    mapping (no conflicts). ``succeeded[i]`` lists the keys whose commit
    client i saw succeed; failed commits are retried after a pause."""

    PAUSE = 0.05

    def __init__(self, cluster, count=3):
        self.cluster = cluster
        self.dbs = [cluster.db() for _ in range(count)]
        with self.dbs[0].transaction() as conn:
            for i in range(count):
                conn.root().setdefault(f'client{i}', PersistentMapping())
        self.succeeded = [[] for _ in range(count)]
        self.failures = [0] * count
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write, args=(i,),
                                          daemon=True)
                         for i in range(count)]

    def start(self):
        for thread in self._threads:
            thread.start()

    def _write(self, i):
        db = self.dbs[i]
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                with db.transaction() as conn:
                    conn.root()[f'client{i}'][n] = os.urandom(100)
            except Exception:  # ClientDisconnected, Fenced...
                self.failures[i] += 1
                time.sleep(self.PAUSE)
                continue
            self.succeeded[i].append(n)

    def count(self):
        return sum(len(keys) for keys in self.succeeded)

    def wait_commits(self, more, timeout=support.TIMEOUT):
        """Wait until ``more`` commits succeed (from now on)."""
        target = self.count() + more
        try:
            wait(lambda: self.count() >= target, timeout=timeout,
                 message=f'commits stuck at {self.count()}')
        except wait.TimeOutWaitingFor:
            # Where the writers are stuck says why.
            faulthandler.dump_traceback(sys.stderr, all_threads=True)
            raise

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(support.TIMEOUT)

    def missing(self):
        """Commits a client saw succeed that the primary does not have
        (read by a new client)."""
        db = self.cluster.db()
        missing = []
        with db.transaction() as conn:
            for i, keys in enumerate(self.succeeded):
                mapping = conn.root()[f'client{i}']
                missing += [(i, n) for n in keys if n not in mapping]
        return missing


def quiet_kazoo():
    """kazoo warns about every connection the tests drop on purpose."""
    logging.getLogger('kazoo').setLevel(logging.CRITICAL)
