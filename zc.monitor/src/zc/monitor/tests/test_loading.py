"""Loading plug-ins imports their modules once per process: that cost is
not charged to the CPU budget of the first command, and a fork in the
middle of it does not leave the child a half-imported module. Each test
runs in a fresh Python, where nothing is imported yet."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from zc.monitor.tests.helpers import TIMEOUT, python_env

#: Asks a fresh monitor for ``help``, which loads every plug-in, and
#: prints the seconds the CPU budget paused (on a fake clock).
FIRST_HELP = """
import zc.monitor, zc.monitor.client
from zc.monitor.tests.helpers import FakeClock
clock = FakeClock()
listener = zc.monitor.Listener(('127.0.0.1', 0), cpu_budget=0.01,
                               clock=clock, sleep=clock.sleep)
assert zc.monitor.client.query(listener.address, 'help').startswith(
    'Supported commands:')
listener.close()
print(sum(clock.slept))
"""

#: A plug-in whose import takes a while, and says when it has begun.
SLOW_MODULE = """
import os, time
os.write(int(os.environ['IMPORT_STARTED_FD']), b'.')
time.sleep(0.5)

def slow(connection):
    "A plug-in that took long to import."
"""

#: One thread loads the slow plug-in; the main thread forks as soon as the
#: import has begun. The child loads the plug-in too and exits 0 if it got
#: the whole module. (Forked mid-import, a child on 3.11 deadlocks on the
#: module's import lock, which the alarm ends; on 3.12+ it gets the
#: half-initialized module.)
FORK_DURING_IMPORT = """
import os, signal, threading, traceback
from zc.monitor import plugins
reader, writer = os.pipe()
os.environ['IMPORT_STARTED_FD'] = str(writer)
loader = threading.Thread(target=plugins.commands().get, args=('slow',))
loader.start()
os.read(reader, 1)
pid = os.fork()
if pid == 0:
    signal.alarm(10)
    try:
        plugins.commands().get('slow')
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)
loader.join()
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def run_python(script, path=()):
    env = python_env()
    env['PYTHONPATH'] = os.pathsep.join([*path, env['PYTHONPATH']])
    return subprocess.run([sys.executable, '-c', script], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


class LoadingTests(unittest.TestCase):

    def test_loading_the_plug_ins_is_not_charged_to_the_first_command(self):
        # Importing the plug-ins' modules costs tens of milliseconds of CPU
        # once per process; charged to a 1% budget, that alone paused the
        # monitor for seconds before the operator's first answer.
        done = run_python(FIRST_HELP)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(float(done.stdout), 0.0)

    def test_a_fork_waits_for_a_plug_in_import_in_progress(self):
        site = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, site)
        with open(os.path.join(site, 'zc_monitor_slow.py'), 'w') as f:
            f.write(SLOW_MODULE)
        info = os.path.join(site, 'zc_monitor_slow-1.0.dist-info')
        os.mkdir(info)
        with open(os.path.join(info, 'METADATA'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: zc-monitor-slow\n'
                    'Version: 1.0\n')
        with open(os.path.join(info, 'entry_points.txt'), 'w') as f:
            f.write('[zc.monitor]\nslow = zc_monitor_slow:slow\n')
        done = run_python(FORK_DURING_IMPORT, path=[site])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, '0\n', done.stderr)
