"""zkrunzeo: what it registers, when the registration goes, and the one-line
errors of bad configurations, against the shared real ZooKeeper."""
import os
import socket
import threading
import time
import unittest

import ZEO
import ZODB.FileStorage
from zope.testing.wait import wait

import zc.zk
import zc.zkzeo
import zc.zkzeo.runzeo
from zc.zk.testing import ZOOKEEPER, expire_session, free_port
from zc.zkzeo.tests import helpers


class ServerTestCase(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.directory = helpers.directory(self)
        self.zk = helpers.session(self, ZOOKEEPER.connection_string)

    def path(self, name):
        return os.path.join(self.directory, name)

    def config(self, zeo='address 127.0.0.1:0', zookeeper=None,
               storages=None, extra=''):
        if zookeeper is None:
            zookeeper = (f'connection {ZOOKEEPER.connection_string}\n'
                         'path /databases/main')
        if storages is None:
            storages = ('<filestorage>\n'
                        f'  path {self.path("main.fs")}\n</filestorage>')
        return helpers.write(self.path('zeo.conf'), (
            f'{extra}\n<zeo>\n{zeo}\n</zeo>\n'
            f'<zookeeper>\n{zookeeper}\n</zookeeper>\n{storages}\n'
            f'<eventlog>\n<logfile>\npath {self.path("zeo.log")}\n'
            '</logfile>\n</eventlog>\n'))

    def start(self):
        """Run the last configuration written (default: ``config()``)."""
        config = self.path('zeo.conf')
        if not os.path.exists(config):
            self.config()
        server = helpers.ZKRunZEO(config, cwd=self.directory)
        self.addCleanup(server.__exit__)
        return server

    def fails(self, config):
        """Run zkrunzeo on a bad configuration: its exit status and its
        output, which must be one line."""
        with helpers.ZKRunZEO(config, cwd=self.directory) as server:
            status = server.wait()
        self.assertEqual(len(server.output.splitlines()), 1, server.output)
        return status, server.output


class RegistrationTests(ServerTestCase):

    def test_read_only_storages_make_a_read_only_server(self):
        # As a replica's: the <zeo> section does not say read-only.
        ZODB.FileStorage.FileStorage(self.path('main.fs')).close()
        self.config(storages=f'<filestorage>\n path {self.path("main.fs")}\n'
                             ' read-only true\n</filestorage>')
        self.start()
        [properties] = helpers.wait_registered(
            self.zk, '/databases/main').values()
        self.assertIs(properties['read_only'], True)

    def test_stopped_server_is_unregistered(self):
        server = self.start()
        helpers.wait_registered(self.zk, '/databases/main')
        self.assertEqual(server.stop(), 0)
        # The session was closed on the way out: the node is gone now,
        # not a session timeout later.
        self.assertEqual(helpers.registered(self.zk, '/databases/main'), {})

    def test_fixed_port_registers_that_port(self):
        port = free_port()
        self.config(zeo=f'address 127.0.0.1:{port}')
        self.start()
        self.assertEqual(list(helpers.wait_registered(
            self.zk, '/databases/main')), [f'127.0.0.1:{port}'])

    def test_missing_path_is_created(self):
        self.config(zookeeper=f'connection {ZOOKEEPER.connection_string}\n'
                              'path /a/b/c')
        self.start()
        helpers.wait_registered(self.zk, '/a/b/c')
        self.assertFalse(self.zk.is_ephemeral('/a/b/c'))

    def test_no_path_no_registration(self):
        port = free_port()
        self.config(zeo=f'address 127.0.0.1:{port}',
                    zookeeper=f'connection {ZOOKEEPER.connection_string}')
        server = self.start()
        wait(lambda: _listening(port), timeout=helpers.TIMEOUT)
        self.assertEqual(self.zk.get_children('/'), [])
        self.assertEqual(server.stop(), 0)

    def test_ipv6_loopback(self):
        if not _ipv6_loopback():
            self.skipTest('no IPv6 loopback here')
        self.config(zeo='address [::1]:0')
        self.start()
        [address] = helpers.wait_registered(self.zk, '/databases/main')
        self.assertEqual(zc.zk.parse_addr(address)[0], '::1')
        db = zc.zkzeo.DB(ZOOKEEPER.connection_string, '/databases/main',
                         wait_timeout=helpers.TIMEOUT)
        self.addCleanup(db.close)
        helpers.commit(db, 'v6')

    def test_session_expiry_reregisters(self):
        stop = zc.zkzeo.runzeo.test('/databases/main',
                                    zookeeper=ZOOKEEPER.connection_string)
        self.addCleanup(stop)
        [address] = helpers.wait_registered(self.zk, '/databases/main')
        registration = stop.server.registration.zookeeper
        old_session = registration.client.client_id
        expire_session(registration.client, ZOOKEEPER.hosts)
        wait(lambda: registration.client.client_id != old_session
             and self.zk.exists(f'/databases/main/{address}'),
             timeout=helpers.TIMEOUT)
        owner = self.zk.exists(f'/databases/main/{address}').ephemeralOwner
        self.assertEqual(owner, registration.client.client_id[0])
        stop()
        self.assertEqual(helpers.registered(self.zk, '/databases/main'), {})

    def test_test_helper_in_a_child_process(self):
        stop = zc.zkzeo.runzeo.test('/databases/main',
                                    zookeeper=ZOOKEEPER.connection_string,
                                    threaded=False)
        self.addCleanup(stop)
        [properties] = helpers.wait_registered(
            self.zk, '/databases/main').values()
        self.assertEqual(properties['pid'], stop.process.pid)
        stop()
        self.assertEqual(helpers.registered(self.zk, '/databases/main'), {})


class ConfigurationErrorTests(ServerTestCase):

    def test_bad_connection_string(self):
        for bad in ('127.0.0.1:port', 'nohost', ':2181',
                    '127.0.0.1:2181,oops'):
            with self.subTest(bad):
                status, output = self.fails(self.config(
                    zookeeper=f'connection {bad}\npath /databases/main'))
                self.assertEqual(status, 2)
                self.assertIn('<zookeeper> connection', output)
                self.assertIn(repr(bad), output)
                self.assertNotIn('Traceback', output)

    def test_unix_socket_cannot_be_registered(self):
        status, output = self.fails(self.config(
            zeo=f'address {self.path("zeo.sock")}'))
        self.assertEqual(status, 2)
        self.assertEqual(
            output, 'zkrunzeo: error: <zookeeper> path needs a TCP address'
            f" in <zeo>, not the Unix socket {self.path('zeo.sock')!r}\n")

    def test_zookeeper_unreachable_at_start(self):
        nobody = f'127.0.0.1:{free_port()}'
        start = time.monotonic()
        status, output = self.fails(self.config(
            zookeeper=f'connection {nobody}\npath /databases/main'))
        self.assertLess(time.monotonic() - start, 30)
        self.assertEqual(status, 1)
        self.assertEqual(
            output, f"zkrunzeo: error: can't connect to ZooKeeper at {nobody}"
            ' to register at /databases/main (<zookeeper> connection)\n')

    def test_unknown_key(self):
        status, output = self.fails(self.config(
            zookeeper='path /databases/main\nport 1'))
        self.assertEqual(status, 2)
        self.assertIn("'port' is not a known key name", output)

    def test_monitor_address_in_use(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            status, output = self.fails(self.config(
                zookeeper=f'connection {ZOOKEEPER.connection_string}\n'
                          f'path /databases/main\n'
                          f'monitor-server 127.0.0.1:{port}'))
        self.assertEqual(status, 2)
        self.assertIn('<zookeeper> monitor-server', output)
        self.assertEqual(helpers.registered(self.zk, '/databases/main'), {})


def _listening(port):
    try:
        socket.create_connection(('127.0.0.1', port), 1).close()
    except OSError:
        return False
    return True


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(('::1', 0))
    except OSError:
        return False
    return True


class FaultTests(unittest.TestCase):
    """ZooKeeper goes away and comes back under running servers and
    clients."""

    layer = helpers.RESTARTABLE

    def setUp(self):
        self.directory = helpers.directory(self)
        self.zookeeper = helpers.RESTARTABLE.server
        self.path = f'/fault{time.monotonic_ns()}'

    def config(self, address='127.0.0.1:0'):
        return helpers.write(os.path.join(self.directory, 'zeo.conf'), f'''
            <zeo>
              address {address}
            </zeo>
            <zookeeper>
              connection {self.zookeeper.address}
              path {self.path}
              session-timeout 4000
            </zookeeper>
            <filestorage>
              path {os.path.join(self.directory, 'main.fs')}
            </filestorage>
            <eventlog>
              level DEBUG
              <logfile>
                path {os.path.join(self.directory, 'zeo.log')}
              </logfile>
            </eventlog>
            ''')

    def start(self, address='127.0.0.1:0'):
        server = helpers.ZKRunZEO(self.config(address), cwd=self.directory)
        self.addCleanup(server.__exit__)
        return server

    def session(self):
        return helpers.session(self, self.zookeeper.address)

    def test_zookeeper_restarted_under_a_running_server(self):
        server = self.start()
        zk = self.session()
        [address] = helpers.wait_registered(zk, self.path)
        zk.close()
        self.zookeeper.stop()
        time.sleep(5)       # longer than the session timeout
        self.zookeeper.start()
        zk = self.session()
        # ZooKeeper kept the node, and restarted the session's clock: had
        # the server not reconnected, the session would expire and the
        # node go within the session timeout.
        time.sleep(6)
        registered = helpers.registered(zk, self.path)
        self.assertEqual(list(registered), [address])
        self.assertEqual(registered[address]['pid'], server.pid)
        self.assertEqual(server.stop(), 0)
        self.assertEqual(helpers.registered(zk, self.path), {},
                         helpers.read(os.path.join(self.directory,
                                                   'zeo.log')))

    def test_fixed_port_serves_before_zookeeper_answers(self):
        self.zookeeper.stop()
        port = free_port()
        self.start(f'127.0.0.1:{port}')
        # It serves meanwhile.
        db = ZEO.DB(('127.0.0.1', port), wait_timeout=helpers.TIMEOUT)
        self.addCleanup(db.close)
        helpers.commit(db, 'before')
        self.zookeeper.start()
        self.assertEqual(list(helpers.wait_registered(self.session(),
                                                      self.path)),
                         [f'127.0.0.1:{port}'])

    def test_client_keeps_serving_without_zookeeper(self):
        self.start()
        helpers.wait_registered(self.session(), self.path)
        db = zc.zkzeo.DB(self.zookeeper.address, self.path,
                         wait_timeout=helpers.TIMEOUT)
        self.addCleanup(db.close)
        helpers.commit(db, 'with')
        self.zookeeper.stop()
        helpers.commit(db, 'without')
        with db.transaction() as connection:
            self.assertEqual(connection.root.value, 'without')
        self.zookeeper.start()
        wait(lambda: db.storage.zookeeper_addresses.zk.client.connected,
             timeout=helpers.TIMEOUT)
        helpers.commit(db, 'back')

    def test_client_fails_fast_when_zookeeper_is_unreachable(self):
        self.zookeeper.stop()
        start = time.monotonic()
        with self.assertRaises(zc.zk.FailedConnect):
            zc.zkzeo.client(self.zookeeper.address, self.path)
        self.assertLess(time.monotonic() - start, 15)
        self.assertNotIn('zookeeper_registration_thread',
                         [t.name for t in threading.enumerate()])
