"""ZooKeeper against a real server (the shared ZOOKEEPER layer): what the
README does not show."""
import contextlib
import io
import logging
import os
import socket
import threading
import unittest

import kazoo.client
from kazoo.exceptions import NoAuthError, NoNodeError
from kazoo.security import OPEN_ACL_UNSAFE, Permissions

import zc.zk
from zc.zk.testing import ZOOKEEPER, expire_session

WAIT = 10.0


def wait_for(condition, timeout=WAIT, message=None):
    """Wait until ``condition()`` holds (watches fire asynchronously);
    ``message()`` explains a time-out."""
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not done.is_set():
            if condition():
                return
            done.wait(0.01)
        raise AssertionError(message() if message else
                             f'timed out waiting for {condition}')
    finally:
        deadline.cancel()


class ZooKeeperTestCase(unittest.TestCase):

    layer = ZOOKEEPER

    def zookeeper(self, **kw):
        zk = zc.zk.ZooKeeper(ZOOKEEPER.connection_string, **kw)
        self.addCleanup(zk.close)
        return zk


class ConnectionTests(ZooKeeperTestCase):

    def test_connection_string_from_environment(self):
        os.environ['ZC_ZK_CONNECTION_STRING'] = ZOOKEEPER.connection_string
        try:
            zk = zc.zk.ZooKeeper()
        finally:
            del os.environ['ZC_ZK_CONNECTION_STRING']
        self.addCleanup(zk.close)
        self.assertEqual(zk.connection_string, ZOOKEEPER.connection_string)
        self.assertEqual(zk.recv_timeout(), 10.0)
        self.assertEqual(zk.client._session_timeout, 10000)

    def test_an_existing_client_is_used_and_left_open(self):
        client = kazoo.client.KazooClient(ZOOKEEPER.connection_string)
        client.start(WAIT)
        self.addCleanup(client.close)
        self.addCleanup(client.stop)
        zk = zc.zk.ZooKeeper(client)
        zk.create('/x', b'{"a":1}')
        self.assertEqual(zk.get_properties('/x'), {'a': 1})
        zk.close()
        zk.close()  # idempotent
        self.assertTrue(client.connected)

    def test_failed_connect_is_quick_to_a_closed_port(self):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            address = f'127.0.0.1:{s.getsockname()[1]}'
        logging.getLogger('kazoo').setLevel(logging.CRITICAL)
        self.addCleanup(logging.getLogger('kazoo').setLevel, logging.NOTSET)
        with self.assertRaises(zc.zk.FailedConnect) as caught:
            zc.zk.ZooKeeper(address, connect_timeout=0.5)
        self.assertEqual(caught.exception.args, (address,))


