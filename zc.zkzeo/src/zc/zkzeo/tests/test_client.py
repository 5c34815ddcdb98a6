"""zc.zkzeo.client: waiting for servers, following them, what it logs, and
what it owns, against the shared real ZooKeeper."""
import logging
import unittest

import transaction
from zope.testing.wait import wait

import zc.thread
import zc.zk
import zc.zkzeo
import zc.zkzeo.runzeo
from zc.zk.testing import ZOOKEEPER
from zc.zkzeo.tests import helpers

PATH = '/databases/main'
CLIENT_LOG = 'zc.zkzeo._client'


class ClientTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.zk = helpers.session(self, ZOOKEEPER.connection_string)

    def server(self, storage=None):
        stop = zc.zkzeo.runzeo.test(PATH, storage=storage,
                                    zookeeper=ZOOKEEPER.connection_string)
        self.addCleanup(stop)
        return stop

    def client(self, **kw):
        kw.setdefault('wait_timeout', helpers.TIMEOUT)
        storage = zc.zkzeo.client(ZOOKEEPER.connection_string, PATH, **kw)
        self.addCleanup(storage.close)
        return storage

    def test_waits_for_a_first_server(self):
        with self.assertLogs(CLIENT_LOG, logging.INFO) as logs:
            opening = zc.thread.Thread(lambda: zc.zkzeo.client(
                ZOOKEEPER.connection_string, PATH, wait_warning_interval=0.2,
                wait_timeout=helpers.TIMEOUT))
            wait(lambda: sum('No addresses from' in line
                             for line in logs.output) >= 2,
                 timeout=helpers.TIMEOUT)
            self.assertTrue(opening.is_alive())
            self.server()
            storage = zc.thread.result(opening, helpers.TIMEOUT)
            self.addCleanup(storage.close)
        label = f'{ZOOKEEPER.connection_string}{PATH}'
        self.assertIn(f'WARNING:zc.zkzeo._client:No addresses from {label}',
                      logs.output)
        self.assertIn(f'INFO:zc.zkzeo._client:OK: Got addresses from {label}',
                      logs.output)
        self.assertTrue(storage.is_connected())
        self.assertTrue(storage.getName().startswith(label))

    def test_no_wait(self):
        storage = self.client(wait=False)
        self.assertFalse(storage.is_connected())
        self.assertEqual(list(storage.zookeeper_addresses), [])
        self.server()
        wait(storage.is_connected, timeout=helpers.TIMEOUT)

    def test_follows_servers_and_logs_changes(self):
        storage = (f'<filestorage>\n path {helpers.directory(self)}/main.fs\n'
                   '</filestorage>')
        first = self.server(storage)
        [address] = helpers.wait_registered(self.zk, PATH)
        db = zc.zkzeo.DB(ZOOKEEPER.connection_string, PATH,
                         wait_timeout=helpers.TIMEOUT)
        self.addCleanup(db.close)
        label = f'{ZOOKEEPER.connection_string}{PATH}'
        with self.assertLogs(CLIENT_LOG, logging.INFO) as logs:
            first()
            wait(lambda: any('No addresses from' in line
                             for line in logs.output),
                 timeout=helpers.TIMEOUT)
            self.server(storage)
            [second] = helpers.wait_registered(self.zk, PATH)
            wait(lambda: any(f"'{second}'" in line for line in logs.output),
                 timeout=helpers.TIMEOUT)
        self.assertEqual(logs.output, [
            f'WARNING:zc.zkzeo._client:No addresses from {label}',
            f'WARNING:zc.zkzeo._client:OK: Addresses from {label}',
            f"INFO:zc.zkzeo._client:Addresses from {label}: ['{second}']",
        ])
        self.assertNotEqual(second, address)
        helpers.commit(db, 'after the move')
        self.assertTrue(db.storage.is_connected())

    def test_connection_closes_database_and_session(self):
        self.server()
        connection = zc.zkzeo.connection(ZOOKEEPER.connection_string, PATH,
                                         wait_timeout=helpers.TIMEOUT)
        storage = connection.db().storage
        session = storage.zookeeper_addresses.zk
        connection.root.x = 1
        transaction.commit()
        connection.close()
        self.assertTrue(session.closed)
        self.assertFalse(storage.is_connected())

    def test_a_session_of_the_caller_stays_open(self):
        self.server()
        storage = zc.zkzeo.client(self.zk, PATH,
                                  wait_timeout=helpers.TIMEOUT)
        self.assertIs(storage.zookeeper_addresses.zk, self.zk)
        storage.close()
        self.assertFalse(self.zk.closed)
        self.assertEqual(len(self.zk.get_children(PATH)), 1)

    def test_children_that_are_not_addresses_are_ignored(self):
        self.zk.create(f'{PATH}/not-an-address', makepath=True)
        self.server()
        with self.assertLogs(CLIENT_LOG, logging.WARNING) as logs:
            storage = self.client()
        self.assertTrue(storage.is_connected())
        self.assertIn("Ignoring 'not-an-address'", logs.output[0])
