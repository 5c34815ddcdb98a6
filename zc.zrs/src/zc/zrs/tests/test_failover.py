"""Fault tests of high availability: real ZEO server processes as nodes
(runzeo, from configuration files), zkzeo clients writing to whichever
is primary, a ZooKeeper server of the layer's own (restarted by one
test), synchronous replication: no commit a client saw succeed is ever
lost, writes resume by themselves, and replicas end byte-identical."""
import os
import shutil
import signal
import tempfile
import time
import unittest
import uuid

from persistent.mapping import PersistentMapping

import zc.zrs.primary
from zc.zk.testing import RestartableZooKeeperLayer
from zc.zrs.tests import hacluster
from zc.zrs.tests import proxy
from zc.zrs.tests import support

ZOOKEEPER = RestartableZooKeeperLayer('FailoverZooKeeper', __name__)
SYNCHRONOUS = 'synchronous 1\nsynchronous-timeout 2'
#: Sessions that outlive a restart of ZooKeeper: ZooKeeper keeps them only
#: if their clients are back within the timeout, and a JVM's start takes
#: longer than the other tests' 2 s on a loaded machine (the sessions then
#: expire, and a failover is the right answer).
RESTART_SESSION_TIMEOUT = 15
#: Seconds within which a node given SIGTERM exits once it has nothing
#: left to wait for (an interpreter's exit on a loaded machine included).
PROMPT_EXIT = 5