class RegisterTests(ZooKeeperTestCase):

    def setUp(self):
        self.zk = self.zookeeper()
        self.zk.create('/service')

    def test_register_at_root(self):
        self.zk.register('/', ('127.0.0.1', 1))
        self.assertTrue(self.zk.is_ephemeral('/127.0.0.1:1'))

    def test_blank_host_registers_this_host(self):
        self.zk.register('/service', ':8080', color='red')
        [name] = self.zk.get_children('/service')
        self.assertEqual(name, f'{socket.getfqdn()}:8080')
        self.assertEqual(self.zk.get_properties('/service/' + name),
                         {'color': 'red', 'pid': os.getpid()})

    def test_register_through_a_link(self):
        self.zk.ln('/service', '/alias')
        self.zk.register('/alias', 'h:1')
        self.assertEqual(self.zk.get_children('/service'), ['h:1'])

    def test_register_follows_a_link_that_replaced_a_node(self):
        # The session remembers /alias as a real node after the first
        # registration; the node goes, a link takes its name.
        self.zk.create('/alias')
        self.zk.register('/alias', 'h:1')
        self.zk.delete('/alias/h:1')
        self.zk.delete('/alias')
        self.zk.ln('/service', '/alias')
        self.zk.register('/alias', 'h:2')
        self.assertEqual(self.zk.get_children('/service'), ['h:2'])
        self.assertIsNone(self.zk.exists('/alias'))

    def test_a_view_of_a_replaced_node_follows_the_link(self):
        self.zk.create('/alias')
        self.zk.create('/alias/x')
        children = self.zk.children('/alias')
        seen = []
        children(lambda c: seen.append(list(c)))
        self.zk.create('/service/y')
        self.zk.ln('/service', '/alias')   # hidden while /alias exists
        self.zk.delete('/alias/x')
        self.zk.delete('/alias')
        wait_for(lambda: seen[-1] == ['y'], message=lambda: repr(seen))
        self.assertEqual(children.real_path, '/service')

    def test_registrations_come_back_after_expiry_with_latest_data(self):
        self.zk.register('/service', 'h:1', acl=OPEN_ACL_UNSAFE, a=1)
        self.zk.register('/service', 'h:2')
        self.zk.set('/service/h:1', '{"a":2}')
        watcher = self.zookeeper()
        seen = []
        watcher.children('/service')(lambda c: seen.append(sorted(c)))
        old_session = self.zk.client.client_id
        expire_session(self.zk.client, ZOOKEEPER.hosts)
        wait_for(lambda: seen[-1] == ['h:1', 'h:2'] and [] in seen)
        self.assertNotEqual(self.zk.client.client_id, old_session)
        self.assertEqual(self.zk.get_properties('/service/h:1'), {'a': 2})
        self.assertTrue(self.zk.is_ephemeral('/service/h:2'))

    def test_deleted_registrations_are_not_restored(self):
        self.zk.register('/service', 'h:1')
        self.zk.delete('/service/h:1')
        expire_session(self.zk.client, ZOOKEEPER.hosts)
        wait_for(lambda: self.zk.client.connected)
        self.assertEqual(self.zk.get_children('/service'), [])

    def test_acl_and_digest_auth(self):
        owner = self.zookeeper(auth='alice:secret')
        acl = zc.zk.digest_acl('alice', 'secret')
        owner.import_tree('/locked\n  x = 1\n', acl=acl)
        owner.register('/locked', 'h:1', acl=acl + zc.zk.world_acl(
            Permissions.READ))
        stranger = self.zookeeper()
        with self.assertRaises(NoAuthError):
            stranger.get_properties('/locked')
        with self.assertRaises(NoAuthError):
            stranger.import_tree('/locked\n  x = 2\n')
        self.assertEqual(stranger.get_properties('/locked/h:1'),
                         {'pid': os.getpid()})
        self.assertEqual(owner.get_properties('/locked'), {'x': 1})
        self.assertEqual(owner.client.get_acls('/locked')[0], acl)


