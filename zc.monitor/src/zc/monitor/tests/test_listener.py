"""The server under bad input and load, over real sockets."""
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings

from zope.testing.wait import wait

import zc.monitor
from zc.monitor.client import connect, query
from zc.monitor.tests.helpers import (POLL, TIMEOUT, FakeClock,
                                     MonitorTestCase, gone, python_env)


def read_all(sock):
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
    return b''.join(chunks).decode()


def monitor_threads():
    return [t for t in threading.enumerate() if t.name.startswith('zc.monitor')]


class BadInputTests(MonitorTestCase):

    def setUp(self):
        self.register(lambda connection: connection.write('pong\n'), 'ping')
        self.listener = self.listen(timeout=1.0)
        self.address = self.listener.address

    def test_a_1MB_line_is_refused_and_others_are_served_meanwhile(self):
        with connect(self.address) as flooder:
            flooder.sendall(b'x' * (1024 * 1024 - 1))  # no newline yet
            self.assertEqual(query(self.address, 'ping'), 'pong\n')
            try:
                flooder.sendall(b'x\nping\n')
            except OSError:
                pass  # the server may have closed already: fine
            answer = read_all(flooder)
        self.assertEqual(answer, 'Line too long (more than 65536 bytes).\n')
        self.assertEqual(query(self.address, 'ping'), 'pong\n')

    def test_a_long_line_sent_in_one_piece_is_refused(self):
        with connect(self.address) as client:
            client.sendall(b'ping ' + b'y' * 70000 + b'\n')
            client.shutdown(socket.SHUT_WR)
            self.assertEqual(read_all(client),
                             'Line too long (more than 65536 bytes).\n')

    def test_a_silent_client_is_timed_out_while_others_are_served(self):
        with connect(self.address) as silent:
            for _ in range(3):
                self.assertEqual(query(self.address, 'ping'), 'pong\n')
            self.assertEqual(read_all(silent),
                             'Timed out after 1 seconds without input.\n')

    def test_a_client_stopping_mid_line_is_timed_out(self):
        with connect(self.address) as client:
            client.sendall(b'pi')
            self.assertEqual(read_all(client),
                             'Timed out after 1 seconds without input.\n')

    def test_100_concurrent_clients_all_get_their_answers(self):
        address = self.listen().address  # no short time-out
        clients = [connect(address) for _ in range(100)]
        try:
            # Every client is connected before any sends a command.
            for client in clients:
                client.sendall(b'ping\n')
            answers = [read_all(client) for client in clients]
        finally:
            for client in clients:
                client.close()
        self.assertEqual(answers, ['pong\n'] * 100)

    def test_100_concurrent_interactive_sessions(self):
        # No short time-out; the default CPU budget's pauses (seconds of
        # them for 700 commands) pass on a fake clock.
        clock = FakeClock()
        address = self.listen(clock=clock, sleep=clock.sleep).address

        def session(results, index):
            with connect(address) as client:
                client.sendall(b'interactive\n')
                for _ in range(5):
                    client.sendall(b'ping\n')
                client.sendall(b'quit\n')
                results[index] = read_all(client)

        results = [None] * 100
        threads = [threading.Thread(target=session, args=(results, i))
                   for i in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        expected = ('Interactive mode on.  Use "quit" to exit.\n'
                    + 'pong\n' * 5 + 'Goodbye.\n')
        self.assertEqual(results, [expected] * 100)

    def test_unknown_command(self):
        self.assertEqual(query(self.address, 'nonesuch 1 2'),
                         'Invalid command \'nonesuch\'. Try "help".\n')

    def test_a_raising_plugin_reports_and_the_server_carries_on(self):
        def explode(connection):
            connection.write('partial output\n')
            raise RuntimeError('plug-in bug')
        self.register(explode, 'explode')
        with self.assertLogs('zc.monitor', 'WARNING') as logs:
            answer = query(self.address, 'explode')
        self.assertTrue(answer.startswith(
            'partial output\nTraceback (most recent call last):\n'), answer)
        self.assertTrue(answer.endswith(
            '\nRuntimeError: plug-in bug\n\n'), answer)
        self.assertIn("Monitor command 'explode' failed", logs.output[0])
        self.assertEqual(query(self.address, 'ping'), 'pong\n')

    def test_a_plugin_raising_base_exceptions_does_not_kill_the_server(self):
        def exit(connection):
            raise SystemExit(3)
        self.register(exit, 'exit')
        with self.assertLogs('zc.monitor', 'ERROR'):
            self.assertEqual(query(self.address, 'exit'), '')
        self.assertEqual(query(self.address, 'ping'), 'pong\n')

    def test_a_plugin_writing_bytes_gets_a_type_error(self):
        self.register(lambda connection: connection.write(b'raw'), 'raw')
        with self.assertLogs('zc.monitor', 'WARNING'):
            answer = query(self.address, 'raw')
        self.assertIn('TypeError: write() argument must be str, not bytes',
                      answer)

    def test_undecodable_input_is_replaced_not_fatal(self):
        with connect(self.address) as client:
            client.sendall(b'\xff\xfe ping\n')
            client.shutdown(socket.SHUT_WR)
            self.assertEqual(read_all(client),
                             'Invalid command \'\ufffd\ufffd\'. Try "help".\n')

    def test_a_last_line_without_newline_is_answered(self):
        with connect(self.address) as client:
            client.sendall(b'ping')
            client.shutdown(socket.SHUT_WR)
            self.assertEqual(read_all(client), 'pong\n')

    def test_a_client_closing_without_a_command(self):
        connect(self.address).close()
        self.assertEqual(query(self.address, 'ping'), 'pong\n')

    def test_a_client_vanishing_before_its_answer(self):
        release = threading.Event()

        def slow(connection):
            release.wait(TIMEOUT)
            connection.write('late\n' * 100000)
        self.register(slow, 'slow')
        client = connect(self.address)
        client.sendall(b'slow\n')
        client.close()
        release.set()
        self.assertEqual(query(self.address, 'ping'), 'pong\n')


class ConcurrencyTests(MonitorTestCase):

    def test_a_slow_command_delays_only_its_own_client(self):
        release = threading.Event()

        def slow(connection):
            release.wait(TIMEOUT)
            connection.write('done\n')
        self.register(slow, 'slow')
        self.register(lambda connection: connection.write('pong\n'), 'ping')
        listener = self.listen()
        with connect(listener.address) as waiting:
            waiting.sendall(b'slow\n')
            self.assertEqual(query(listener.address, 'ping'), 'pong\n')
            release.set()
            self.assertEqual(read_all(waiting), 'done\n')

    def test_unread_output_does_not_stall_the_server(self):
        self.register(lambda connection: connection.write('z' * 4_000_000),
                      'flood')
        self.register(lambda connection: connection.write('pong\n'), 'ping')
        listener = self.listen()
        with connect(listener.address) as lazy:
            lazy.sendall(b'interactive\n' + b'flood\n' * 5)
            self.assertEqual(query(listener.address, 'ping'), 'pong\n')
            lazy.shutdown(socket.SHUT_WR)
            answer = read_all(lazy)
        self.assertEqual(answer.count('z'), 20_000_000)

    def test_pipelined_lines_are_answered_in_order(self):
        def say(connection, word):
            connection.write(word + '\n')
        self.register(say, 'say')
        clock = FakeClock()  # the CPU budget's pauses pass at once
        listener = self.listen(clock=clock, sleep=clock.sleep)
        lines = ['interactive'] + [f'say {i}' for i in range(200)]
        with connect(listener.address) as client:
            client.sendall(''.join(line + '\n' for line in lines).encode())
            client.shutdown(socket.SHUT_WR)
            answer = read_all(client)
        self.assertEqual(answer.splitlines()[1:],
                         [str(i) for i in range(200)])


class LifecycleTests(MonitorTestCase):

    def test_close_frees_the_port_and_ends_every_thread(self):
        listener = zc.monitor.Listener(0)
        host, port = listener.address
        with connect(listener.address):  # a client still connected
            self.assertTrue(monitor_threads())
            listener.close()
        wait(lambda: not monitor_threads(), timeout=TIMEOUT, wait=POLL,
             message='threads to end')
        with socket.create_server((host, port)):
            pass
        with self.assertRaises(ConnectionRefusedError):
            query((host, port), 'help')

    def test_close_is_idempotent_and_a_context_manager(self):
        with zc.monitor.Listener(0) as listener:
            self.assertIn('help --', query(listener.address, 'help'))
        listener.close()
        self.assertEqual(monitor_threads(), [])

    def test_start_and_stop(self):
        self.addCleanup(zc.monitor.stop)
        first = zc.monitor.start(0)
        second = zc.monitor.start(('127.0.0.1', 0))
        self.assertEqual(zc.monitor.last_listener.address, second)
        self.assertEqual(first[0], '127.0.0.1')
        self.assertNotEqual(first, second)
        zc.monitor.stop()
        self.assertIsNone(zc.monitor.last_listener)
        for address in (first, second):
            with self.assertRaises(ConnectionRefusedError):
                query(address, 'help')

    def test_other_socket_errors_are_raised(self):
        with self.assertRaises(OSError):
            zc.monitor.start(('203.0.113.1', 0))  # not an address of ours

    def test_empty_host_listens_on_every_interface(self):
        listener = self.listen(('', 0))
        self.assertEqual(listener.address[0], '0.0.0.0')
        self.assertIn('help --', query(('127.0.0.1', listener.address[1]),
                                       'help'))


class UnixSocketTests(MonitorTestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, self.directory)

    def test_created_0600_and_removed_on_close(self):
        path = os.path.join(self.directory, 'm.sock')
        old_umask = os.umask(0)  # the permissions must not depend on it
        try:
            listener = zc.monitor.Listener(path)
        finally:
            os.umask(old_umask)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertTrue(stat.S_ISSOCK(os.stat(path).st_mode))
        self.assertIn('help --', query(path, 'help'))
        self.assertEqual(os.listdir(self.directory), ['m.sock'])
        listener.close()
        self.assertEqual(os.listdir(self.directory), [])

    def test_a_long_path_is_still_0600(self):
        # A directory so deep that the private-directory detour would not
        # fit in a socket address (108 bytes at most), the path itself does.
        deep = os.path.join(self.directory, 'd' * (98 - len(self.directory)))
        os.mkdir(deep)
        self.addCleanup(os.rmdir, deep)
        path = os.path.join(deep, 'm.sock')
        self.assertEqual(len(path), 106)
        with zc.monitor.Listener(path):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            self.assertIn('help --', query(path, 'help'))
        self.assertEqual(os.listdir(deep), [])

    def test_a_relative_path_is_kept_as_given(self):
        old = os.getcwd()
        os.chdir(self.directory)
        try:
            self.assertEqual(zc.monitor.start('m.sock'), 'm.sock')
            listener = zc.monitor.last_listener
            self.addCleanup(zc.monitor.stop)
            self.assertEqual(listener.address, 'm.sock')
            self.assertIn('help --', query('m.sock', 'help'))
            os.chdir(old)  # as a daemonizing host does
            listener.close()
        finally:
            os.chdir(old)
        self.assertEqual(os.listdir(self.directory), [])

    def test_a_path_is_returned_exactly_as_given(self):
        for given in (os.path.join(self.directory, 'm.sock'),
                      os.path.join(self.directory, '.', 'm.sock'),
                      self.directory + '//m.sock'):
            self.assertEqual(zc.monitor.start(given), given)
            zc.monitor.stop()

    def test_starting_again_replaces_a_live_socket(self):
        path = os.path.join(self.directory, 'm.sock')
        # The first listener refuses lines longer than 8 bytes: that tells
        # which listener answers.
        first = zc.monitor.Listener(path, max_line=8)
        self.addCleanup(first.close)
        first_inode = os.lstat(path).st_ino
        self.assertEqual(query(path, 'a-long-line'),
                         'Line too long (more than 8 bytes).\n')
        with self.assertNoLogs('zc.monitor', 'WARNING'):
            self.assertEqual(zc.monitor.start(path), path)
        self.addCleanup(zc.monitor.stop)
        self.assertNotEqual(os.lstat(path).st_ino, first_inode)
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
        newer = 'Invalid command \'a-long-line\'. Try "help".\n'
        self.assertEqual(query(path, 'a-long-line'), newer)
        first.close()  # leaves the newer socket file alone
        self.assertEqual(query(path, 'a-long-line'), newer)
        zc.monitor.stop()
        self.assertFalse(os.path.exists(path))

    def test_a_socket_replaced_by_someone_else_is_left_alone(self):
        path = os.path.join(self.directory, 'm.sock')
        listener = zc.monitor.Listener(path)
        os.unlink(path)
        with zc.monitor.Listener(path) as newer:
            listener.close()
            self.assertIn('help --', query(newer.address, 'help'))
        self.assertFalse(os.path.exists(path))

    def test_a_missing_directory(self):
        path = os.path.join(self.directory, 'nonesuch', 'm.sock')
        with self.assertRaises(FileNotFoundError):
            zc.monitor.Listener(path)



# Python 3.12+ warns about forking a process with threads: forking with
# the monitor's threads running is what these tests are about.
_FORK_WARNING = r'This process .* is multi-threaded, use of fork\(\) may'

DAEMON = f"""
import os, sys, time, warnings, zc.monitor
warnings.filterwarnings('ignore', {_FORK_WARNING!r}, DeprecationWarning)

def pid(connection):
    connection.write(f'{{os.getpid()}}\\n')

zc.monitor.register(pid)
zc.monitor.start(sys.argv[1])
if os.fork():
    os._exit(0)  # the parent leaves at once, as a daemonizing process does
time.sleep(60)
"""


def pid(connection):
    connection.write(f'{os.getpid()}\n')


class ForkTests(MonitorTestCase):

    def test_a_forked_child_leaves_the_monitor_to_its_parent(self):
        self.register(pid, 'pid')
        listener = self.listen()
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', _FORK_WARNING,
                                    DeprecationWarning)
            child = os.fork()
        if not child:
            try:
                time.sleep(1)
            finally:
                os._exit(0)
        try:
            answers = {query(listener.address, 'pid') for _ in range(20)}
        finally:
            os.waitpid(child, 0)
        self.assertEqual(answers, {f'{os.getpid()}\n'})
        self.assertEqual(query(listener.address, 'pid'), f'{os.getpid()}\n')

    def test_a_daemonizing_process_keeps_its_monitor(self):
        directory = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, directory)
        path = os.path.join(directory, 'm.sock')
        parent = subprocess.Popen([sys.executable, '-c', DAEMON, path],
                                  env=python_env())
        self.assertEqual(parent.wait(TIMEOUT), 0)
        answers = []

        def answered_by_the_child():
            try:
                answers.append(int(query(path, 'pid', timeout=5)))
            except OSError:
                return False
            return answers[-1] != parent.pid
        try:
            wait(answered_by_the_child, timeout=TIMEOUT, wait=POLL,
                 message='the daemon to serve')
        finally:
            for daemon in set(answers) - {parent.pid}:
                os.kill(daemon, signal.SIGTERM)
                wait(lambda: gone(daemon), timeout=TIMEOUT, wait=POLL,
                     message='the daemon to end')
        self.assertTrue(stat.S_ISSOCK(os.stat(path).st_mode))
        os.unlink(path)  # killed: nobody removed it


