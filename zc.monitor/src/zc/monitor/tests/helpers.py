"""What the tests share: a real ZEO server process, its layer."""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

import zope.component
from zope.testing.wait import wait

import zc.monitor
import zc.monitor.client
from zc.monitor.interfaces import IMonitorPlugin

#: Seconds any single wait in the tests may take before it fails.
TIMEOUT = 30
#: Seconds between two polls of a condition waited for.
POLL = 0.02


def gone(pid):
    """Whether process ``pid`` ended (a zombie has ended, too)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except FileNotFoundError:
        return True


def python_env():
    """Environment for a child Python that imports what we import."""
    return {**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)}


class FakeClock:
    """A monotonic clock for a ``Listener``'s ``clock`` and ``sleep``: it
    moves only when told to, or slept on, so tests of time-outs and pauses
    need not wait for real seconds."""

    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class ZEOServer:
    """A real ZEO server (``runzeo``) in a child process, on Unix sockets.

    Its configuration also runs a zc.monitor through the ``<monitor>``
    section, at ``monitor_address``. ``stop()`` and ``start()`` may be
    called repeatedly; the storage survives restarts.
    """

    def __init__(self, directory):
        self.directory = directory
        self.address = os.path.join(directory, 'zeo.sock')
        self.monitor_address = os.path.join(directory, 'monitor.sock')
        self.config = os.path.join(directory, 'zeo.conf')
        with open(self.config, 'w') as f:
            f.write(textwrap.dedent(f'''\
                %import zc.monitor
                <zeo>
                  address {self.address}
                </zeo>
                <filestorage>
                  path {os.path.join(directory, 'Data.fs')}
                </filestorage>
                <eventlog>
                  level INFO
                  <logfile>
                    path {os.path.join(directory, 'zeo.log')}
                  </logfile>
                  <monitor>
                    address {self.monitor_address}
                  </monitor>
                </eventlog>
                '''))
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'ZEO.runzeo', '-C', self.config],
            env=python_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait(self._ready, timeout=TIMEOUT, wait=POLL,
             message=f'the ZEO server in {self.directory}')

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f'runzeo exited with {self.process.returncode}'
                                 f': {self.process.stderr.read().decode()}')
        try:
            # 'quit' loads no plug-in: 'help' would import them all, and
            # pay for that with seconds of the CPU budget's pauses.
            zc.monitor.client.query(self.monitor_address, 'quit', 1)
            zc.monitor.client.connect(self.address, 1).close()
        except OSError:
            return False
        return True

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(TIMEOUT)
        self.process.stderr.close()
        self.process = None


class ZEOLayer:
    """A ZEO server for the tests of a layer (``ZEOLayer.server``)."""

    directory = server = None

    @classmethod
    def setUp(cls):
        cls.directory = tempfile.mkdtemp(prefix='zc.monitor-zeo-')
        cls.server = ZEOServer(cls.directory)
        cls.server.start()

    @classmethod
    def tearDown(cls):
        if cls.server.process is not None:
            cls.server.stop()
        shutil.rmtree(cls.directory)
        cls.directory = cls.server = None


class MonitorTestCase(unittest.TestCase):
    """Listeners and registrations that end with the test."""

    listener = None

    def listen(self, address=0, **options):
        """A listener; the first becomes ``self.listener``."""
        listener = zc.monitor.Listener(address, **options)
        self.addCleanup(listener.close)
        if self.listener is None:
            self.listener = listener
        return listener

    def ask(self, line):
        """``self.listener``'s answer to ``line``."""
        return zc.monitor.client.query(self.listener.address, line)

    def provide(self, component, interface, name):
        zope.component.provideUtility(component, interface, name)
        self.addCleanup(
            zope.component.getGlobalSiteManager().unregisterUtility,
            provided=interface, name=name)

    def register(self, command, name):
        """Register a monitor command."""
        self.provide(command, IMonitorPlugin, name)
