"""Primaries registered in, and secondaries following them through, a real
ZooKeeper (zc.zk.testing's server)."""
import os
import tempfile
import unittest

import ZConfig
import ZEO
import ZODB
import ZODB.config
import ZODB.FileStorage
from zope.testing.wait import wait

import zc.zk
import zc.zrs
import zc.zrs.loop
from zc.zk.testing import ZOOKEEPER, RestartableZooKeeperLayer, expire_session
from zc.zrs.tests import support
from zc.zrs.tests.test_replication import TempDirTest
from zc.zrs.tests.test_zeo import ZEOServer

PATH = '/databases/main/replication'


class ZooKeeperTest(TempDirTest):
    """Storages in a temporary directory; ``zookeeper`` is the connection
    string of the layer's server (and this test's chroot)."""

    layer = ZOOKEEPER

    def setUp(self):
        super().setUp()
        self.zookeeper = self.layer.connection_string
        self.zk = zc.zk.ZooKeeper(self.zookeeper)
        self.addCleanup(self.zk.close)

    def zk_primary(self, **kw):
        """A primary registered at PATH, and a DB (closed by the test)."""
        kw.setdefault('zookeeper', self.zookeeper)
        primary = self.primary(zookeeper_path=PATH, **kw)
        return primary, ZODB.DB(primary)

    def zk_secondary(self, **kw):
        return self.secondary(PATH, zookeeper=self.zookeeper, **kw)

    def registered(self):
        return sorted(self.zk.get_children(PATH))

    def caught_up(self, secondary, primary):
        wait(lambda: secondary.lastTransaction()
             == primary.lastTransaction(), timeout=support.TIMEOUT)

    def commit(self, db, count, start=0):
        for i in range(start, start + count):
            with db.transaction(f'commit {i}') as conn:
                conn.root()[i % 7] = i


class RegistrationTests(ZooKeeperTest):

    def test_the_bound_address_is_registered_while_open(self):
        primary, db = self.zk_primary()
        host, port = primary.address
        self.assertNotEqual(port, 0)
        self.assertEqual(self.registered(), [f'127.0.0.1:{port}'])
        properties = self.zk.get_properties(f'{PATH}/127.0.0.1:{port}')
        self.assertEqual(properties['pid'], os.getpid())
        self.assertEqual(properties['protocols'],
                         ['zrs2.0', 'zrs2.1', 'zrs2.2'])
        self.assertEqual(properties['ssl'], False)
        self.assertTrue(properties['storage'].endswith('primary.fs'))
        self.assertTrue(self.zk.is_ephemeral(f'{PATH}/127.0.0.1:{port}'))
        db.close()
        self.assertEqual(self.registered(), [])

    def test_a_session_of_the_caller_is_used_and_left_open(self):
        primary, db = self.zk_primary(zookeeper=self.zk)
        self.assertEqual(len(self.registered()), 1)
        db.close()
        self.assertEqual(self.registered(), [])
        self.assertFalse(self.zk.closed)

    def test_session_expiry_registers_again(self):
        session = zc.zk.ZooKeeper(self.zookeeper)
        self.addCleanup(session.close)
        primary, db = self.zk_primary(zookeeper=session)
        name = '127.0.0.1:%s' % primary.address[1]
        old_owner = self.zk.exists(f'{PATH}/{name}').ephemeralOwner
        expire_session(session.client, self.layer.hosts)
        wait(lambda: self._owner(name) not in (None, old_owner),
             timeout=support.TIMEOUT)
        self.assertEqual(self.registered(), [name])

    def _owner(self, name):
        stat = self.zk.exists(f'{PATH}/{name}')
        return None if stat is None else stat.ephemeralOwner

    def test_unix_sockets_cannot_be_registered(self):
        with self.assertRaises(ValueError) as caught:
            zc.zrs.Primary(
                ZODB.FileStorage.FileStorage(self.path('unix.fs')),
                self.path('socket'), zookeeper=self.zookeeper,
                zookeeper_path=PATH)
        self.assertIn('unix socket', str(caught.exception))


