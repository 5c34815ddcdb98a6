"""ZooKeeper failing under a serving server: the registration comes back.

These tests stop and start their ZooKeeper, so it is one of their own,
not the shared layer's.
"""
import logging
import unittest

from kazoo.exceptions import KazooException

from zc.zk.testing import Server, expire_session

import zc.zkzopeserver
from zc.zkzopeserver.tests.helpers import connect, get, serve_in_thread, wait


class OwnZooKeeper:
    """A layer with a ZooKeeper server the tests may restart."""

    @classmethod
    def setUp(cls):
        cls.server = Server()
        try:
            cls.server.start()
        except BaseException:
            cls.server.close()
            raise

    @classmethod
    def tearDown(cls):
        cls.server.close()

    @classmethod
    def testSetUp(cls):
        # kazoo warns about every dropped connection; these are on purpose.
        logging.getLogger('kazoo').setLevel(logging.CRITICAL)

    @classmethod
    def testTearDown(cls):
        logging.getLogger('kazoo').setLevel(logging.NOTSET)
        if not cls.server.running:
            cls.server.start()


class FaultTests(unittest.TestCase):

    layer = OwnZooKeeper

    def setUp(self):
        self.hosts = OwnZooKeeper.server.address
        self.path = f'/faults-{self.id().rpartition(".")[2]}'
        _, self.port = serve_in_thread(
            self, zookeeper=self.hosts, path=self.path, host='127.0.0.1',
            session_timeout='3000', monitor_server='127.0.0.1:0')
        self.node = f'{self.path}/127.0.0.1:{self.port}'
        self.zk = connect(self, self.hosts)
        self.properties = self.zk.get_properties(self.node)

    def registered(self):
        """The registration's properties, or None while it is missing
        (or ZooKeeper cannot say)."""
        try:
            if self.zk.exists(self.node):
                return self.zk.get_properties(self.node)
        except KazooException:
            pass
        return None

    def test_zookeeper_restarted_while_serving(self):
        OwnZooKeeper.server.stop()
        # Serving does not depend on ZooKeeper.
        self.assertEqual(get(self.port)[0], 200)
        OwnZooKeeper.server.start()
        wait(self.registered, 'the registration after the restart')
        self.assertEqual(self.registered(), self.properties)
        self.assertEqual(get(self.port)[0], 200)

    def test_zookeeper_killed_and_restarted_with_the_session_expired(self):
        session = zc.zkzopeserver.server_for_testing.zookeeper
        owner = self.zk.exists(self.node).ephemeralOwner
        OwnZooKeeper.server.stop(kill=True)
        OwnZooKeeper.server.start()
        # The server may keep sessions over a restart; make it expire
        # ours, as it would after a longer partition.
        wait(lambda: session.client.connected, 'the server reconnected')
        expire_session(session.client, self.hosts)
        wait(self.registered, 'the registration on a new session')
        self.assertEqual(self.registered(), self.properties)
        # Made again, by the new session.
        self.assertNotEqual(self.zk.exists(self.node).ephemeralOwner, owner)
        self.assertEqual(get(self.port)[0], 200)
