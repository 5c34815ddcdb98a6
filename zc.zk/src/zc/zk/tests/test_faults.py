"""What ZooKeeper clusters really do: a server restarted under connected
clients, a member of an ensemble stopped, a server that comes up late.

These run in their own layer: its servers are stopped and started by the
tests, so no other test may share them.
"""
import logging
import threading
import time
import unittest

from kazoo.exceptions import ConnectionLoss

import zc.thread
import zc.zk
from zc.zk.testing import Ensemble, Server, free_port
from zc.zk.tests.test_zookeeper import WAIT, wait_for


class FaultServers:
    """A standalone server and a 3-member ensemble, for faults."""

    @classmethod
    def setUp(cls):
        cls.server = Server()
        cls.ensemble = Ensemble(3)
        try:
            cls.server.launch()
            cls.ensemble.start()
            cls.server.wait_serving()
        except BaseException:
            cls.tearDown()
            raise

    @classmethod
    def tearDown(cls):
        cls.server.close()
        cls.ensemble.close()

    @classmethod
    def testSetUp(cls):
        # kazoo warns about every dropped connection; these are on purpose.
        logging.getLogger('kazoo').setLevel(logging.CRITICAL)

    @classmethod
    def testTearDown(cls):
        logging.getLogger('kazoo').setLevel(logging.NOTSET)
        stopped = [m for m in [cls.server, *cls.ensemble.members]
                   if not m.running]
        for member in stopped:
            member.launch()
        for member in stopped:
            member.wait_serving()


def retry(zk, func, *args, **kw):
    """Retry across a failover: requests in flight fail with
    ConnectionLoss when the member they went to is stopped."""
    return zk.client.retry(func, *args, **kw)


class RestartTests(unittest.TestCase):

    layer = FaultServers

    def connect(self, hosts):
        zk = zc.zk.ZooKeeper(hosts, session_timeout=10)
        self.addCleanup(zk.close)
        return zk

    def test_restart_keeps_registrations_and_watches(self):
        server = FaultServers.server
        provider = self.connect(server.address)
        provider.import_tree('/restart\n  /providers\n  threads = 1\n')
        provider.register('/restart/providers', 'h:1')
        client = self.connect(server.address)
        children = client.children('/restart/providers')
        properties = client.properties('/restart')
        calls = []
        children(lambda c: calls.append(sorted(c)))
        session = provider.client.client_id

        server.stop()
        wait_for(lambda: not client.client.connected)
        time.sleep(1)
        server.start()

        wait_for(lambda: provider.client.connected and
                 client.client.connected)
        self.assertEqual(provider.client.client_id, session)
        self.assertEqual(client.get_children('/restart/providers'), ['h:1'])
        # The watches were lost with the connection and are back: changes
        # made after the restart reach the views.
        other = self.connect(server.address)
        other.register('/restart/providers', 'h:2')
        other.properties('/restart').update(threads=2)
        wait_for(lambda: calls[-1] == ['h:1', 'h:2'])
        wait_for(lambda: properties['threads'] == 2)

    def test_killed_server_restart_past_the_session_timeout(self):
        # A server coming back restarts its sessions' clocks: clients that
        # retry promptly keep their sessions, even after a long outage.
        server = FaultServers.server
        provider = zc.zk.ZooKeeper(server.address, session_timeout=2)
        self.addCleanup(provider.close)
        provider.create('/killed')
        provider.register('/killed', 'h:1')
        session = provider.client.client_id
        server.stop(kill=True)
        time.sleep(3)
        server.start()
        wait_for(lambda: provider.client.connected)
        self.assertEqual(provider.client.client_id, session)
        self.assertEqual(provider.get_children('/killed'), ['h:1'])

    def test_wait_for_a_server_that_comes_up_late(self):
        port = free_port()
        late = Server(port=port)
        self.addCleanup(late.close)
        with self.assertLogs('zc.zk', logging.CRITICAL) as logs:
            connecting = zc.thread.Thread(
                lambda: zc.zk.ZooKeeper(f'127.0.0.1:{port}', wait=True))
            wait_for(lambda: logs.records)
            self.assertTrue(connecting.is_alive())
            late.start()
            zk = zc.thread.result(connecting, 30)
        self.addCleanup(zk.close)
        self.assertIn(f"Can't connect to ZooKeeper at '127.0.0.1:{port}'",
                      logs.output[0])
        zk.create('/late')
        self.assertTrue(zk.exists('/late'))


class EnsembleTests(unittest.TestCase):

    layer = FaultServers

    def connect(self, hosts=None):
        zk = zc.zk.ZooKeeper(hosts or FaultServers.ensemble.hosts)
        self.addCleanup(zk.close)
        return zk

    def test_one_member_down_at_a_time(self):
        ensemble = FaultServers.ensemble
        provider = self.connect()
        retry(provider, provider.create_recursive, '/ensemble/providers',
              b'', zc.zk.OPEN_ACL_UNSAFE)
        retry(provider, provider.register, '/ensemble/providers', 'h:0')
        session = provider.client.client_id
        watcher = self.connect()
        seen = []
        watcher.children('/ensemble/providers')(
            lambda c: seen.append(sorted(c)))
        for i, member in enumerate(ensemble.members, 1):
            member.stop()
            others = [m.address for m in ensemble.members if m.running]
            # Registration and discovery keep working, from clients that
            # know the whole ensemble and from ones that only know the
            # living members.
            newcomer = self.connect(','.join(others))
            retry(newcomer, newcomer.register, '/ensemble/providers',
                  f'h:{i}')
            expected = [f'h:{n}' for n in range(i + 1)]
            wait_for(lambda: seen and seen[-1] == expected,
                     message=lambda: f'member {i} down: saw {seen}')
            self.assertEqual(
                sorted(retry(provider, provider.get_children,
                             '/ensemble/providers')), expected)
            member.start()
        self.assertEqual(provider.client.client_id, session)

    def test_expiry_in_an_ensemble_restores_registrations(self):
        from zc.zk.testing import expire_session
        ensemble = FaultServers.ensemble
        provider = self.connect()
        retry(provider, provider.create_recursive, '/expiry', b'',
              zc.zk.OPEN_ACL_UNSAFE)
        retry(provider, provider.register, '/expiry', 'h:1')
        watcher = self.connect()
        seen = []
        watcher.children('/expiry')(lambda c: seen.append(len(c)))
        for attempt in range(3):
            try:
                expire_session(provider.client, ensemble.hosts)
                break
            except ConnectionLoss:
                continue
        wait_for(lambda: 0 in seen and seen[-1] == 1)
        self.assertTrue(retry(watcher, watcher.is_ephemeral, '/expiry/h:1'))


def test_suite():
    loader = unittest.defaultTestLoader
    return unittest.TestSuite([loader.loadTestsFromTestCase(RestartTests),
                               loader.loadTestsFromTestCase(EnsembleTests)])
