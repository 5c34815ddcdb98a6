"""zc.zrs's ``replication`` command and metrics, through a real zc.monitor
server, for primaries, secondaries and relays in this process, and for
ZEO servers whose configuration starts a monitor (zc.zrs's ``monitor``
extra: zc.zrs and zc.monitor together, so it lives here)."""
import os
import re
import tempfile
import unittest

import prometheus_client.parser
import ZEO
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


#: A ZEO server's storage '1' (with blobs, so replication speaks zrs2.2, blob-capable)
#: and its monitor, for ``ZEO.server()``:
#: ZEO's test server realizes its configuration, which configures logging
#: and so starts the ``<monitor>`` log handler.
ZEO_STORAGE_AND_MONITOR = '''
%import zc.zrs
%import zc.monitor
<zrs 1>
  {replication}
  <filestorage>
    path {directory}/{role}.fs
    blob-dir {directory}/{role}.blobs
  </filestorage>
</zrs>
<eventlog>
  <logfile>
    path {directory}/{role}.log
  </logfile>
  <monitor>
    address {directory}/{role}-monitor.sock
  </monitor>
</eventlog>
'''


class ZEOServersTests(unittest.TestCase):
    """A primary and a read-only secondary ZEO server, each
    ``ZEO.server()`` in a process of its own, with a ``<zrs 1>`` storage
    and a monitor: each monitor shows its own server's role. (The ZEO
    servers of ``zc.zrs.testing.server`` share this process, where both
    storages would register as '1'.)"""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.directory = tmp.name
        where = f'127.0.0.1:{support.free_port()}'
        self.start('primary', f'replicate-to {where}')
        self.start('secondary', f'replicate-from {where}', read_only=True)

    def start(self, role, replication, read_only=False):
        _, stop = ZEO.server(
            storage_conf=ZEO_STORAGE_AND_MONITOR.format(
                replication=replication, directory=self.directory,
                role=role),
            zeo_conf=dict(read_only=read_only), threaded=False,
            start_timeout=support.TIMEOUT)
        self.addCleanup(stop, support.TIMEOUT)

    def ask(self, role):
        path = os.path.join(self.directory, f'{role}-monitor.sock')
        try:
            return zc.monitor.client.query(path, 'replication')
        except OSError:  # not listening yet
            return ''

    def test_replication_command_of_each_server(self):
        wait(lambda: 'connected=yes' in self.ask('secondary')
             and 'secondary=' in self.ask('primary'),
             timeout=support.TIMEOUT)
        primary, secondary = self.ask('primary'), self.ask('secondary')
        self.assertRegex(primary, r'^1 primary secondary=127\.0\.0\.1:\d+'
                                  r' protocol=zrs2\.2 last=\S+ lag=\S+'
                                  r' behind=\d+\n$')
        self.assertRegex(secondary, r'^1 secondary primary=127\.0\.0\.1:\d+'
                                    r' connected=yes last=\S+ pending=\d+\n$')