class ViewTests(ZooKeeperTestCase):

    def setUp(self):
        self.zk = self.zookeeper()
        self.zk.import_tree('''
            /a
              /b
                x = 1
              /c
        '''.replace('\n            ', '\n'))

    def test_deleted_node_views_call_callbacks_without_arguments(self):
        calls = []
        self.zk.children('/a/b')(lambda *args: calls.append(args))
        properties = self.zk.properties('/a/b')
        properties(lambda *args: calls.append(len(args)))
        self.zk.delete('/a/b')
        wait_for(lambda: len(calls) == 4)
        self.assertEqual(sorted(calls[2:], key=repr), [(), 0])
        self.assertEqual(dict(properties), {})

    def test_callback_needing_argument_is_left_alone_when_gone(self):
        children = self.zk.children('/a/c')
        children(lambda c: None)
        self.zk.delete('/a/c')
        wait_for(lambda: not children.callbacks)
        self.assertEqual(list(children), [])

    def test_views_follow_a_link_again_when_the_node_goes(self):
        self.zk.ln('/a/b', '/a/current')
        properties = self.zk.properties('/a/current')
        values = []
        properties(lambda p: values.append(dict(p)))
        self.zk.create('/a/d', b'{"x":2}')
        self.zk.ln('/a/d', '/a/current')
        self.zk.delete('/a/b')
        wait_for(lambda: values[-1] == {'x': 2})
        self.assertEqual(properties.real_path, '/a/d')

    def test_children_iterate_sorted_and_call_back_on_changes_only(self):
        for name in ('m', 'z', 'a', 'q'):
            self.zk.create(f'/a/c/{name}')
        children = self.zk.children('/a/c')
        seen = []
        children(lambda c: seen.append(list(c)))
        self.assertEqual(seen, [['a', 'm', 'q', 'z']])
        self.assertEqual((len(children), 'q' in children, 'b' in children),
                         (4, True, False))
        children.refresh()  # the same names: no call
        self.zk.delete('/a/c/m')
        wait_for(lambda: seen[-1] == ['a', 'q', 'z'])
        self.zk.create('/a/c/b')
        wait_for(lambda: seen[-1] == ['a', 'b', 'q', 'z'])
        self.assertEqual(len(seen), 3)

    def test_failing_callback_is_removed_and_logged(self):
        children = self.zk.children('/a')
        calls = []

        def fails_later(c):
            calls.append(len(c))
            if len(c) > 2:
                raise RuntimeError('boom')
        children(fails_later)
        with self.assertLogs('zc.zk', logging.ERROR) as logs:
            self.zk.create('/a/e')
            wait_for(lambda: not children.callbacks)
        self.assertEqual(calls, [2, 3])
        self.assertIn('boom', '\n'.join(logs.output))

    def test_first_call_errors_reach_the_caller(self):
        children = self.zk.children('/a')

        def broken(c):
            raise RuntimeError('at once')
        with self.assertRaises(RuntimeError):
            children(broken)
        self.assertEqual(children.callbacks, [])

    def test_property_link_loop_and_setting_names_replaces_links(self):
        properties = self.zk.properties('/a/b')
        properties.update({'y =>': '. z', 'z =>': '. x'})
        self.assertEqual((properties['y'], properties['z']), (1, 1))
        with self.assertRaises(ValueError) as caught:
            properties.update({'x =>': '. y'})
        self.assertIsInstance(caught.exception.args[3], zc.zk.LinkLoop)
        properties['y'] = 5
        self.assertEqual(self.zk.get_properties('/a/b'),
                         {'x': 1, 'z': 1, 'y': 5})
        self.assertNotIn('y =>', properties._state[1])

    def test_bad_link_written_by_another_tool_raises_on_read(self):
        self.zk.set('/a/c', b'{"q =>": "../nowhere"}')
        properties = self.zk.properties('/a/c')
        self.assertIn('q', properties)
        with self.assertRaises(zc.zk.BadPropertyLink):
            properties['q']

    def test_set_replaces_everything(self):
        properties = self.zk.properties('/a/b', watch=False)
        properties.set({'a': 1, 'b': 2}, b=3)
        self.assertEqual(self.zk.get_properties('/a/b'), {'a': 1, 'b': 3})
        self.assertEqual(dict(properties), {'a': 1, 'b': 3})

    def test_missing_node(self):
        with self.assertRaises(NoNodeError):
            self.zk.children('/nowhere')
        with self.assertRaises(NoNodeError):
            self.zk.is_ephemeral('/nowhere')


