"""``run`` in a thread of the test process, against a real ZooKeeper."""
import http.client
import logging
import threading
import unittest

import zc.zk
from zc.zk.testing import ZOOKEEPER, free_port

import zc.zkzopeserver
from zc.zkzopeserver.tests.helpers import (TIMEOUT, connect, get, refuses,
                                           serve_in_thread)


class RunTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.zk = connect(self, ZOOKEEPER.connection_string)

    def serve(self, **settings):
        settings.setdefault('host', '127.0.0.1')
        return serve_in_thread(self, zookeeper=ZOOKEEPER.connection_string,
                               path='/app', **settings)

    def test_registers_serves_and_unregisters_on_stop(self):
        thread, port = self.serve()
        self.assertEqual(self.zk.get_children('/app'), [f'127.0.0.1:{port}'])
        properties = self.zk.get_properties(f'/app/127.0.0.1:{port}')
        self.assertEqual(list(properties), ['pid'])
        self.assertTrue(self.zk.is_ephemeral(f'/app/127.0.0.1:{port}'))
        # SERVER_PORT is the port the OS chose, not the 0 asked for.
        self.assertEqual(get(port), (200, f'Hello from port {port}\n'))
        server = zc.zkzopeserver.server_for_testing
        self.assertEqual(server.address, ('127.0.0.1', port))

        zc.zkzopeserver.stop_for_testing(thread)
        self.assertFalse(thread.is_alive())
        self.assertEqual(self.zk.get_children('/app'), [])
        self.assertTrue(refuses(port))
        self.assertFalse(zc.zkzopeserver.event_for_testing.is_set())

    def test_the_service_node_is_created_when_missing(self):
        self.assertIsNone(self.zk.exists('/app'))
        _, port = self.serve()
        self.assertFalse(self.zk.is_ephemeral('/app'))
        self.assertEqual(self.zk.get_children('/app'), [f'127.0.0.1:{port}'])

    def test_settings_given_as_strings_as_paste_does(self):
        self.serve(port='0', threads='3', session_timeout='4000',
                   grace_period='2.5', name='demo')
        server = zc.zkzopeserver.server_for_testing
        self.assertEqual(len(server.task_dispatcher.threads), 3)
        self.assertEqual(server.zookeeper.session_timeout, 4.0)
        self.assertEqual(server.SERVER_IDENT, 'zope.server.http (demo)')

    def test_a_given_port(self):
        port = free_port()
        _, bound = self.serve(port=str(port))
        self.assertEqual(bound, port)
        self.assertEqual(self.zk.get_children('/app'), [f'127.0.0.1:{port}'])

    def test_the_host_is_registered_literally(self):
        _, port = self.serve(host='localhost')
        self.assertEqual(self.zk.get_children('/app'), [f'localhost:{port}'])
        self.assertEqual(get(port, host='localhost')[0], 200)

    def test_an_empty_host_registers_the_machines_addresses(self):
        _, port = self.serve(host='')
        names = self.zk.get_children('/app')
        self.assertTrue(names)
        for name in names:
            host, _, registered_port = name.rpartition(':')
            self.assertTrue(host)
            self.assertEqual(registered_port, str(port))
        self.assertEqual(get(port)[0], 200)  # listens on every interface

    def test_a_wildcard_monitor_host_is_registered_as_the_server_host(self):
        _, port = self.serve(monitor_server=':0')
        monitor = self.zk.get_properties(f'/app/127.0.0.1:{port}')['monitor']
        self.assertTrue(monitor.startswith('127.0.0.1:'), monitor)

    def test_an_application_error_is_a_500_and_serving_goes_on(self):
        _, port = self.serve()
        connection = http.client.HTTPConnection('127.0.0.1', port,
                                                timeout=TIMEOUT)
        self.addCleanup(connection.close)
        with self.assertLogs('zc.zkzopeserver.server', logging.ERROR) as log:
            self.assertEqual(get(port, '/fail', connection=connection),
                             (500, 'Internal Server Error\n'))
        self.assertIn('Error in the application at GET /fail', log.output[0])
        self.assertIn('ValueError: the application failed', log.output[0])
        # Same connection (kept alive), then a new one.
        self.assertEqual(get(port, connection=connection)[0], 200)
        self.assertEqual(get(port)[0], 200)

    def test_stop_for_testing_without_a_thread_returns_at_once(self):
        thread, _ = self.serve()
        zc.zkzopeserver.stop_for_testing()
        thread.join(TIMEOUT)
        self.assertFalse(thread.is_alive())
        self.assertEqual(self.zk.get_children('/app'), [])

    def test_unreachable_zookeeper_leaves_nothing_running(self):
        threads_before = set(threading.enumerate())
        with self.assertRaises(zc.zk.FailedConnect):
            zc.zkzopeserver.run(lambda *a: None, {},
                                f'127.0.0.1:{free_port()}', '/app',
                                session_timeout='1000', monitor_server=':0')
        leftovers = [t for t in threading.enumerate()
                     if t not in threads_before and t.is_alive()]
        self.assertEqual([t.name for t in leftovers
                          if t.name.startswith(('zope.server',
                                                'zc.monitor'))], [])
        self.assertFalse(zc.zkzopeserver.event_for_testing.is_set())


class BadSettingsTests(unittest.TestCase):
    """Refused before anything starts, with a message naming the key."""

    def run_with(self, zookeeper='127.0.0.1:1', path='/app', **settings):
        with self.assertRaises(zc.zkzopeserver.ConfigError) as caught:
            zc.zkzopeserver.run(None, {}, zookeeper, path, **settings)
        return str(caught.exception)

    def test_missing_zookeeper_or_path(self):
        self.assertEqual(self.run_with(zookeeper=''),
                         'missing required setting: zookeeper')
        self.assertEqual(self.run_with(path=None),
                         'missing required setting: path')

    def test_bad_values(self):
        self.assertEqual(self.run_with(path='app'),
                         "path must be an absolute ZooKeeper path, not 'app'")
        self.assertEqual(self.run_with(port='http'),
                         "port must be a whole number, not 'http'")
        self.assertEqual(self.run_with(port='70000'),
                         'port must be at most 65535, not 70000')
        self.assertEqual(self.run_with(zookeeper='garbage,,::'),
                         "zookeeper: Bad connection string 'garbage,,::':"
                         " bad hostname")
        self.assertEqual(self.run_with(threads='0'),
                         'threads must be at least 1, not 0')
        self.assertEqual(self.run_with(session_timeout='soon'),
                         "session_timeout must be a whole number, not 'soon'")
        self.assertEqual(self.run_with(grace_period='-1'),
                         "grace_period must not be negative, not '-1'")
        self.assertEqual(self.run_with(monitor_server='x:99999'),
                         "monitor_server: port out of range in monitor"
                         " address 'x:99999'")
        self.assertEqual(self.run_with(zservertracelog='maybe'),
                         "zservertracelog must be true or false, not 'maybe'")

    def test_zservertracelog_is_refused(self):
        self.assertIn('zservertracelog = true needs zc.zservertracelog',
                      self.run_with(zservertracelog='true'))

    def test_bad_logger_configuration(self):
        message = self.run_with(loggers='<logger>\n  nonsense\n</logger>')
        self.assertTrue(message.startswith('loggers: '), message)
        self.assertNotIn('\n', message)
