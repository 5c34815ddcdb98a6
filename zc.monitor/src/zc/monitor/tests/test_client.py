"""The ``zc-monitor`` console script, run as operators run it."""
import importlib.metadata
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import ZEO
import zope.component

import zc.monitor
from zc.monitor.interfaces import IMonitorPlugin
from zc.monitor.tests.helpers import TIMEOUT, python_env

#: Runs the ``zc-monitor`` console script's entry point, as the generated
#: script does, with the command-line arguments that follow.
RUN_SCRIPT = '''
import sys
from importlib.metadata import entry_points
[script] = entry_points(group='console_scripts', name='zc-monitor')
sys.argv[0] = 'zc-monitor'
sys.exit(script.load()())
'''


def zc_monitor(*args, stdin=''):
    """Run the script; ``stdin`` is text, or None for /dev/null."""
    return subprocess.run(
        [sys.executable, '-c', RUN_SCRIPT, *map(str, args)],
        capture_output=True, text=True, env=python_env(), timeout=TIMEOUT,
        **({'stdin': subprocess.DEVNULL} if stdin is None
           else {'input': stdin}))


def echo(connection, *words):
    """Print the words back"""
    connection.write(' '.join(words) + '\n')


class ClientTests(unittest.TestCase):

    def setUp(self):
        zc.monitor.register(echo)
        self.addCleanup(
            zope.component.getGlobalSiteManager().unregisterUtility,
            provided=IMonitorPlugin, name='echo')
        self.directory = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, self.directory)
        self.path = os.path.join(self.directory, 'monitor.sock')
        self.tcp = zc.monitor.Listener(0)
        self.addCleanup(self.tcp.close)
        self.unix = zc.monitor.Listener(self.path)
        self.addCleanup(self.unix.close)

    def test_the_console_script_is_declared(self):
        [script] = importlib.metadata.entry_points(
            group='console_scripts', name='zc-monitor')
        self.assertEqual(script.value, 'zc.monitor.client:main')

    def test_tcp_host_and_port(self):
        host, port = self.tcp.address
        done = zc_monitor(f'{host}:{port}', 'echo', 'over', 'TCP')
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (0, 'over TCP\n', ''))

    def test_tcp_port_alone_means_loopback(self):
        done = zc_monitor(self.tcp.address[1], 'echo', 'port')
        self.assertEqual((done.returncode, done.stdout), (0, 'port\n'))

    def test_unix_socket(self):
        done = zc_monitor(self.path, 'echo', 'over', 'Unix')
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (0, 'over Unix\n', ''))

    def test_help_command(self):
        done = zc_monitor(self.path, 'help', 'echo')
        self.assertEqual(done.stdout, 'Help for echo:\n\nPrint the words back\n')

    def test_interactive_session_from_stdin(self):
        done = zc_monitor(self.path, stdin='echo a\n\necho b\nquit\necho c\n')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout,
                         'Interactive mode on.  Use "quit" to exit.\n'
                         'a\na\nb\nGoodbye.\n')

    def test_interactive_session_ends_with_stdin(self):
        done = zc_monitor('%s:%s' % self.tcp.address, stdin='echo x\n')
        self.assertEqual((done.returncode, done.stdout),
                         (0, 'Interactive mode on.  Use "quit" to exit.\n'
                             'x\n'))

    def test_nobody_listening(self):
        done = zc_monitor(os.path.join(self.directory, 'nonesuch'), 'help')
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stdout, '')
        self.assertRegex(done.stderr, r'^zc-monitor: cannot connect to '
                         r'/.*/nonesuch: No such file or directory\n$')

    def test_no_answer_in_time(self):
        release = threading.Event()
        self.addCleanup(release.set)
        zc.monitor.register(lambda connection: release.wait(TIMEOUT),
                            'block')
        self.addCleanup(
            zope.component.getGlobalSiteManager().unregisterUtility,
            provided=IMonitorPlugin, name='block')
        port = self.tcp.address[1]
        done = zc_monitor('-t', '0.5', port, 'block')
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr, f'zc-monitor: no answer from '
                                      f'127.0.0.1:{port} within 0.5 seconds\n')

    def test_bad_address(self):
        done = zc_monitor('', 'help')
        self.assertEqual(done.returncode, 2)
        self.assertIn("argument ADDRESS: empty monitor address", done.stderr)

    def test_help_tells_the_usage(self):
        done = zc_monitor('--help')
        self.assertEqual(done.returncode, 0)
        self.assertTrue(done.stdout.startswith(
            'usage: zc-monitor [-h] [-t SECONDS] ADDRESS [COMMAND [ARG ...]]\n'),
            done.stdout)
        words = ' '.join(done.stdout.split())  # however argparse wrapped it
        self.assertIn('ADDRESS HOST:PORT, PORT (on 127.0.0.1) or the path of '
                      'a Unix socket', words)

    def test_timeout_must_be_positive(self):
        for value in ('-1', '0', 'nan', 'inf'):
            done = zc_monitor('-t', value, self.path, 'echo', 'x')
            self.assertEqual((done.returncode, done.stdout, done.stderr),
                             (2, '', 'zc-monitor: the timeout must be a'
                              ' positive number of seconds, not'
                              f' {float(value):g}\n'), value)

    def test_error_answers_exit_1_on_stderr(self):
        def fail(connection):
            """Fail"""
            raise ValueError('as asked')
        zc.monitor.register(fail)
        self.addCleanup(
            zope.component.getGlobalSiteManager().unregisterUtility,
            provided=IMonitorPlugin, name='fail')
        done = zc_monitor(self.path, 'nonesuch')
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (1, '', 'Invalid command \'nonesuch\'. Try'
                                 ' "help".\n'))
        done = zc_monitor(self.path, 'help', 'nonesuch')
        self.assertEqual((done.returncode, done.stdout), (1, ''))
        done = zc_monitor(self.path, 'help', 'echo', 'me')
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (1, '', 'Usage: help [COMMAND_NAME]\n'))
        with self.assertLogs('zc.monitor', 'WARNING'):
            done = zc_monitor(self.path, 'fail')
        self.assertEqual((done.returncode, done.stdout), (1, ''))
        self.assertTrue(done.stderr.startswith(
            'Traceback (most recent call last):\n'), done.stderr)
        self.assertTrue(done.stderr.endswith('ValueError: as asked\n\n'))

    def test_usage_says_the_address_alone_is_required(self):
        done = zc_monitor()
        self.assertEqual(done.returncode, 2)
        self.assertEqual(done.stderr.splitlines()[-1], 'zc-monitor: error:'
                         ' the following argument is required: ADDRESS')

    def test_interactive_session_with_stdin_from_a_file(self):
        done = zc_monitor(self.path, stdin=None)
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (0, 'Interactive mode on.  Use "quit" to exit.\n',
                          ''))

    def test_an_empty_command_is_refused(self):
        done = zc_monitor(self.path, ' ')
        self.assertEqual((done.returncode, done.stderr),
                         (2, 'zc-monitor: the command is empty\n'))


