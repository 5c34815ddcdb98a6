"""ZEO servers running as primary and as secondary from configuration files
alone (``%import zc.zrs`` + ``<zrs>``), started and stopped by zdaemon
through ZEO's zeoctl; read-only ZEO clients on the secondary; the
monitoring scripts against them."""
import io
import os
import re
import subprocess
import sys
import tempfile
import unittest
import contextlib

import ZEO
import ZODB.POSException
import transaction

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
</runner>

<eventlog>
  level INFO
  <logfile>
    path {dir}/zeo.log
  </logfile>
</eventlog>
'''


def zeoctl(directory, *args):
    """Run ZEO's zeoctl (zdaemon's controller) for the server in
    ``directory`` (a script file: zdaemon runs its manager through it)."""
    script = os.path.join(directory, 'zeoctl')
    if not os.path.exists(script):
        with open(script, 'w') as f:
            f.write('from ZEO.zeoctl import main\nmain()\n')
    return subprocess.run(
        [sys.executable, script, '-C', os.path.join(directory, 'zeo.conf'),
         *args],
        env=support.python_env(), capture_output=True, text=True,
        timeout=support.TIMEOUT)


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
            directory = os.path.join(cls._tmp.name, role)
            os.mkdir(directory)
            port = support.free_port()
            with open(os.path.join(directory, 'zeo.conf'), 'w') as f:
                f.write(CONFIG.format(
                    zeo_port=port, read_only=read_only, dir=directory,
                    replication=replication, python=sys.executable))
            done = zeoctl(directory, 'start')
            if done.returncode:
                raise RuntimeError(f'zeoctl start {role}: {done.stdout}'
                                   f'{done.stderr}')
            cls.servers[role] = (directory, f'127.0.0.1:{port}')
            support.wait_until(lambda: cls.answers(f'127.0.0.1:{port}'))

    @staticmethod
    def answers(address):
        try:
            ruok.status(address, timeout=5)
        except OSError:
            return False
        return True

    @classmethod
    def tearDown(cls):
        problems = []
        for role, (directory, _) in cls.servers.items():
            done = zeoctl(directory, 'stop')
            if done.returncode:
                problems.append(f'zeoctl stop {role}: {done.stdout}')
            with open(os.path.join(directory, 'zeo.log')) as f:
                log = f.read()
            problems += [f'{role}: {line}' for line in log.splitlines()
                         if re.search(r'\b(ERROR|CRITICAL)\b', line)]
        cls._tmp.cleanup()
        if problems:
            raise AssertionError('\n'.join(problems))


class ZEOTests(unittest.TestCase):

    layer = ZEOServersLayer

    def address(self, role):
        host, port = ZEOServersLayer.servers[role][1].split(':')
        return host, int(port)

    def text(self, role):
        return ZEOServersLayer.servers[role][1]

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
        support.wait_until(lambda: bytes.fromhex(ruok.status(
            self.text('secondary'))['1']['last-transaction']) == tid)

    def test_read_only_clients_follow_the_primary(self):
        self.replicated(self.write('answer', 41))
        reader_db = self.db('secondary', read_only=True)
        reader = reader_db.open()
        self.addCleanup(reader.close)
        self.assertEqual(reader.root()['answer'], 41)
        tid = self.write('answer', 42)
        self.replicated(tid)
        support.wait_until(
            lambda: reader_db.storage.lastTransaction() == tid)
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
