"""zc.monitor's ``<monitor>`` section in a zdaemon configuration: the
monitor runs in a real zdaemon's daemon manager (two distributions
together, so it lives here rather than in either)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import ZConfig
import zdaemon
from zope.testing.wait import wait

from zc.monitor.client import query
from zc.monitor.tests.helpers import POLL, TIMEOUT, python_env


def schema(package, file='schema.xml'):
    return ZConfig.loadSchema(
        os.path.join(os.path.dirname(package.__file__), file))


ZDAEMON_CONFIG = '''\
%import zc.monitor
<runner>
  program sleep 60
  socket-name {directory}/zdsock
  transcript {directory}/transcript.log
  <eventlog>
    <logfile>
      path {directory}/zdaemon.log
    </logfile>
    # The CPU budget is zc.monitor's to test; here it would only pause
    # 'help', whose first answer imports every plug-in, for seconds.
    <monitor>
      address {directory}/monitor.sock
      cpu-budget none
    </monitor>
  </eventlog>
</runner>
'''


class ZdaemonTests(unittest.TestCase):
    """The monitor in a zdaemon configuration runs in the daemon manager,
    which configures its logging before it daemonizes."""

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        self.config = os.path.join(self.directory, 'zdaemon.conf')
        with open(self.config, 'w') as f:
            f.write(ZDAEMON_CONFIG.format(directory=self.directory))

    def zdaemon(self, action):
        return subprocess.run(
            [sys.executable, '-m', 'zdaemon', '-C', self.config, action],
            capture_output=True, text=True, env=python_env(), timeout=TIMEOUT)

    def test_the_daemon_manager_serves_the_monitor(self):
        self.assertTrue(schema(zdaemon).gettype('runner'))
        started = self.zdaemon('start')
        self.addCleanup(self.zdaemon, 'stop')
        self.assertEqual(started.returncode, 0, started.stdout + started.stderr)
        path = os.path.join(self.directory, 'monitor.sock')

        def answers():
            try:
                return 'help --' in query(path, 'help', timeout=5)
            except OSError:
                return False
        wait(answers, timeout=TIMEOUT, wait=POLL,
             message='the monitor of the zdaemon manager')
        with open(os.path.join(self.directory, 'zdaemon.log')) as f:
            log = f.read()
        self.assertIn(f'Monitor listening at {path}', log)
        self.assertIn('taken over by process', log)
        stopped = self.zdaemon('stop')
        self.assertEqual(stopped.returncode, 0, stopped.stderr)
        with self.assertRaises(OSError):
            query(path, 'help', timeout=5)

