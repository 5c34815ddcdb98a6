"""The zc.monitor ``servers`` command and the health-check helpers,
called directly with a real server (zc.monitor itself is optional)."""
import contextlib
import importlib.metadata
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import unittest
import unittest.mock

import zope.event
from zope.testing.wait import wait

import zc.zk
import zc.zk.monitor
from zc.zk.testing import ZOOKEEPER, Server, free_port, stop_process


class Connection:
    """What zc.monitor hands a command: something with ``write(str)``."""

    def __init__(self):
        self.output = io.StringIO()

    def write(self, text):
        assert isinstance(text, str)
        self.output.write(text)


class MonitorTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        zc.zk.monitor.registrations.clear()
        zope.event.subscribers.append(zc.zk.monitor.notify)
        self.addCleanup(zope.event.subscribers.remove, zc.zk.monitor.notify)
        self.addCleanup(zc.zk.monitor.registrations.clear)
        self.zk = zc.zk.ZooKeeper(ZOOKEEPER.connection_string)
        self.addCleanup(self.zk.close)
        self.zk.import_tree('/app\n  /providers\n')

    def servers(self, *args):
        connection = Connection()
        zc.zk.monitor.servers(connection, *args)
        return connection.output.getvalue()

    def test_entry_point_and_no_zc_monitor_import(self):
        [entry] = [e for e in importlib.metadata.entry_points(
            group='zc.monitor') if e.name == 'servers']
        self.assertIs(entry.load(), zc.zk.monitor.servers)
        imported = subprocess.run(
            [sys.executable, '-c', 'import sys, zc.zk.monitor;'
             ' print("zc.monitor" in sys.modules)'], capture_output=True,
            text=True, timeout=60,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        self.assertEqual(imported.stdout, 'False\n', imported.stderr)

    def test_servers_registered_by_this_process(self):
        self.assertEqual(self.servers(), '[]\n')
        self.zk.register('/app/providers', '127.0.0.1:81')
        self.zk.register('/app/providers', '127.0.0.1:82')
        self.assertEqual(json.loads(self.servers()), [
            '/app/providers/127.0.0.1:81', '/app/providers/127.0.0.1:82'])

    def test_servers_under_a_path(self):
        other = zc.zk.ZooKeeper(ZOOKEEPER.connection_string)
        self.addCleanup(other.close)
        other.register('/app/providers', '127.0.0.1:2')
        self.zk.register('/app/providers', '127.0.0.1:1')
        self.assertEqual(self.servers('/app/providers'),
                         '127.0.0.1:1 127.0.0.1:2\n')

    def test_servers_under_a_path_without_a_session(self):
        os.environ['ZC_ZK_CONNECTION_STRING'] = ZOOKEEPER.connection_string
        self.addCleanup(os.environ.pop, 'ZC_ZK_CONNECTION_STRING')
        self.zk.create('/app/providers/127.0.0.1:3')
        self.assertEqual(self.servers('/app/providers'), '127.0.0.1:3\n')

    def test_check_and_get_addr(self):
        connection = ZOOKEEPER.connection_string
        with self.assertRaises(SystemExit) as caught, \
                contextlib.redirect_stderr(io.StringIO()) as err:
            zc.zk.monitor.check(connection, '/app/providers')
        self.assertEqual(caught.exception.code, 1)
        self.assertEqual(err.getvalue(),
                         'no server registered at /app/providers\n')
        with socket.socket() as listener:
            listener.bind(('127.0.0.1', 0))
            listener.listen()
            port = listener.getsockname()[1]
            self.zk.register('/app/providers', ('127.0.0.1', port))
            self.assertEqual(zc.zk.monitor.get_addr(connection,
                                                    '/app/providers'),
                             f'127.0.0.1:{port}')
            zc.zk.monitor.check(connection, '/app/providers')  # no exit
        self.zk.delete(f'/app/providers/127.0.0.1:{port}')
        port = free_port()
        self.zk.register('/app/providers', ('127.0.0.1', port))
        with self.assertRaises(SystemExit), \
                contextlib.redirect_stderr(io.StringIO()) as err:
            zc.zk.monitor.check(connection, '/app/providers')
        self.assertEqual(err.getvalue(), f'127.0.0.1:{port} (registered at'
                         ' /app/providers) does not accept connections:'
                         ' Connection refused\n')


class UnreachableTests(unittest.TestCase):
    """``servers PATH`` when ZooKeeper does not answer: one line within
    ``TIMEOUT``, and one line in the host's log, not one per retry."""

    timeout = 1.0

    def setUp(self):
        patch = unittest.mock.patch.object(zc.zk.monitor, 'TIMEOUT',
                                           self.timeout)
        patch.start()
        self.addCleanup(patch.stop)
        zc.zk.monitor.registrations.clear()
        self.addCleanup(zc.zk.monitor.registrations.clear)

    def servers(self, path, logger=None):
        """The answer, and the warnings logged (by ``logger``, else by
        anyone) meanwhile."""
        connection = Connection()
        with self.assertLogs(level=logging.DEBUG) as logs:
            started = time.monotonic()
            zc.zk.monitor.servers(connection, path)
            elapsed = time.monotonic() - started
        # (Slack for a busy machine; without a time limit the wait is
        # kazoo's: 10 s and more.)
        self.assertLess(elapsed, self.timeout + 2)
        warnings = [r.getMessage() for r in logs.records
                    if r.levelno >= logging.WARNING
                    and logger in (None, r.name)]
        return connection.output.getvalue(), warnings

    def test_no_server_at_the_connection_string(self):
        address = f'127.0.0.1:{free_port()}'
        with unittest.mock.patch.dict(
                os.environ, {'ZC_ZK_CONNECTION_STRING': address}):
            output, warnings = self.servers('/app/providers')
        message = (f"can't connect to ZooKeeper at {address} within 1"
                   ' seconds')
        self.assertEqual(output, message + '\n')
        self.assertEqual(warnings, [f'servers /app/providers: {message}'])

    def test_the_registering_session_lost_its_server(self):
        server = Server().start()
        self.addCleanup(server.close)
        zk = zc.zk.ZooKeeper(server.address)
        self.addCleanup(zk.close)
        zk.import_tree('/app\n  /providers\n')
        zope.event.subscribers.append(zc.zk.monitor.notify)
        self.addCleanup(zope.event.subscribers.remove, zc.zk.monitor.notify)
        zk.register('/app/providers', '127.0.0.1:1')
        # A server that hangs: the session still looks connected, and
        # kazoo would wait for its answer until the session times out.
        try:
            stop_process(server.process.pid)
            message = (f'no answer from ZooKeeper at {server.address} within'
                       ' 1 seconds')
            # (The host's session may log its own trouble meanwhile.)
            self.assertEqual(self.servers('/app/providers', 'zc.zk.monitor'),
                             (message + '\n',
                              [f'servers /app/providers: {message}']))
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        server.stop()
        wait(lambda: not zk.client.connected, timeout=30)
        message = f'not connected to ZooKeeper at {server.address}'
        self.assertEqual(self.servers('/app/providers', 'zc.zk.monitor'),
                         (message + '\n',
                          [f'servers /app/providers: {message}']))