class FollowingTests(ZooKeeperTest):

    def test_a_secondary_follows_the_primary_to_a_new_port(self):
        primary, db = self.zk_primary()
        self.commit(db, 20)
        # A long reconnect delay: only the registration can bring the
        # secondary to the new port in time.
        secondary = self.zk_secondary(reconnect_delay=600)
        self.caught_up(secondary, primary)
        first_port = primary.address[1]
        db.close()

        primary, db = self.zk_primary()
        self.assertNotEqual(primary.address[1], first_port)
        self.commit(db, 20, start=20)
        self.caught_up(secondary, primary)
        self.assertEqual(secondary.replication_status()['address'],
                         '127.0.0.1:%s' % primary.address[1])
        db.close()
        secondary.close()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertEqual(self.logs.messages(), [])

    def test_the_newest_of_several_registrations_wins(self):
        # The old primary's node lingers until its session expires.
        self.zk.create(PATH, b'', makepath=True)
        self.zk.register(PATH, ('127.0.0.1', support.free_port()))
        primary, db = self.zk_primary()
        self.commit(db, 3)
        secondary = self.zk_secondary(reconnect_delay=600)
        self.caught_up(secondary, primary)

    def test_a_secondary_waits_for_a_primary_to_register(self):
        secondary = self.zk_secondary(reconnect_delay=600)
        self.assertEqual(secondary.replication_status()['address'], None)
        primary, db = self.zk_primary()
        self.commit(db, 3)
        self.caught_up(secondary, primary)

    def test_the_address_must_be_a_path(self):
        with self.assertRaises(ValueError) as caught:
            zc.zrs.Secondary(self.path('s.fs'), ('127.0.0.1', 1),
                             zookeeper=self.zookeeper)
        self.assertIn('ZooKeeper path', str(caught.exception))


def zrs_config(body, path='zrs.fs'):
    return f'''
        %import zc.zrs
        <zrs>
          {body}
          reconnect-delay 600
          <filestorage>
            path {path}
          </filestorage>
        </zrs>'''


class ConfigurationTests(ZooKeeperTest):

    def open(self, body, name):
        storage = ZODB.config.storageFromString(
            zrs_config(body, self.path(name)))
        self.addCleanup(storage.close)
        return storage

    def test_primary_relay_and_secondary_from_configuration(self):
        primary = self.open(f'''
            replicate-to 127.0.0.1:0
            zookeeper {self.zookeeper}
            zookeeper-path {PATH}
            zookeeper-session-timeout 5''', 'primary.fs')
        relay = self.open(f'''
            replicate-from {PATH}
            replicate-to 127.0.0.1:0
            zookeeper {self.zookeeper}
            zookeeper-path /databases/main/relay''', 'relay.fs')
        secondary = self.open(f'''
            replicate-from /databases/main/relay
            zookeeper {self.zookeeper}''', 'secondary.fs')
        db = ZODB.DB(primary)
        self.addCleanup(db.close)
        self.commit(db, 5)
        self.caught_up(secondary, primary)
        self.assertEqual(len(self.registered()), 1)
        self.assertEqual(len(self.zk.get_children('/databases/main/relay')),
                         1)

    def assertRefused(self, body, *words):
        with self.assertRaises(ZConfig.ConfigurationError) as caught:
            self.open(body, 'refused.fs')
        message = str(caught.exception)
        self.assertNotIn('\n', message)
        for word in words:
            self.assertIn(word, message)

    def test_bad_zookeeper_keys_are_configuration_errors(self):
        zk = f'zookeeper {self.zookeeper}'
        self.assertRefused('replicate-to 127.0.0.1:0\nzookeeper-path /x',
                           'zookeeper-path needs zookeeper')
        self.assertRefused(f'replicate-from 127.0.0.1:8100\n{zk}',
                           'replicate-from', 'ZooKeeper path',
                           '127.0.0.1:8100')
        self.assertRefused(f'replicate-from /x\n{zk}\nzookeeper-path /x',
                           'zookeeper-path', 'needs replicate-to')
        self.assertRefused(f'replicate-to 127.0.0.1:0\n{zk}',
                           'zookeeper needs zookeeper-path')
        self.assertRefused(f'replicate-to 127.0.0.1:0\n{zk}\n'
                           f'zookeeper-path x', 'must start with /')
        self.assertRefused(f'replicate-to 127.0.0.1:0\nzookeeper-path /x\n'
                           f'replicate-from /x\n{zk}', 'same ZooKeeper path')
        self.assertRefused(f'replicate-from /x\n{zk}\n'
                           f'zookeeper-session-timeout 0',
                           'zookeeper-session-timeout must be more than 0')
        for bad in ('127.0.0.1', '127.0.0.1:abc', 'h:1,,h:2', ':2181',
                    '127.0.0.1:99999'):
            self.assertRefused(f'replicate-from /x\nzookeeper {bad}',
                               'zookeeper', repr(bad))


