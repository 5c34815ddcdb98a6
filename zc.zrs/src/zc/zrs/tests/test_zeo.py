"""ZEO servers running as primary and as secondary from configuration files
alone (``%import zc.zrs`` + ``<zrs>``), started and stopped by zdaemon
through ZEO's zeoctl; read-only ZEO clients on the secondary; the
monitoring scripts against them."""
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import unittest

import ZEO
import ZODB.POSException
from zope.testing.wait import wait

from zc.zrs import lastzeo
from zc.zrs import nagios
from zc.zrs import ruok
from zc.zrs.tests import support

CONFIG = '''\
%import zc.zrs

<zeo>
  address 127.0.0.1:{zeo_port}
  read-only {read_only}
</zeo>

<zrs 1>
  {replication}
  reconnect-delay 1
  <filestorage>
    path {dir}/Data.fs
    blob-dir {dir}/blobs
  </filestorage>
</zrs>

<runner>
  program {python} -m ZEO.runzeo -C {dir}/zeo.conf
  socket-name {dir}/zdsock
  transcript {dir}/transcript.log
  # zdaemon's own log: without it, zdaemon would use the <eventlog> below.
  <eventlog>
    <logfile>
      path {dir}/zdaemon.log
    </logfile>
  </eventlog>
</runner>

<eventlog>
  level INFO
  <logfile>
    path {dir}/zeo.log
  </logfile>
</eventlog>
'''


class ZEOServer:
    """A ZEO server run by zdaemon (ZEO's zeoctl) from a config file in a
    directory of its own."""

    def __init__(self, directory, zeo_port):
        self.directory = directory
        self.address = f'127.0.0.1:{zeo_port}'
        self.zeo_port = zeo_port
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, 'zeoctl'), 'w') as f:
            # A script file: zdaemon runs its manager through it.
            f.write('from ZEO.zeoctl import main\nmain()\n')

    def configure(self, replication, read_only):
        with open(os.path.join(self.directory, 'zeo.conf'), 'w') as f:
            f.write(CONFIG.format(
                zeo_port=self.zeo_port, read_only=read_only,
                dir=self.directory, replication=replication,
                python=sys.executable))

    def zeoctl(self, *args):
        return subprocess.run(
            [sys.executable, os.path.join(self.directory, 'zeoctl'),
             '-C', os.path.join(self.directory, 'zeo.conf'), *args],
            env=support.python_env(), capture_output=True, text=True,
            timeout=support.TIMEOUT)

    def start(self):
        done = self.zeoctl('start')
        if done.returncode:
            raise RuntimeError(f'zeoctl start: {done.stdout}{done.stderr}')
        wait(self.answers, timeout=support.TIMEOUT)

    def answers(self):
        try:
            ruok.status(self.address, timeout=5)
        except OSError:
            return False
        return True

    def stop(self):
        """Stop; return the problems seen: a failed stop, or errors in the
        server's log."""
        problems = []
        done = self.zeoctl('stop')
        if done.returncode:
            problems.append(f'zeoctl stop: {done.stdout}')
        with open(os.path.join(self.directory, 'zeo.log')) as f:
            problems += [line for line in f.read().splitlines()
                         if re.search(r'\b(ERROR|CRITICAL)\b', line)]
        return problems

    def last_transaction(self):
        return bytes.fromhex(
            ruok.status(self.address)['1']['last-transaction'])


