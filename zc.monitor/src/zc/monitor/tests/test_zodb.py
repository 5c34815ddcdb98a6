"""The ZODB/ZEO commands against real databases and a real ZEO server."""
import sys
import time
import unittest
import unittest.mock

import ZEO
import ZODB
import transaction
from ZODB.interfaces import IDatabase
from zope.testing.wait import wait

import zc.monitor.zodb
from zc.monitor.tests.helpers import (POLL, TIMEOUT, MonitorTestCase,
                                     ZEOLayer)
from zc.monitor.tests.test_metrics import parse


class DatabaseTestCase(MonitorTestCase):

    def setUp(self):
        self.listen()

    def register_database(self, db, name=''):
        self.addCleanup(db.close)
        zc.monitor.zodb.register_database(db, name)
        self.addCleanup(zc.monitor.zodb.unregister_database, name)
        return db


class ZEOTests(DatabaseTestCase):

    layer = ZEOLayer

    def test_status_and_cache_before_and_after_the_server_stops(self):
        db = self.register_database(ZEO.DB(ZEOLayer.server.address))
        connection = db.open()
        connection.root()['zeo-test'] = list(range(1000))
        transaction.commit()
        connection.close()
        stats = db.storage._cache.getStats()
        self.assertEqual(self.ask('zeostatus'), 'True\n')
        self.assertEqual(self.ask('zeocache'), ' '.join(map(str, stats)) + '\n')
        self.assertGreaterEqual(stats[0], 2)  # the root, twice
        self.assertGreater(stats[1], 1000)    # the list's pickle in bytes
        families = parse(self.ask('metrics'))
        self.assertEqual(families['zeo_connected'][1],
                         {('zeo_connected', (('database', ''),)): 1.0})
        self.assertEqual(
            families['zeo_cache_added_bytes'],
            ('counter', {('zeo_cache_added_bytes_total',
                          (('database', ''),)): float(stats[1])}))

        ZEOLayer.server.stop()
        try:
            wait(lambda: not db.storage.is_connected(), timeout=TIMEOUT,
                 wait=POLL, message='the client to notice')
            self.assertEqual(self.ask('zeostatus'), 'False\n')
            self.assertEqual(self.ask('zeocache'),
                             ' '.join(map(str, stats)) + '\n')
            families = parse(self.ask('metrics'))
            self.assertEqual(families['zeo_connected'][1],
                             {('zeo_connected', (('database', ''),)): 0.0})
        finally:
            ZEOLayer.server.start()
        wait(db.storage.is_connected, timeout=TIMEOUT, wait=POLL,
             message='the client to reconnect')
        self.assertEqual(self.ask('zeostatus -'), 'True\n')

    def test_cache_accesses_are_counted(self):
        db = self.register_database(ZEO.DB(ZEOLayer.server.address), 'counted')
        before = [int(n) for n in self.ask('zeocache counted').split()]
        db.cacheMinimize()  # so the root is loaded again, from the ZEO cache
        with db.transaction() as connection:
            connection.root()._p_activate()
        after = [int(n) for n in self.ask('zeocache counted').split()]
        self.assertGreater(after[4], before[4])


class ZODBTests(DatabaseTestCase):

    def test_monitor_lists_old_connections_by_age(self):
        db = self.register_database(ZODB.DB(None))
        young, middle, old = db.open(), db.open(), db.open()
        self.addCleanup(young.close)
        self.addCleanup(middle.close)
        self.addCleanup(old.close)
        now = time.time()
        middle.opened = now - 200
        old.opened = now - 5000
        old.setDebugInfo('GET /slow-page')
        lines = self.ask('monitor').splitlines()
        self.assertEqual(lines[0], '3')
        self.assertTrue(lines[1].startswith('VmSize:'), lines)
        self.assertTrue(lines[2].startswith('VmRSS:'), lines)
        entries = [line.split(' ', 1) for line in lines[3:]]
        self.assertEqual([info for _, info in entries],
                         [' (0)', 'GET /slow-page (0)'])
        self.assertEqual([round(float(age), -2) for age, _ in entries],
                         [200, 5000])
        self.assertEqual(len(self.ask('monitor 1000').splitlines()), 4)
        self.assertEqual(len(self.ask('monitor 0 -').splitlines()), 6)

    def test_closed_connections_are_not_counted(self):
        db = self.register_database(ZODB.DB(None))
        db.open().close()
        self.assertEqual(self.ask('monitor').splitlines()[0], '0')

    def test_dbinfo_counts_loads_over_deltat(self):
        db = self.register_database(ZODB.DB(None))
        with db.transaction() as connection:
            connection.root()['a'] = ZODB.DB  # any picklable reference
            connection.root()['b'] = transaction.get().__class__
        db.cacheMinimize()
        with db.transaction() as connection:
            connection.root()._p_activate()
        loads, stores, connections, objects, non_ghosts = map(
            int, self.ask('dbinfo').split())
        self.assertGreater(loads, 0)
        self.assertGreater(stores, 0)
        self.assertEqual(connections, 2)
        self.assertEqual((objects, non_ghosts), (1, 1))
        self.assertEqual(self.ask('dbinfo - 0.000001'), f'0 0 0 1 1\n')
        self.assertEqual(self.ask('dbinfo - often'),
                         "deltat must be a number of seconds, not 'often'.\n")

    def test_dbinfo_without_an_activity_monitor(self):
        db = ZODB.DB(None)
        self.addCleanup(db.close)
        zc.monitor.zodb.register_database(db, activity_monitor=False)
        self.addCleanup(zc.monitor.zodb.unregister_database)
        self.assertEqual(self.ask('dbinfo'), '-1 -1 -1 1 1\n')
        self.assertNotIn('zodb_recent_loads', parse(self.ask('metrics')))

    def test_databases_registered_as_zope_utilities(self):
        # How a Zope application's databases are found.
        db = ZODB.DB(None)
        self.addCleanup(db.close)
        self.provide(db, IDatabase, 'app')
        self.assertEqual(self.ask('dbinfo app'), '-1 -1 -1 1 1\n')
        self.assertEqual(self.ask('monitor 100 app').splitlines()[0], '0')
        self.assertEqual(
            self.ask('zeocache app'),
            "The database 'app' does not use a ZEO client storage.\n")
        self.assertEqual(self.ask('dbinfo'),
                         'No main database is registered.\n')

    def test_without_zodb_the_commands_say_what_to_install(self):
        with unittest.mock.patch.dict(sys.modules, {'ZODB.interfaces': None}):
            self.assertEqual(
                self.ask('dbinfo'),
                'The ZODB commands need ZODB: install zc.monitor[zodb].\n')
            self.assertEqual(zc.monitor.zodb.databases(), [])
            self.assertIn('process_resident_memory_bytes',
                          parse(self.ask('metrics')))
