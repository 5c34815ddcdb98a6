"""The front door follows app registrations: a real HAProxy, a real
ZooKeeper, registrations made by hand and real HTTP servers behind."""
import http.server
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import unittest
import urllib.request

import zc.zk
from zope.testing.wait import wait

from zc.stack.cluster import haproxy
from zc.stack.cluster.balancer import Balancer
from zc.zk.testing import ZOOKEEPER, free_port


class Named(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the name of its server; ``/slow`` only once
    the server's ``release`` event is set."""

    def do_GET(self):
        if self.path == '/slow':
            self.server.release.wait(10)
        body = self.server.name.encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def http_server(name):
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Named)
    server.name = name
    server.release = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class HAProxyProcess:
    """HAProxy in the foreground as a child process, on a free port."""

    def __init__(self, directory):
        if haproxy.executable() is None:
            raise unittest.SkipTest("Debian's haproxy is not installed")
        self.port = free_port()
        self.socket = os.path.join(directory, 'admin.sock')
        self.config = os.path.join(directory, 'haproxy.cfg')
        with open(self.config, 'w') as f:
            # Few slots: the tests use each one several times.
            f.write(haproxy.configuration(self.socket, self.port, slots=4))
        haproxy.check_configuration(self.config)
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [haproxy.executable(), '-f', self.config, '-db'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        wait(lambda: os.path.exists(self.socket), timeout=10)
        return self

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        self.process.wait(10)
        os.unlink(self.socket)

    def get(self, path='/'):
        with urllib.request.urlopen(
                f'http://127.0.0.1:{self.port}{path}', timeout=10) as response:
            return response.read().decode()


class BalancerTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix='zc.stack-test-')
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.haproxy = HAProxyProcess(self.directory).start()
        self.addCleanup(lambda: self.haproxy.process.poll() is None
                        and self.haproxy.stop())
        self.zk = zc.zk.ZooKeeper(ZOOKEEPER.connection_string)
        self.addCleanup(self.zk.close)
        self.zk.client.ensure_path('/apps')
        self.runtime = haproxy.Runtime(self.haproxy.socket)
        self.balancer = Balancer(self.zk, '/apps', self.runtime,
                                 interval=0.1).start()
        self.addCleanup(self.balancer.close)
        self.servers = {}
        for name in ('one', 'two'):
            self.servers[name] = server = http_server(name)
            self.addCleanup(server.server_close)
            self.addCleanup(server.shutdown)

    def address(self, name):
        return '127.0.0.1:%d' % self.servers[name].server_address[1]

    def backend(self):
        """The addresses HAProxy sends requests to, and those of servers
        in maintenance still finishing some (marked so)."""
        return sorted(slot['address'] + ('' if slot['ready'] else ' (maint)')
                      for slot in self.runtime.servers().values()
                      if slot['ready'] or slot['sessions'])

    def register(self, name):
        """Register ``name``'s server in a session of its own, as its
        process would; return that session."""
        session = zc.zk.ZooKeeper(ZOOKEEPER.connection_string)
        self.addCleanup(session.close)
        session.register('/apps', self.address(name))
        return session

    def test_backend_follows_registrations(self):
        self.assertEqual(self.backend(), [])
        one = self.register('one')
        wait(lambda: self.backend() == [self.address('one')])
        self.assertEqual(self.haproxy.get(), 'one')
        self.register('two')
        wait(lambda: len(self.backend()) == 2)
        answers = {self.haproxy.get() for _ in range(6)}
        self.assertEqual(answers, {'one', 'two'})
        one.close()   # the registration goes with the session
        wait(lambda: self.backend() == [self.address('two')])
        self.assertEqual({self.haproxy.get() for _ in range(4)}, {'two'})

    def test_a_slot_is_used_again_once_free(self):
        slots = len(self.runtime.servers())
        for _ in range(3):
            for name in ('one', 'two'):   # 6 servers in 4 slots
                session = self.register(name)
                wait(lambda: self.backend() == [self.address(name)])
                self.assertEqual(self.haproxy.get(), name)
                session.close()
                wait(lambda: self.backend() == [])
        self.assertEqual(len(self.runtime.servers()), slots)

    def test_restarted_haproxy_gets_its_servers_back(self):
        self.register('one')
        wait(lambda: self.backend() == [self.address('one')])
        self.haproxy.stop(signal.SIGKILL)
        self.haproxy.start()
        wait(lambda: self.backend() == [self.address('one')])
        self.assertEqual(self.haproxy.get(), 'one')

    def test_requests_keep_flowing_while_servers_change(self):
        """Requests sent all along, through registrations coming and
        going, every one answered."""
        self.register('one')
        wait(lambda: self.backend() == [self.address('one')])
        answers, failures, done = [], [], threading.Event()

        def client():
            while not done.is_set():
                try:
                    answers.append(self.haproxy.get())
                except OSError as error:
                    failures.append(error)

        thread = threading.Thread(target=client)
        thread.start()
        try:
            two = self.register('two')
            wait(lambda: 'two' in answers[-4:])
            two.close()
            wait(lambda: self.backend() == [self.address('one')])
            count = len(answers)
            wait(lambda: len(answers) > count + 10)
        finally:
            done.set()
            thread.join(10)
        self.assertEqual(failures, [])
        self.assertIn('two', answers)

    def test_request_in_flight_finishes_before_its_server_goes(self):
        session = self.register('one')
        wait(lambda: self.backend() == [self.address('one')])
        slow = threading.Thread(
            target=lambda: answers.append(self.haproxy.get('/slow')))
        answers = []
        slow.start()
        wait(lambda: self.runtime.command('show sess').count('be=apps') == 1)
        session.close()
        # No new request goes to it, but it stays while one is in flight.
        wait(lambda: self.backend() == [self.address('one') + ' (maint)'])
        self.assertFalse(self.balancer.in_step.is_set())
        self.servers['one'].release.set()
        slow.join(10)
        self.assertEqual(answers, ['one'])
        wait(lambda: self.backend() == [])


if __name__ == '__main__':
    unittest.main()
