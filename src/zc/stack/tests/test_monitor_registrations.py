"""The monitor server that zkrunzeo and zc.zkzopeserver start beside their
server (their ``monitor`` extras), asked through zc.monitor's client: the
address registered in ZooKeeper is a live zc.monitor (three distributions
together, so they live here)."""
import unittest

import zc.monitor.client
import zc.zk
import zc.zkzopeserver
from zc.zk.testing import ZOOKEEPER
from zc.zkzeo.tests import helpers
from zc.zkzeo.tests.test_server import ServerTestCase
from zc.zkzopeserver.tests.helpers import TIMEOUT, connect, serve_in_thread


class ZKRunZEOMonitorTests(ServerTestCase):

    def test_properties_of_the_registration(self):
        storages = ''.join(
            f'<filestorage {name}>\n  path {self.path(name)}.fs\n'
            '</filestorage>\n' for name in ('main', 'other'))
        self.config(zeo='address 127.0.0.1:0\nread-only true',
                    zookeeper=f'connection {ZOOKEEPER.connection_string}\n'
                              'path /databases/ro\n'
                              'monitor-server 127.0.0.1:0',
                    storages=storages)
        server = self.start()
        [(address, properties)] = helpers.wait_registered(
            self.zk, '/databases/ro').items()
        host, port = zc.zk.parse_addr(address)
        self.assertEqual(host, '127.0.0.1')
        self.assertNotEqual(port, 0)
        monitor = properties.pop('monitor')
        self.assertEqual(properties, dict(pid=server.pid, read_only=True,
                                          storages=['main', 'other']))
        # The monitor is there, and tells which registration is its own.
        answer = zc.monitor.client.query(zc.zk.parse_addr(monitor),
                                         'servers', helpers.TIMEOUT)
        self.assertEqual(answer.strip(), f'["/databases/ro/{address}"]')
        self.assertTrue(self.zk.is_ephemeral(f'/databases/ro/{address}'))


class ZKZopeServerMonitorTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.zk = connect(self, ZOOKEEPER.connection_string)

    def serve(self, **settings):
        return serve_in_thread(self, zookeeper=ZOOKEEPER.connection_string,
                               path='/app', host='127.0.0.1', **settings)

    def test_monitor_server_address_is_a_property(self):
        thread, port = self.serve(monitor_server='127.0.0.1:0')
        properties = self.zk.get_properties(f'/app/127.0.0.1:{port}')
        host, monitor_port = zc.zk.parse_addr(properties['monitor'])
        self.assertEqual(host, '127.0.0.1')
        self.assertIn('help', zc.monitor.client.query(
            (host, monitor_port), 'help', timeout=TIMEOUT))
        zc.zkzopeserver.stop_for_testing(thread)
        with self.assertRaises(ConnectionRefusedError):
            zc.monitor.client.query((host, monitor_port), 'help')
