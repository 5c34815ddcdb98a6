"""Telling from /proc that a program is idle: up, waiting for work."""
import os
import subprocess
import sys
import time
import unittest

from zdaemon._readiness import IdleWatch
from zdaemon.tests import support

#: How long a program that is not idle is watched, never found idle.
WATCH_BUSY = 0.3


class IdleWatchTests(unittest.TestCase):
    """Real programs; this test process plays the manager that forked
    them (its command line is not theirs)."""

    def spawn(self, *argv):
        process = subprocess.Popen(argv)
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        return IdleWatch(process.pid, os.getpid())

    def never_idle(self, watch):
        deadline = time.monotonic() + WATCH_BUSY
        while time.monotonic() < deadline:
            self.assertFalse(watch.idle())
            time.sleep(0.005)

    def test_a_sleeping_program_is_idle_once_quiet_long_enough(self):
        watch = self.spawn('sleep', '100')
        support.wait_for_value(watch.idle)
        # The first idle sample only starts the quiet period.
        fresh = IdleWatch(watch.pid, os.getpid(), quiet=60)
        self.assertFalse(fresh.idle())
        self.assertFalse(fresh.idle())

    def test_a_busy_program_is_not_idle(self):
        self.never_idle(self.spawn(sys.executable, '-c', 'while True: pass'))

    def test_a_program_waiting_for_a_command_it_runs_is_not_idle(self):
        # As a start-up script waits for each of its steps.
        self.never_idle(self.spawn('sh', '-c', 'sleep 100; exit 1'))

    def test_a_program_not_yet_exec_ed_is_not_idle(self):
        # Its command line is still the manager's: here, ours.
        watch = IdleWatch(os.getpid(), os.getpid(), quiet=0)
        self.assertFalse(watch.idle())
        self.assertFalse(watch.idle())

    def test_without_proc_there_is_no_evidence(self):
        watch = self.spawn('sleep', '100')
        blind = IdleWatch(watch.pid, os.getpid(), quiet=0,
                          proc='/nonexistent')
        support.wait_for_value(watch.idle)
        self.assertFalse(blind.idle())
        self.assertFalse(blind.idle())

    def test_a_program_that_is_gone_is_not_idle(self):
        process = subprocess.Popen(['true'])
        process.wait()
        watch = IdleWatch(process.pid, os.getpid(), quiet=0)
        self.assertFalse(watch.idle())
