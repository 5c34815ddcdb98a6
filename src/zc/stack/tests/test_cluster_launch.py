"""``launch --after-gone``: a restarted database node waits until its
previous life's ephemeral node is gone from ZooKeeper (real ZooKeeper)."""
import contextlib
import io
import threading
import time
import unittest

import zc.zk
from zc.zk.testing import ZOOKEEPER, free_port

from zc.stack.cluster import launch

PATH = '/launch-test/nodes/zeo-1'


class AfterGoneTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.zk = zc.zk.ZooKeeper(ZOOKEEPER.connection_string)
        self.addCleanup(self.zk.close)
        self.addCleanup(self.zk.client.delete, '/launch-test',
                        recursive=True)

    def test_waits_until_the_previous_sessions_node_is_gone(self):
        previous = zc.zk.ZooKeeper(ZOOKEEPER.connection_string)
        self.addCleanup(previous.close)
        previous.client.create(PATH, b'{}', ephemeral=True, makepath=True)
        outcome = []
        waiting = threading.Thread(target=lambda: outcome.append(
            launch.wait_gone(ZOOKEEPER.connection_string, PATH, 30)))
        waiting.start()
        time.sleep(0.5)
        self.assertEqual(outcome, [])   # still there: still waiting
        previous.close()                # the session ends, the node goes
        waiting.join(30)
        self.assertEqual(outcome, [None])

    def test_a_node_not_there_is_not_waited_for(self):
        self.assertIsNone(launch.wait_gone(ZOOKEEPER.connection_string,
                                           PATH, 30))

    def test_gives_up_after_its_timeout(self):
        self.zk.client.create(PATH, b'{}', makepath=True)
        self.assertEqual(
            launch.wait_gone(ZOOKEEPER.connection_string, PATH, 0.2),
            f'{PATH} is still there after 0.2s')

    def test_gives_up_without_zookeeper(self):
        address = f'127.0.0.1:{free_port()}'
        self.assertEqual(
            launch.wait_gone(address, PATH, 30, connect_timeout=0.5),
            f'cannot connect to ZooKeeper at {address}')

    def test_usage(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(launch.main(['--after-gone', 'only-one']), 2)
        self.assertEqual(err.getvalue(), launch.USAGE + '\n')
