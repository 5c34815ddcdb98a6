"""The ``zkzopeserver`` script as a real child process: graceful shutdown
on SIGTERM, ini files, bad input, and life under zdaemon."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import unittest

from zc.zk.testing import ZOOKEEPER, free_port

from zc.zkzopeserver.tests.helpers import (APP, TIMEOUT, connect, get,
                                           python_env, refuses, run_to_end,
                                           stop_process,
                                           temporary_directory, wait,
                                           zkzopeserver)


def ini_file(directory, server_settings=''):
    """Write ``app.ini`` in ``directory``: the hello application, served
    by zkzopeserver with the test ZooKeeper and ``server_settings`` (lines
    of its server section); return its path."""
    ini = os.path.join(directory, 'app.ini')
    with open(ini, 'w') as f:
        f.write('[app:main]\n'
                'use = call:zc.zkzopeserver.tests.apps:hello_factory\n\n'
                '[server:main]\n'
                'use = egg:zc.zkzopeserver\n'
                f'zookeeper = {ZOOKEEPER.connection_string}\n'
                + server_settings)
    return ini


class ProcessTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.directory = temporary_directory(self)
        self.zk = connect(self, ZOOKEEPER.connection_string)

    def start(self, *args):
        """Start the script; return it and the port it registered."""
        self.log = os.path.join(self.directory, 'stderr.log')
        with open(self.log, 'ab') as log:
            process = zkzopeserver(*args, stderr=log)
        self.addCleanup(stop_process, process)

        def registered():
            if process.poll() is not None:
                self.fail(f'exited with {process.returncode}: '
                          + self.read_log())
            return self.zk.exists('/app') and self.zk.get_children('/app')
        wait(registered, 'the registration')
        [name] = self.zk.get_children('/app')
        return process, int(name.rpartition(':')[2])

    def slow_request(self, port):
        """Start a request that stays in flight until the test releases
        it (``self.release()``); return its thread and a dict that gets
        its ``response`` or ``error``."""
        outcome = {}

        def request():
            try:
                outcome['response'] = get(port, f'/slow?{self.directory}')
            except Exception as error:
                outcome['error'] = error
        client = threading.Thread(target=request)
        client.start()
        self.addCleanup(client.join, TIMEOUT)
        self.addCleanup(self.release)
        wait(lambda: os.path.exists(os.path.join(self.directory, 'started')),
             'the slow request to start')
        return client, outcome

    def release(self):
        open(os.path.join(self.directory, 'release'), 'w').close()

    def read_log(self):
        with open(self.log) as f:
            return f.read()

    def test_sigterm_unregisters_then_finishes_requests_then_exits_0(self):
        process, port = self.start(
            APP, '--zookeeper', ZOOKEEPER.connection_string, '--path',
            '/app', '--host', '127.0.0.1')
        node = f'/app/127.0.0.1:{port}'
        client, slow = self.slow_request(port)

        process.send_signal(signal.SIGTERM)
        # The listening socket closes, but only once the node is gone.
        wait(lambda: refuses(port), 'the listening socket to close')
        self.assertIsNone(self.zk.exists(node))
        self.assertIsNone(process.poll(), 'exited with a request in flight')
        self.release()
        client.join(TIMEOUT)
        self.assertEqual(slow, {'response': (200, 'slow and done\n')})
        self.assertEqual(process.wait(TIMEOUT), 0)
        log = self.read_log()
        for event in ('Installed SIGTERM handler', 'Serving on',
                      'Unregistered', 'Stopped serving'):
            self.assertIn(event, log)
        self.assertLess(log.index('Unregistered'),
                        log.index('Stopped serving'))

    def test_grace_period_bounds_the_wait_for_requests(self):
        process, port = self.start(
            APP, '--zookeeper', ZOOKEEPER.connection_string, '--path',
            '/app', '--grace-period', '0.5')
        client, slow = self.slow_request(port)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(TIMEOUT), 0)
        client.join(TIMEOUT)
        self.assertEqual(list(slow), ['error'])  # never answered
        self.assertIn('requests unfinished after the grace period (0.5s)',
                      self.read_log())

    def test_a_second_sigterm_cuts_the_grace_period_short(self):
        process, port = self.start(
            APP, '--zookeeper', ZOOKEEPER.connection_string, '--path',
            '/app', '--grace-period', '600')
        client, slow = self.slow_request(port)
        process.send_signal(signal.SIGTERM)
        wait(lambda: refuses(port), 'the listening socket to close')
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(TIMEOUT), 0)
        client.join(TIMEOUT)
        self.assertEqual(list(slow), ['error'])
        self.assertIn('requests unfinished', self.read_log())

    def test_sigint_stops_gracefully_too(self):
        # Ctrl-C reaches a program in the foreground; one started in the
        # background of a shell inherits SIGINT ignored and, rightly,
        # keeps ignoring it. The test runs either way, so the child
        # starts as from a terminal: a handled signal is default in a
        # new program, an ignored one stays ignored.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            process, port = self.start(
                APP, '--zookeeper', ZOOKEEPER.connection_string, '--path',
                '/app')
        finally:
            signal.signal(signal.SIGINT, previous)
        client, slow = self.slow_request(port)
        process.send_signal(signal.SIGINT)  # Ctrl-C
        wait(lambda: refuses(port), 'the listening socket to close')
        self.assertEqual(self.zk.get_children('/app'), [])
        self.release()
        client.join(TIMEOUT)
        self.assertEqual(slow, {'response': (200, 'slow and done\n')})
        self.assertEqual(process.wait(TIMEOUT), 0, self.read_log())
        self.assertNotIn('Traceback', self.read_log())

    def test_monitor_server_as_the_cluster_runs_it(self):
        process, port = self.start(
            APP, '--zookeeper', ZOOKEEPER.connection_string, '--path',
            '/app', '--monitor-server', '127.0.0.1:0')
        [name] = self.zk.get_children('/app')
        self.assertTrue(name.endswith(f':{port}'))
        properties = self.zk.get_properties(f'/app/{name}')
        self.assertTrue(properties['monitor'].startswith('127.0.0.1:'))
        self.assertEqual(properties['pid'], process.pid)
        self.assertEqual(get(port)[0], 200)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(TIMEOUT), 0)
        self.assertEqual(self.zk.get_children('/app'), [])

    def test_paste_ini_file(self):
        log = os.path.join(self.directory, 'server.log')
        ini = ini_file(self.directory, textwrap.dedent(f'''\
            path = /app
            host = 127.0.0.1
            threads = 2
            session_timeout = 5000
            loggers =
              <logger>
                level INFO
                <logfile>
                  path {log}
                  format $$(levelname)s $$(name)s $$(message)s
                </logfile>
              </logger>
            '''))
        process, port = self.start(ini)
        self.assertEqual(get(port), (200, f'Hello from port {port}\n'))
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(TIMEOUT), 0)
        self.assertEqual(self.zk.get_children('/app'), [])
        with open(log) as f:
            logged = f.read()
        self.assertIn(f'INFO zc.zkzopeserver Serving on 127.0.0.1:{port}',
                      logged)

    def test_sigterm_handled_by_the_host_program_is_left_alone(self):
        code = textwrap.dedent(f'''
            import os, signal, sys
            import zc.zkzopeserver
            from zc.zkzopeserver.tests import apps
            def handler(*args):
                zc.zkzopeserver.stop_for_testing()
                print('host handler', flush=True)
            signal.signal(signal.SIGTERM, handler)
            zc.zkzopeserver.run(apps.app, {{}},
                                {ZOOKEEPER.connection_string!r}, '/app',
                                loggers='INFO')
            print('run returned', flush=True)
            ''')
        self.log = os.path.join(self.directory, 'stderr.log')
        with open(self.log, 'wb') as log:
            process = subprocess.Popen(
                [sys.executable, '-c', code], env=python_env(),
                stdout=subprocess.PIPE, stderr=log, text=True)
        self.addCleanup(stop_process, process)
        wait(lambda: self.zk.exists('/app') and self.zk.get_children('/app'),
             'the registration')
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=TIMEOUT)
        self.assertEqual(out, 'host handler\nrun returned\n')
        self.assertEqual(process.returncode, 0)
        self.assertNotIn('Installed SIGTERM handler', self.read_log())


class BadInputTests(unittest.TestCase):
    """Mistakes get one line on standard error and a non-zero exit."""

    layer = ZOOKEEPER

    def run_script(self, *args):
        status, out, err = run_to_end(*args)
        self.assertEqual(out, '')
        self.assertEqual(len(err.splitlines()), 1, err)
        return status, err.strip()

    def test_missing_zookeeper_or_path(self):
        status, error = self.run_script(APP, '--path', '/app')
        self.assertEqual(status, 2)
        self.assertEqual(error, 'zkzopeserver: error: the following argument'
                                ' is required: --zookeeper (see zkzopeserver'
                                ' --help)')
        status, error = self.run_script(APP, '--zookeeper', 'h:1')
        self.assertEqual(status, 2)
        self.assertIn('required: --path', error)

    def test_an_app_that_does_not_import(self):
        status, error = self.run_script(
            'nosuch:app', '--zookeeper', ZOOKEEPER.connection_string,
            '--path', '/app')
        self.assertEqual(status, 2)
        self.assertEqual(error, "zkzopeserver: error: cannot import"
                                " nosuch:app: No module named 'nosuch'")
        status, error = self.run_script(
            'zc.zkzopeserver.tests.apps:nosuch', '--zookeeper',
            ZOOKEEPER.connection_string, '--path', '/app')
        self.assertEqual(status, 2)
        self.assertIn("has no attribute 'nosuch'", error)

    def test_bad_option_values(self):
        status, error = self.run_script(
            APP, '--zookeeper', ZOOKEEPER.connection_string, '--path',
            '/app', '--threads', 'many')
        self.assertEqual((status, error), (
            2, "zkzopeserver: error: threads must be a whole number,"
               " not 'many'"))

    def test_an_address_in_use(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            status, error = self.run_script(
                APP, '--zookeeper', ZOOKEEPER.connection_string, '--path',
                '/app', '--host', '127.0.0.1', '--port', port, '--loggers',
                'WARNING')
        self.assertEqual((status, error), (
            2, f'zkzopeserver: error: cannot listen at 127.0.0.1:{port}:'
               ' Address already in use'))

    def test_unreachable_zookeeper(self):
        port = free_port()
        status, error = self.run_script(
            APP, '--zookeeper', f'127.0.0.1:{free_port()}', '--path', '/app',
            '--port', port, '--session-timeout', '1000', '--loggers',
            'CRITICAL')
        self.assertEqual(status, 1)
        self.assertEqual(error, 'zkzopeserver: error: cannot connect to'
                                ' ZooKeeper at 127.0.0.1:'
                                + error.rpartition(':')[2])
        self.assertTrue(refuses(port))

    def test_ini_file_mistakes(self):
        directory = temporary_directory(self)
        ini = ini_file(directory)
        self.assertEqual(self.run_script(ini), (
            2, 'zkzopeserver: error: missing required setting: path (in the'
               f' server section of {ini})'))
        self.assertEqual(self.run_script(ini, '--port', '80'), (
            2, 'zkzopeserver: error: --port cannot be used with an ini file:'
               ' set it in its server section (see zkzopeserver --help)'))
        status, error = self.run_script(os.path.join(directory, 'no.ini'))
        self.assertEqual(status, 2)
        self.assertIn('no such file', error)
        status, error = self.run_script(ini + '#other')
        self.assertEqual(status, 2)
        self.assertIn('other', error)


class ZdaemonTests(unittest.TestCase):
    """``zdaemon -p "zkzopeserver ..." start``, then ``stop``."""

    layer = ZOOKEEPER

    def setUp(self):
        self.directory = temporary_directory(self)
        self.zk = connect(self, ZOOKEEPER.connection_string)
        # The console script, as an installation puts it on PATH.
        script = os.path.join(self.directory, 'zkzopeserver')
        with open(script, 'w') as f:
            f.write(f'#!/bin/sh\nexec {sys.executable} -m zc.zkzopeserver'
                    ' "$@"\n')
        os.chmod(script, 0o755)
        self.env = python_env(
            PATH=self.directory + os.pathsep + os.environ['PATH'])

    def zdaemon(self, action):
        program = (f'zkzopeserver {APP} --zookeeper'
                   f' {ZOOKEEPER.connection_string} --path /app'
                   ' --monitor-server 127.0.0.1:0')
        return subprocess.run(
            [sys.executable, '-m', 'zdaemon', '-p', program,
             '-s', os.path.join(self.directory, 'zdsock'),
             '-t', os.path.join(self.directory, 'transcript.log'), action],
            capture_output=True, text=True, env=self.env, timeout=TIMEOUT,
            cwd=self.directory)

    def test_start_and_stop(self):
        started = self.zdaemon('start')
        self.addCleanup(self.zdaemon, 'stop')
        self.assertEqual(started.returncode, 0,
                         started.stdout + started.stderr)
        wait(lambda: self.zk.exists('/app') and self.zk.get_children('/app'),
             'the registration')
        [name] = self.zk.get_children('/app')
        port = int(name.rpartition(':')[2])
        self.assertIn('monitor', self.zk.get_properties(f'/app/{name}'))
        self.assertEqual(get(port)[0], 200)
        stopped = self.zdaemon('stop')
        self.assertEqual(stopped.returncode, 0, stopped.stderr)
        self.assertEqual(self.zk.get_children('/app'), [])
        self.assertTrue(refuses(port))
        with open(os.path.join(self.directory, 'transcript.log')) as f:
            transcript = f.read()
        self.assertIn('Unregistered', transcript)
        self.assertIn('Stopped serving', transcript)