class ZEOServersLayer:
    """A primary and a secondary ZEO server under zdaemon."""

    @classmethod
    def setUp(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        zrs_port = support.free_port()
        cls.servers = {}
        for role, replication, read_only in (
                ('primary', f'replicate-to 127.0.0.1:{zrs_port}', 'false'),
                ('secondary', f'replicate-from 127.0.0.1:{zrs_port}',
                 'true')):
            server = ZEOServer(os.path.join(cls._tmp.name, role),
                               support.free_port())
            server.configure(replication, read_only)
            server.start()
            cls.servers[role] = server

    @classmethod
    def tearDown(cls):
        problems = [f'{role}: {problem}'
                    for role, server in cls.servers.items()
                    for problem in server.stop()]
        cls._tmp.cleanup()
        if problems:
            raise AssertionError('\n'.join(problems))


class ZEOTests(unittest.TestCase):

    layer = ZEOServersLayer

    def address(self, role):
        host, port = self.text(role).split(':')
        return host, int(port)

    def text(self, role):
        return ZEOServersLayer.servers[role].address

    def db(self, role, **kw):
        db = ZEO.DB(self.address(role), wait_timeout=support.TIMEOUT, **kw)
        self.addCleanup(db.close)
        return db

    def write(self, key, value):
        db = self.db('primary')
        with db.transaction() as conn:
            conn.root()[key] = value
        return db.storage.lastTransaction()

    def replicated(self, tid):
        secondary = ZEOServersLayer.servers['secondary']
        wait(lambda: secondary.last_transaction() == tid,
             timeout=support.TIMEOUT)

    def test_read_only_clients_follow_the_primary(self):
        self.replicated(self.write('answer', 41))
        reader_db = self.db('secondary', read_only=True)
        reader = reader_db.open()
        self.addCleanup(reader.close)
        self.assertEqual(reader.root()['answer'], 41)
        tid = self.write('answer', 42)
        self.replicated(tid)
        wait(lambda: reader_db.storage.lastTransaction() == tid,
             timeout=support.TIMEOUT)
        reader.transaction_manager.begin()
        self.assertEqual(reader.root()['answer'], 42)

    def test_the_secondary_refuses_writes(self):
        self.replicated(self.write('x', 1))
        db = self.db('secondary', read_only=True)
        conn = db.open()
        self.addCleanup(conn.close)
        conn.root()['x'] = 2
        with self.assertRaises(ZODB.POSException.ReadOnlyError):
            conn.transaction_manager.commit()
        conn.transaction_manager.abort()

    def run_script(self, main, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(args))
        return status, out.getvalue() + err.getvalue()

    def test_zrs_nagios(self):
        self.replicated(self.write('n', 1))
        primary, secondary = self.text('primary'), self.text('secondary')
        status, output = self.run_script(nagios.main, '-w', '10', '-e',
                                         '60', '-m', primary, secondary)
        self.assertEqual((status, output),
                         (0, "Secondary up to date.|'lag'=0.0000seconds\n"))
        status, output = self.run_script(nagios.main, '-m', secondary,
                                         primary)
        self.assertEqual(status, 0)  # the same transaction on both
        status, output = self.run_script(nagios.main, '-e', '1', primary,
                                         '127.0.0.1:1')
        self.assertEqual(status, 2)
        self.assertIn("Can't connect to secondary at 127.0.0.1:1", output)
        status, output = self.run_script(nagios.main, primary, secondary)
        self.assertEqual(status, 2)
        self.assertIn('give at least one of -m, -w or -e', output)

    def test_last_zeo_transaction(self):
        self.replicated(self.write('t', 1))
        status, output = self.run_script(
            lastzeo.main, self.text('primary'), self.text('secondary'))
        self.assertEqual(status, 0)
        lines = output.splitlines()
        self.assertEqual([line.split()[:2] for line in lines],
                         [[self.text('primary'), '1'],
                          [self.text('secondary'), '1']])
        self.assertEqual(lines[0].split()[2:], lines[1].split()[2:])


class ServerProcessesLayer:
    """Marks tests that start and stop ZEO servers of their own (a layer
    with nothing to set up: zope.testrunner calls only what it has)."""


class PromotionTests(unittest.TestCase):
    """The README's promotion procedure, with ZEO servers under zdaemon:
    the secondary becomes the primary by a configuration change and a
    restart, and the old primary rejoins as its secondary."""

    layer = ServerProcessesLayer

    def test_promotion_and_rejoining(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        old_port, new_port = support.free_port(), support.free_port()
        first = ZEOServer(os.path.join(tmp.name, 'first'),
                          support.free_port())
        second = ZEOServer(os.path.join(tmp.name, 'second'),
                           support.free_port())
        problems = []
        first.configure(f'replicate-to 127.0.0.1:{old_port}', 'false')
        second.configure(f'replicate-from 127.0.0.1:{old_port}', 'true')
        first.start()
        second.start()
        try:
            tid = self.write(first, 'before', 1)
            wait(lambda: second.last_transaction() == tid,
                 timeout=support.TIMEOUT)
            # The primary goes away; the secondary is reconfigured as the
            # primary and restarted.
            problems += first.stop() + second.stop()
            second.configure(f'replicate-to 127.0.0.1:{new_port}', 'false')
            second.start()
            tid = self.write(second, 'after', 2)
            # The old primary rejoins as a secondary of the new one.
            first.configure(f'replicate-from 127.0.0.1:{new_port}', 'true')
            first.start()
            wait(lambda: first.last_transaction() == tid,
                 timeout=support.TIMEOUT)
            db = ZEO.DB(('127.0.0.1', first.zeo_port), read_only=True,
                        wait_timeout=support.TIMEOUT)
            with db.transaction() as conn:
                self.assertEqual(dict(conn.root()), {'before': 1,
                                                     'after': 2})
            db.close()
        finally:
            for server in (first, second):
                if server.answers():
                    problems += server.stop()
        self.assertEqual(problems, [])
        self.assertTrue(support.same_bytes(
            os.path.join(first.directory, 'Data.fs'),
            os.path.join(second.directory, 'Data.fs')))

    def write(self, server, key, value):
        db = ZEO.DB(('127.0.0.1', server.zeo_port),
                    wait_timeout=support.TIMEOUT)
        try:
            with db.transaction() as conn:
                conn.root()[key] = value
            return db.storage.lastTransaction()
        finally:
            db.close()