class NotAMonitorTests(unittest.TestCase):
    """Pointed at another kind of server, the client says so within its
    timeout."""

    def serve(self, handle):
        """A TCP server calling ``handle(socket)`` for each client."""
        listener = socket.create_server(('127.0.0.1', 0))
        listener.settimeout(TIMEOUT)
        done = threading.Event()

        def run():
            try:
                while True:
                    with listener.accept()[0] as client:
                        handle(client, done)
            except OSError:
                pass  # the listener was closed: the test is over
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        # (Clean-ups run last first.)
        self.addCleanup(thread.join, TIMEOUT)
        self.addCleanup(listener.close)
        self.addCleanup(listener.shutdown, socket.SHUT_RDWR)
        self.addCleanup(done.set)
        return listener.getsockname()[1]

    def test_a_ZEO_server(self):
        address, stop = ZEO.server()
        self.addCleanup(stop)
        done = zc_monitor('%s:%s' % address, 'help')
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stdout, '')
        self.assertRegex(done.stderr, r"^zc-monitor: 127.0.0.1:\d+ is not a"
                         r" monitor \(it answered b'.*'\)\n$")

    def test_a_server_that_hangs_up(self):
        # As a replication primary does on input it does not understand.
        port = self.serve(lambda client, done: client.recv(100))
        for args in (('help',), ()):
            done = zc_monitor(port, *args)
            self.assertEqual(
                (done.returncode, done.stdout, done.stderr),
                (1, '', f'zc-monitor: 127.0.0.1:{port} is not a monitor (it'
                 ' closed the connection without answering)\n'))

    def test_a_silent_server(self):
        port = self.serve(lambda client, done: done.wait(TIMEOUT))
        started = time.monotonic()
        done = zc_monitor('-t', '0.5', port, 'help')
        self.assertLess(time.monotonic() - started, TIMEOUT)
        self.assertEqual((done.returncode, done.stderr),
                         (1, f'zc-monitor: no answer from 127.0.0.1:{port}'
                          ' within 0.5 seconds: not a monitor, or a very busy'
                          ' one\n'))

    def test_an_http_server(self):
        def http(client, done):
            client.recv(100)
            client.sendall(b'HTTP/1.1 400 Bad Request\r\n\r\n')
        port = self.serve(http)
        done = zc_monitor(port, 'help')
        self.assertEqual((done.returncode, done.stderr),
                         (1, f'zc-monitor: 127.0.0.1:{port} is not a monitor'
                          " (it answered b'HTTP/1.1 400 Bad Request\\r\\n"
                          "\\r\\n')\n"))