#: A ZooKeeper server of our own, which tests stop and start.
RESTARTABLE = RestartableZooKeeperLayer('ZooKeeperRestartLayer', __name__)


class RestartTests(ZooKeeperTest):

    layer = RESTARTABLE

    def test_registration_and_following_survive_a_zookeeper_restart(self):
        primary, db = self.zk_primary()
        self.commit(db, 3)
        secondary = self.zk_secondary(reconnect_delay=600)
        self.caught_up(secondary, primary)
        server = self.layer.server
        server.stop()
        server.start()
        name = '127.0.0.1:%s' % primary.address[1]
        wait(lambda: self._registered(name), timeout=support.TIMEOUT)
        db.close()
        primary, db = self.zk_primary()  # a new port, after the restart
        self.commit(db, 3, start=3)
        self.caught_up(secondary, primary)

    def _registered(self, name):
        try:
            return self.registered() == [name]
        except Exception:
            return False


class RunZEOTests(unittest.TestCase):
    """ZEO servers (runzeo under zdaemon) configured with the ZooKeeper
    keys: the secondary finds the primary's replication port (bound to
    port 0) in ZooKeeper, and finds it again after a restart."""

    layer = ZOOKEEPER

    def test_runzeo_primary_and_secondary_through_zookeeper(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        zookeeper = f'zookeeper {self.layer.connection_string}'
        servers = {}
        for role, replication, read_only in (
                ('primary', f'replicate-to 127.0.0.1:0\n{zookeeper}\n'
                            f'zookeeper-path {PATH}', 'false'),
                ('secondary', f'replicate-from {PATH}\n{zookeeper}', 'true')):
            server = ZEOServer(os.path.join(tmp.name, role),
                               support.free_port())
            server.configure(replication, read_only)
            server.start()
            self.addCleanup(server.stop)
            servers[role] = server
        primary, secondary = servers['primary'], servers['secondary']

        def write(value):
            db = ZEO.DB(('127.0.0.1', primary.zeo_port),
                        wait_timeout=support.TIMEOUT)
            with db.transaction() as conn:
                conn.root()['x'] = value
            db.close()
            tid = primary.last_transaction()
            wait(lambda: secondary.last_transaction() == tid,
                 timeout=support.TIMEOUT)

        write(1)
        zk = zc.zk.ZooKeeper(self.layer.connection_string)
        self.addCleanup(zk.close)
        [first] = zk.get_children(PATH)
        self.assertEqual(primary.stop(), [])
        primary.start()
        wait(lambda: zk.get_children(PATH) not in ([], [first]),
             timeout=support.TIMEOUT)
        write(2)
        self.assertEqual(primary.stop(), [])
        self.assertEqual(secondary.stop(), [])
        support.assert_replica(
            self, os.path.join(primary.directory, 'Data.fs'),
            os.path.join(secondary.directory, 'Data.fs'))