class TreeTests(ZooKeeperTestCase):

    def setUp(self):
        self.zk = self.zookeeper()

    def test_trim_keeps_ephemeral_nodes_and_their_parents(self):
        self.zk.import_tree('/s\n  /p\n  /old\n    /deep\n  /live\n')
        self.zk.register('/s/live', 'h:1')
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self.zk.import_tree('/s\n  /p\n', trim=True)
        self.assertEqual(out.getvalue(), (
            "Not deleting /s/live/h:1 because it's ephemeral.\n"
            "/s/live not deleted due to ephemeral descendent.\n"))
        self.assertEqual(sorted(self.zk.get_children('/s')), ['live', 'p'])
        self.assertEqual(self.zk.get_children('/s/live'), ['h:1'])

    def test_top_level_nodes_are_never_trimmed(self):
        self.zk.import_tree('/keep\n/other\n')
        self.zk.import_tree('/other\n', trim=True)
        self.assertTrue(self.zk.exists('/keep'))

    def test_properties_above_nodes_are_refused(self):
        with self.assertRaises(ValueError) as caught:
            self.zk.import_tree('x = 1\n/a\n')
        self.assertEqual(str(caught.exception),
                         "Can't import properties above imported nodes.")

    def test_import_fixes_acls_and_export_round_trips(self):
        self.zk.import_tree('/t\n  a = 1\n  /u\n', acl=zc.zk.world_acl(
            Permissions.ALL & ~Permissions.DELETE))
        self.zk.import_tree('/t\n  a = 1\n  /u\n')
        self.assertEqual(self.zk.client.get_acls('/t/u')[0],
                         OPEN_ACL_UNSAFE)
        text = self.zk.export_tree('/t')
        self.zk.import_tree(text, '/copy')
        self.assertEqual(self.zk.export_tree('/copy/t'), text)

    def test_large_import_export_and_delete(self):
        lines = []
        for i in range(30):
            lines.append(f'/n{i}\n  i = {i}\n')
            lines.extend(f'  /m{j}\n    j = {j}\n' for j in range(40))
        text = ''.join(lines)
        self.zk.import_tree(text, '/big')
        self.assertEqual(len(list(self.zk.walk('/big'))), 1 + 30 + 30 * 40)
        self.assertEqual(self.zk.get_properties('/big/n7/m9'), {'j': 9})
        self.zk.delete_recursive('/big')
        self.assertIsNone(self.zk.exists('/big'))

    def test_export_root_with_name_and_ephemeral(self):
        self.zk.import_tree('/a\n  x = 1\n')
        self.zk.register('/a', 'h:1')
        self.assertEqual(self.zk.export_tree(name='all'),
                         "/all\n  /a\n    x = 1\n")
        self.assertIn('/h:1', self.zk.export_tree('/a', ephemeral=True))

    def test_delete_recursive_force_and_silence(self):
        self.zk.import_tree('/d\n  /e\n')
        self.zk.register('/d/e', 'h:1')
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self.zk.delete_recursive('/d', ignore_if_ephemeral=True)
        self.assertEqual(out.getvalue(), (
            '/d/e not deleted due to ephemeral descendent.\n'
            '/d not deleted due to ephemeral descendent.\n'))
        self.assertTrue(self.zk.exists('/d/e/h:1'))
        self.zk.delete_recursive('/d', force=True)
        self.assertIsNone(self.zk.exists('/d'))

    def test_walk_skips_nodes_deleted_meanwhile(self):
        self.zk.import_tree('/w\n  /a\n  /b\n')
        walked = []
        for path in self.zk.walk('/w'):
            walked.append(path)
            if path == '/w':
                self.zk.delete('/w/a')
        self.assertEqual(walked, ['/w', '/w/b'])


class SubscriptionTests(ZooKeeperTestCase):

    def test_views_with_callbacks_live_on_unreferenced(self):
        import gc
        zk = self.zookeeper()
        zk.create('/subscribed')
        seen = []
        zk.children('/subscribed')(lambda c: seen.append(len(c)))
        gc.collect()
        # After a reconnect the watch must be re-armed by the ZooKeeper,
        # which needs the view.
        expire_session(zk.client, ZOOKEEPER.hosts)
        wait_for(lambda: zk.client.connected)
        other = self.zookeeper()
        other.create('/subscribed/child')
        wait_for(lambda: seen[-1:] == [1],
                 message=lambda: f'callbacks saw {seen}')