class FailoverTests(unittest.TestCase):

    layer = ZOOKEEPER
    #: A node's unexpected ERROR is shown whole: the test directory, and
    #: the log with it, is gone by the time anyone reads the failure.
    maxDiff = None

    def setUp(self):
        hacluster.quiet_kazoo()
        self.directory = tempfile.mkdtemp(prefix='zc.zrs-failover-')
        if os.environ.get('ZC_ZRS_KEEP_TEST_DIRECTORY'):
            print('\n', self.directory)
        else:
            self.addCleanup(shutil.rmtree, self.directory)
        self.cluster = self.make_cluster()

    def make_cluster(self, options=SYNCHRONOUS, **keywords):
        cluster = hacluster.Cluster(
            self.directory, self.layer.hosts,
            f'/{self.id().rsplit(".", 1)[-1]}-{uuid.uuid4().hex}',
            options, **keywords)
        self.addCleanup(cluster.close)
        return cluster

    def start(self, first, *others, zookeeper=None):
        """``first`` becomes primary; the others follow it."""
        cluster = self.cluster
        cluster.add(first, zookeeper)
        cluster.wait_roles({first: 'primary'})
        for name in others:
            cluster.add(name)
        cluster.wait_roles(dict({first: 'primary'},
                                **{n: 'secondary' for n in others}))

    def writers(self, count):
        writers = hacluster.Writers(self.cluster, count)
        self.addCleanup(writers.stop)
        writers.start()
        return writers

    def finish(self, writers):
        """Stop writing; every commit seen to succeed is there, and every
        node holds the same bytes."""
        writers.stop()
        self.cluster.in_sync()
        self.assertEqual(writers.missing(), [])
        primary = self.cluster.status()['primary']
        self.cluster.close()
        nodes = self.cluster.nodes
        for name, node in nodes.items():
            if name != primary:
                support.assert_replica(self, nodes[primary].data_path,
                                       node.data_path)
        self.assertEqual(self.cluster.errors(), {})

    def test_sigkill_the_primary_during_a_write_storm(self):
        self.start('a', 'b', 'c')
        writers = self.writers(3)
        writers.wait_commits(60)
        epoch = self.cluster.status()['epoch']
        self.cluster.nodes['a'].kill()
        killed = time.monotonic()
        new = self.cluster.wait_new_primary(epoch)
        self.assertIn(new, ('b', 'c'))
        writers.wait_commits(30)  # by themselves
        self.assertLess(time.monotonic() - killed, 30)
        self.cluster.nodes['a'].start()  # it rejoins as a secondary
        self.cluster.wait_roles(
            {'a': 'secondary', 'b': 'secondary', 'c': 'secondary',
             new: 'primary'})
        writers.wait_commits(30)
        self.finish(writers)

    def test_kill_the_new_primary_while_the_old_one_comes_back(self):
        # Two kills in a row: the killed primary restarts at once (as
        # under zdaemon), and the primary elected next is killed as soon
        # as writes resume on it, while the first is still rejoining. The
        # third takes over, the others follow it, writes resume by
        # themselves and nothing acknowledged is lost.
        self.start('a', 'b', 'c')
        writers = self.writers(3)
        writers.wait_commits(60)
        epoch = self.cluster.status()['epoch']
        self.cluster.nodes['a'].kill()
        self.cluster.nodes['a'].start()
        second = self.cluster.wait_new_primary(epoch)
        writers.wait_commits(1)  # a secondary acknowledged: it has them all
        epoch = self.cluster.status()['epoch']
        self.cluster.nodes[second].kill()
        third = self.cluster.wait_new_primary(epoch)
        self.assertNotEqual(third, second)
        writers.wait_commits(30)  # by themselves
        self.cluster.nodes[second].start()
        self.cluster.wait_roles(dict({n: 'secondary' for n in 'abc'},
                                     **{third: 'primary'}))
        writers.wait_commits(30)
        self.finish(writers)

    def test_a_partition_cuts_the_primary_off(self):
        # The primary reaches ZooKeeper through a proxy; the partition cuts
        # it off (its secondaries then refuse it: they know the new epoch).
        middle = proxy.Proxy(('127.0.0.1', self.layer.server.port), None)
        self.addCleanup(middle.close)
        self.start('a', 'b', 'c',
                   zookeeper='127.0.0.1:%s' % middle.address[1])
        writers = self.writers(3)
        writers.wait_commits(60)
        epoch = self.cluster.status()['epoch']
        middle.partition()
        new = self.cluster.wait_new_primary(epoch)
        self.assertIn(new, ('b', 'c'))
        writers.wait_commits(30)  # on the new primary
        middle.heal()
        self.cluster.wait_roles(
            {'a': 'secondary', 'b': 'secondary', 'c': 'secondary',
             new: 'primary'})
        self.assertEqual(self.cluster.status()['epoch'], epoch + 1)
        writers.wait_commits(30)
        self.finish(writers)
        with open(os.path.join(self.cluster.nodes['a'].directory,
                               'zeo.log')) as f:
            log = f.read()
        self.assertIn('fenced', log)
        self.assertIn('steps down', log)

    def test_kill_the_only_in_sync_secondary(self):
        self.start('a', 'b')
        writers = self.writers(2)
        writers.wait_commits(40)
        epoch = self.cluster.status()['epoch']
        self.cluster.nodes['b'].kill()
        # Commits fail (not acknowledged) within synchronous-timeout...
        failures = sum(writers.failures)
        wait_for = time.monotonic() + support.TIMEOUT
        while (sum(writers.failures) == failures
               and time.monotonic() < wait_for):
            time.sleep(0.05)
        time.sleep(0.5)
        stalled = writers.count()
        time.sleep(1)
        self.assertEqual(writers.count(), stalled)
        # ... and the primary stays the primary.
        self.assertEqual(self.cluster.status()['primary'], 'a')
        self.cluster.nodes['b'].start()
        writers.wait_commits(30)  # once b is back in sync
        self.assertEqual(self.cluster.status()['epoch'], epoch)
        self.finish(writers)

    def test_restart_zookeeper_without_failover(self):
        self.cluster = self.make_cluster(
            session_timeout=RESTART_SESSION_TIMEOUT)
        self.start('a', 'b')
        writers = self.writers(2)
        writers.wait_commits(40)
        epoch = self.cluster.status()['epoch']
        server = self.layer.server
        server.stop()
        server.start()
        writers.wait_commits(40)
        self.assertEqual(self.cluster.status()['epoch'], epoch)
        self.assertEqual(self.cluster.roles(),
                         {'a': 'primary', 'b': 'secondary'})
        self.finish(writers)

    def test_sigterm_the_primary_with_its_secondary_in_sync(self):
        # A planned stop: the primary exits at once (nothing is left to
        # send), and its secondary takes over with every commit.
        self.start('a', 'b')
        writers = self.writers(2)
        writers.wait_commits(40)
        writers.stop()
        self.cluster.in_sync()
        epoch = self.cluster.status()['epoch']
        stopping = time.monotonic()
        self.cluster.nodes['a'].stop()
        self.assertLess(time.monotonic() - stopping, PROMPT_EXIT)
        self.assertEqual(self.cluster.wait_new_primary(epoch), 'b')
        self.finish(writers)

    def test_sigterm_a_primary_whose_secondary_reads_nothing(self):
        # The secondary's process is stopped (SIGSTOP) while the primary
        # has megabytes for it: the primary says at once what it waits
        # for, gives up after primary.STALL_TIMEOUT, and exits.
        self.cluster = self.make_cluster(options='')  # asynchronous
        self.start('a', 'b')
        db = self.cluster.db()
        with db.transaction() as conn:
            conn.root()['start'] = 1
        self.cluster.in_sync()
        secondary = self.cluster.nodes['b'].process
        self.addCleanup(secondary.send_signal, signal.SIGCONT)
        support.stop_process(secondary.pid)
        for i in range(24):  # more than the sockets between them hold
            with db.transaction() as conn:
                conn.root()[i] = PersistentMapping(data=os.urandom(1 << 20))
        primary = self.cluster.nodes['a']
        stopping = time.monotonic()
        primary.stop()
        self.assertLess(time.monotonic() - stopping,
                        zc.zrs.primary.STALL_TIMEOUT + PROMPT_EXIT)
        with open(primary.log_path) as f:
            log = f.read()
        self.assertRegex(log, r'INFO zc\.zrs\.primary closing: waiting up to '
                         r'60 seconds for secondary \S+ to receive \d+ more '
                         r'bytes')
        self.assertRegex(log, r'WARNING zc\.zrs\.primary secondary \S+ took '
                         r'nothing for 5 seconds: disconnecting it at close, '
                         r'\d+ bytes short')
        secondary.send_signal(signal.SIGCONT)