def burn(connection, milliseconds):
    """Use this much CPU time."""
    end = time.thread_time() + int(milliseconds) / 1000
    while time.thread_time() < end:
        pass
    connection.write('burnt\n')


class BudgetTests(MonitorTestCase):

    def test_the_monitor_pauses_beyond_its_cpu_budget(self):
        # A budget of 5% of a CPU allows 50 ms of CPU at once, then 5 ms
        # per second. Six commands of 20 ms need at least (120 - 50) / 0.05
        # = 1.4 s; a busy machine can only make that longer.
        self.register(burn, 'burn')
        listener = self.listen(cpu_budget=0.05)
        started = time.monotonic()
        for _ in range(6):
            self.assertEqual(query(listener.address, 'burn 20'), 'burnt\n')
        self.assertGreater(time.monotonic() - started, 1.0)

    def test_options_must_be_positive(self):
        for option in ('timeout', 'max_line', 'max_clients', 'workers',
                       'cpu_budget'):
            with self.assertRaisesRegex(
                    ValueError, f'^{option} must be positive, not 0$'):
                zc.monitor.Listener(0, **{option: 0})


class FakeClockTests(MonitorTestCase):
    """Time-outs and CPU pauses measured by the listener's ``clock`` and
    spent with its ``sleep``: long limits, tested at once."""

    def setUp(self):
        self.clock = FakeClock()
        self.register(lambda connection: connection.write('pong\n'), 'ping')

    def test_a_silent_client_is_timed_out_when_the_clock_says_so(self):
        listener = self.listen(timeout=120, clock=self.clock,
                               sleep=self.clock.sleep)
        started = time.monotonic()
        with connect(listener.address) as silent:
            # Served after the silent client was accepted at time 0:
            self.assertEqual(query(listener.address, 'ping'), 'pong\n')
            self.clock.advance(119)
            for _ in range(2):  # other clients make the loop look again
                self.assertEqual(query(listener.address, 'ping'), 'pong\n')
            silent.setblocking(False)
            with self.assertRaises(BlockingIOError):
                silent.recv(100)  # not timed out yet
            silent.settimeout(TIMEOUT)
            self.clock.advance(1)
            self.assertEqual(query(listener.address, 'ping'), 'pong\n')
            self.assertEqual(read_all(silent), 'Timed out after 120 seconds'
                             ' without input.\n')
        self.assertLess(time.monotonic() - started, 30)

    def test_the_cpu_budget_pauses_with_the_given_sleep(self):
        # 1% of a CPU allows 10 ms at once; 50 ms more need 4 s of pauses,
        # in steps short enough for close() to stay prompt.
        self.register(burn, 'burn')
        listener = self.listen(cpu_budget=0.01, clock=self.clock,
                               sleep=self.clock.sleep)
        started = time.monotonic()
        self.assertEqual(query(listener.address, 'burn 50'), 'burnt\n')
        self.assertGreaterEqual(sum(self.clock.slept), 3.9)
        self.assertLessEqual(max(self.clock.slept), 0.05)
        self.assertLess(time.monotonic() - started, 3.9)  # not real seconds
