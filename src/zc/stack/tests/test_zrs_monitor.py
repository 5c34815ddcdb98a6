"""zc.zrs's ``replication`` command and metrics, through a real zc.monitor
server, for primaries, secondaries and relays in this process (zc.zrs's
``monitor`` extra: zc.zrs and zc.monitor together, so it lives here)."""
import re

import prometheus_client.parser
import ZODB.config
import zope.component.testing
from zope.testing.wait import wait

import zc.monitor
import zc.monitor.client
import zc.zrs
from zc.zrs import monitor
from zc.zrs.interfaces import IReplicationStatus
from zc.zrs.tests import support
from zc.zrs.tests.test_replication import TempDirTest

TID = '[0-9a-f]{16}'


class MonitorTests(TempDirTest):

    def setUp(self):
        super().setUp()
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        self.address = zc.monitor.start(('127.0.0.1', 0))
        self.addCleanup(zc.monitor.stop)

    def ask(self, line):
        return zc.monitor.client.query(self.address, line)

    def test_primary_and_secondary(self):
        primary, db = self.primary_db()
        monitor.register(primary, 'main')
        self.assertEqual(self.ask('replication'),
                         'main primary secondaries=0\n')
        self.commit(db, 3)
        secondary = self.secondary(primary.address, 'secondary.fs')
        monitor.register(secondary, 'replica')
        self.caught_up(secondary, primary)
        wait(lambda: 'lag=0.000' in self.ask('replication main'),
             timeout=support.TIMEOUT)
        main, replica = self.ask('replication').splitlines()
        self.assertRegex(main, rf'^main primary secondary=127\.0\.0\.1:\d+'
                               rf' protocol=zrs2\.2 last={TID} lag=0\.000'
                               r' behind=0$')
        self.assertEqual(
            replica, f'replica secondary primary=127.0.0.1:'
                     f'{primary.address[1]} connected=yes'
                     f' last={primary.lastTransaction().hex()} pending=0')
        self.assertEqual(self.ask('replication nonesuch'),
                         "No replicated storage named 'nonesuch'\n")

    def test_a_relay_shows_both_roles(self):
        primary, db = self.primary_db()
        self.commit(db)
        # A relay: a secondary over a primary that serves others.
        relay = zc.zrs.Secondary(
            zc.zrs.Primary(self.path('relay.fs'), ('127.0.0.1', 0)),
            primary.address, reconnect_delay=0.1)
        self.addCleanup(relay.close)
        self.caught_up(relay, primary)
        monitor.register(relay, 'relay')
        lines = self.ask('replication').splitlines()
        self.assertEqual([line.split()[:2] for line in lines],
                         [['relay', 'secondary'], ['relay', 'primary']])

    def test_metrics(self):
        primary, db = self.primary_db()
        self.commit(db, 2)
        secondary = self.secondary(primary.address)
        monitor.register(primary, '1')
        monitor.register(secondary, '2')
        self.caught_up(secondary, primary)
        wait(lambda: 'zrs_secondary_lag_seconds{' in self.ask('metrics'),
             timeout=support.TIMEOUT)
        families = {family.name: family for family in
                    prometheus_client.parser.text_string_to_metric_families(
                        self.ask('metrics'))}
        [count] = families['zrs_secondaries'].samples
        self.assertEqual((count.labels, count.value), ({'storage': '1'}, 1))
        [lag] = families['zrs_secondary_lag_seconds'].samples
        self.assertEqual(lag.labels['storage'], '1')
        self.assertRegex(lag.labels['secondary'], r'^127\.0\.0\.1:\d+$')
        self.assertEqual(lag.value, 0.0)
        [behind] = families['zrs_secondary_bytes_behind'].samples
        self.assertEqual(behind.value, 0)
        [connected] = families['zrs_connected_to_primary'].samples
        self.assertEqual((connected.labels, connected.value),
                         ({'storage': '2', 'primary':
                           f'127.0.0.1:{primary.address[1]}'}, 1))

    def test_a_zrs_section_registers_its_storage_under_its_name(self):
        storage = ZODB.config.storageFromString(f'''
            %import zc.zrs
            <zrs accounts>
              replicate-to 127.0.0.1:0
              <filestorage>
                path {self.path('accounts.fs')}
              </filestorage>
            </zrs>
        ''')
        self.addCleanup(storage.close)
        self.assertIs(zope.component.getUtility(IReplicationStatus,
                                                'accounts'), storage)
        self.assertTrue(re.match(r'accounts primary secondaries=0\n$',
                                 self.ask('replication')))
