"""The ``zc-monitor`` console script, run as operators run it."""
import importlib.metadata
import os
import subprocess
import sys
import tempfile
import threading
import unittest

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
    return subprocess.run(
        [sys.executable, '-c', RUN_SCRIPT, *map(str, args)], input=stdin,
        capture_output=True, text=True, env=python_env(), timeout=TIMEOUT)


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
