"""Fault tests of high availability: real ZEO server processes as nodes
(runzeo, from configuration files), zkzeo clients writing to whichever
is primary, a ZooKeeper server of the layer's own (restarted by one
test), synchronous replication: no commit a client saw succeed is ever
lost, writes resume by themselves, and replicas end byte-identical."""
import os
import tempfile
import time
import unittest

from zc.zk.testing import RestartableZooKeeperLayer
from zc.zrs.tests import hacluster
from zc.zrs.tests import proxy
from zc.zrs.tests import support

ZOOKEEPER = RestartableZooKeeperLayer('FailoverZooKeeper', __name__)
SYNCHRONOUS = 'synchronous 1\nsynchronous-timeout 2'


class FailoverTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        hacluster.quiet_kazoo()
        self._tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self._tmp.cleanup)
        self.cluster = self.make_cluster()

    def make_cluster(self, zookeeper=None):
        cluster = hacluster.Cluster(
            self._tmp.name, self.layer.hosts,
            '/' + self.id().rsplit('.', 1)[-1], SYNCHRONOUS)
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
        writers = hacluster.Writers(self.cluster, 3)
        writers.start()
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
