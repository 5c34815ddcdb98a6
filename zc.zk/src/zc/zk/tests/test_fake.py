"""The in-memory fake: what users' tests rely on beyond the README."""
import threading
import unittest

import kazoo.client
from kazoo.exceptions import (NoChildrenForEphemeralsError, NodeExistsError,
                              NoNodeError, RolledBackError)

import zc.thread
import zc.zk
import zc.zk.testing


class FakeTests(unittest.TestCase):

    def setUp(self):
        zc.zk.testing.setUp(self, real=False)
        self.addCleanup(zc.zk.testing.tearDown, self)
        self.server = zc.zk.testing.ZooKeeper

    def test_default_tree_and_patch(self):
        self.assertIsInstance(self.server, zc.zk.testing.FakeServer)
        with zc.zk.ZooKeeper('zookeeper.example.com:2181') as zk:
            self.assertIsInstance(zk.client, zc.zk.testing.FakeClient)
            self.assertEqual(zk.get_properties('/fooservice'), {
                'database': '/databases/foomain', 'threads': 1,
                'favorite_color': 'red'})
            self.assertTrue(zk.exists('/zookeeper/quota'))

    def test_other_connection_strings_fail_until_allowed(self):
        with self.assertRaises(zc.zk.FailedConnect):
            zc.zk.ZooKeeper('other:2181')
        with self.assertLogs('zc.zk', 'CRITICAL') as logs:
            waiting = zc.thread.Thread(
                lambda: zc.zk.ZooKeeper('other:2181', wait=True))
            waiting.join(1.2)   # logs once a second while waiting
            self.assertTrue(waiting.is_alive())
            self.server._allow_connection('other:2181')
            zk = zc.thread.result(waiting, 10)
        self.assertIn("Can't connect to ZooKeeper at 'other:2181'",
                      logs.output[0])
        self.assertEqual(zk.get_children('/fooservice'), ['providers'])
        zk.close()

    def test_chroot_ephemeral_sequence_and_errors(self):
        client = kazoo.client.KazooClient('zookeeper.example.com:2181/fooservice')
        client.start()
        self.addCleanup(client.stop)
        self.assertEqual(client.get_children('/'), ['providers'])
        created = client.create('/providers/n-', b'', sequence=True,
                                ephemeral=True)
        self.assertEqual(created, '/providers/n-0000000000')
        with self.assertRaises(NoChildrenForEphemeralsError):
            client.create(created + '/child')
        with self.assertRaises(NodeExistsError):
            client.create('/providers')
        with self.assertRaises(NoNodeError):
            client.create('/a/b')
        client.create('/a/b', makepath=True)
        client.stop()
        other = kazoo.client.KazooClient('zookeeper.example.com:2181')
        other.start()
        self.assertEqual(other.get_children('/fooservice/providers'), [])
        self.assertTrue(other.exists('/fooservice/a/b'))
        other.stop()

    def test_failed_transaction_changes_nothing_and_keeps_watches(self):
        client = kazoo.client.KazooClient('zookeeper.example.com:2181')
        client.start()
        self.addCleanup(client.stop)
        events = []
        client.exists('/t1', watch=events.append)
        transaction = client.transaction()
        transaction.create('/t1')
        transaction.create('/fooservice')
        results = transaction.commit()
        self.assertIsInstance(results[0], RolledBackError)
        self.assertIsInstance(results[1], NodeExistsError)
        self.assertIsNone(client.exists('/t1'))
        client.create('/t1')
        self.assertEqual([e.type for e in events], ['CREATED'])

    def test_lose_session_calls_func_while_lost(self):
        zk = zc.zk.ZooKeeper('zookeeper.example.com:2181')
        self.addCleanup(zk.close)
        zk.register('/fooservice/providers', 'h:1')
        seen = []

        def while_lost():
            seen.append(zk.client.connected)
            seen.append(self.server.nodes.get(
                '/fooservice/providers/h:1'))
        zk.client.lose_session(while_lost)
        self.assertEqual(seen, [False, None])
        self.assertTrue(zk.is_ephemeral('/fooservice/providers/h:1'))

    def test_watch_callbacks_run_before_the_change_returns(self):
        zk = zc.zk.ZooKeeper('zookeeper.example.com:2181')
        self.addCleanup(zk.close)
        threads = []
        zk.children('/fooservice')(
            lambda c: threads.append(threading.current_thread()))
        zk.create('/fooservice/x')
        self.assertEqual(threads, [threading.current_thread()] * 2)
