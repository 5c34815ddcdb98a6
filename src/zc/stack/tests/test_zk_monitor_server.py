"""zc.zk's ``servers`` command as operators use it: through a real
zc.monitor server, found by its entry point or registered by zc.zk's
``monitor.zcml`` (zc.zk and zc.monitor together, so it lives here)."""
import json
import unittest

import zope.component
import zope.component.testing
import zope.configuration.xmlconfig
import zope.event

import zc.monitor
import zc.monitor.client
import zc.zk
import zc.zk.monitor
from zc.zk.testing import ZOOKEEPER


class MonitorServerTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        zc.zk.monitor.registrations.clear()
        self.addCleanup(zc.zk.monitor.registrations.clear)
        self.zk = zc.zk.ZooKeeper(ZOOKEEPER.connection_string)
        self.addCleanup(self.zk.close)
        self.zk.import_tree('/app\n  /providers\n')
        zc.monitor.register_basics()
        self.address = zc.monitor.start(('127.0.0.1', 0))
        self.addCleanup(zc.monitor.stop)

    def ask(self, line):
        return zc.monitor.client.query(self.address, line)

    def test_servers_found_through_the_entry_point(self):
        zope.event.subscribers.append(zc.zk.monitor.notify)
        self.addCleanup(zope.event.subscribers.remove, zc.zk.monitor.notify)
        self.zk.register('/app/providers', ('127.0.0.1', 8080))
        self.zk.register('/app/providers', '127.0.0.1:8081')
        self.assertIn('  servers -- ', self.ask('help'))
        self.assertEqual(json.loads(self.ask('servers')),
                         ['/app/providers/127.0.0.1:8080',
                          '/app/providers/127.0.0.1:8081'])
        self.assertEqual(self.ask('servers /app/providers'),
                         '127.0.0.1:8080 127.0.0.1:8081\n')

    def test_monitor_zcml_registers_the_subscriber_and_the_command(self):
        zope.configuration.xmlconfig.file('monitor.zcml', zc.zk)
        self.assertIs(zope.component.getUtility(
            zc.monitor.interfaces.IMonitorPlugin, 'servers'),
            zc.zk.monitor.servers)
        self.zk.register('/app/providers', ('127.0.0.1', 9000))
        self.assertEqual(json.loads(self.ask('servers')),
                         ['/app/providers/127.0.0.1:9000'])
