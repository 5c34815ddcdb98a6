"""ZEO's ``runzeo`` and ``zeoctl`` console scripts, as installed beside our
``zdaemon`` in the environment running the tests (buildout's ``bin/``) and
by a plain pip install (``.venv-pip/bin/``): they serve a database, on our
zdaemon."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import transaction
import ZEO

from zc.stack.runtests import ROOT
from zc.stack.tests.test_pip_path import VENV, PipLayer
from zc.stack.tests.test_scripts import script_dir

TIMEOUT = 60


class ZEOScripts:
    """The tests, for the scripts in ``bindir``."""

    bindir = script_dir()

    def setUp(self):
        if not (self.bindir / 'zeoctl').exists():
            self.skipTest(f'no {self.bindir}/zeoctl here')
        self.tmp = tempfile.mkdtemp(prefix='zc-stack-zeo-')
        self.addCleanup(shutil.rmtree, self.tmp)
        self.address = os.path.join(self.tmp, 'zeo.sock')
        self.conf = os.path.join(self.tmp, 'zeo.conf')
        self.write_conf(f'<filestorage 1>\n  path {self.tmp}/Data.fs\n'
                        '</filestorage>\n')

    def write_conf(self, storage, imports=''):
        """zeo.conf serving ``storage`` (a storage section), with a
        ``<runner>`` for zeoctl."""
        with open(self.conf, 'w') as f:
            f.write(f'{imports}<zeo>\n  address {self.address}\n</zeo>\n'
                    f'{storage}<runner>\n'
                    f'  program {self.bindir}/runzeo -C {self.conf}\n'
                    f'  socket-name {self.tmp}/zdsock\n'
                    f'  transcript {self.tmp}/transcript.log\n</runner>\n')

    def zeoctl(self, *args):
        done = subprocess.run([str(self.bindir / 'zeoctl'), '-C', self.conf,
                               *args], capture_output=True, text=True,
                              timeout=TIMEOUT, cwd=self.tmp,
                              stdin=subprocess.DEVNULL)
        if args == ('start',) and done.returncode == 0:
            self.addCleanup(self.stop_if_running)
            self.running = True
        elif args == ('stop',):
            self.running = False
        return done

    def stop_if_running(self):
        """Clean-up for a test that failed before it stopped the server
        (a zeoctl run more costs a second on a busy machine)."""
        if self.running:
            self.zeoctl('stop')

    def roundtrip(self, value):
        """Store ``value`` through the server, then read it back."""
        db = ZEO.DB(self.address, wait_timeout=TIMEOUT)
        try:
            with db.transaction() as connection:
                connection.root.value = value
            with db.transaction() as connection:
                return connection.root.value
        finally:
            db.close()
            transaction.abort()

    def test_runzeo(self):
        server = subprocess.Popen(
            [str(self.bindir / 'runzeo'), '-C', self.conf], cwd=self.tmp,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            self.assertEqual(self.roundtrip('runzeo'), 'runzeo')
        finally:
            server.send_signal(signal.SIGTERM)
            output, _ = server.communicate(timeout=TIMEOUT)
        self.assertEqual(server.returncode, 0, output)

    def test_zeoctl_on_our_zdaemon(self):
        done = self.zeoctl('start')
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        pid = re.search(r'daemon process started, pid=(\d+)', done.stdout)
        self.assertIsNotNone(pid, done.stdout)
        self.assertEqual(self.roundtrip('zeoctl'), 'zeoctl')
        self.assertEqual(self.zeoctl('status').stdout,
                         f'program running; pid={pid.group(1)}\n')
        done = self.zeoctl('stop')
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        done = self.zeoctl('status')
        self.assertEqual((done.returncode, done.stdout),
                         (3, 'daemon manager not running\n'))


    def test_a_zrs_primary_under_zeoctl(self):
        # The one difference from runzeo: zeoctl's schema wants the
        # storage section named (<zrs 1>), as it does for <filestorage 1>.
        zrs = (f'<zrs%s>\n  replicate-to 127.0.0.1:0\n  <filestorage>\n'
               f'    path {self.tmp}/Data.fs\n  </filestorage>\n</zrs>\n')
        self.write_conf(zrs % '', imports='%import zc.zrs\n')
        done = self.zeoctl('start')
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        self.assertIn("None is not an allowed name for 'zodb.storage'"
                      " sections", done.stderr)
        self.write_conf(zrs % ' 1', imports='%import zc.zrs\n')
        done = self.zeoctl('start')
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(self.roundtrip('zrs'), 'zrs')
        done = self.zeoctl('stop')
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)


class ZEOScriptTests(ZEOScripts, unittest.TestCase):
    """This environment's scripts (buildout.cfg, part scripts)."""


class PipZEOScriptTests(ZEOScripts, unittest.TestCase):
    """The same scripts from ``pip install -e`` of our distributions."""

    layer = PipLayer
    bindir = VENV / 'bin'

    def test_zdaemon_is_ours(self):
        done = subprocess.run(
            [str(self.bindir / 'python'), '-c',
             'import zdaemon; print(zdaemon.__file__)'],
            capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(done.stdout.strip(),
                         str(ROOT / 'zdaemon/src/zdaemon/__init__.py'))
