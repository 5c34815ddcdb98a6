"""The manager's supervision of its program on a fake clock: back-off
delays and the SIGKILL of a stop are timers, so these tests wait for real
processes to exit, never for seconds to pass."""
import os
import signal
import sys
import unittest

from zope.testing.wait import wait

from zdaemon import zdrun
from zdaemon.tests.testzdoptions import Workspace

TIMEOUT = 30


class FakeClock:
    """A ``time.monotonic`` that moves only when told."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def supervisor(args, clock):
    options = zdrun.ZDRunOptions()
    options.realize(args, progname='zdrun')
    return zdrun.Supervisor(options, clock=clock)


def poll_until(supervisor, condition, message):
    """Poll (real processes exit in real time) until ``condition()``."""
    def check():
        supervisor.poll()
        return condition()
    wait(check, timeout=TIMEOUT, message=message)


class BackoffTests(unittest.TestCase):

    def test_quick_deaths_are_restarted_later_then_given_up(self):
        clock = FakeClock()
        sup = supervisor(['-b', '3', 'false'], clock)
        self.assertTrue(sup.start())
        pids = [sup.proc.pid]
        for delay in (1, 2):
            poll_until(sup, lambda: sup.respawn_at is not None,
                       'the program exited')
            # Restarted after a delay on the clock, not before.
            self.assertEqual(sup.respawn_at, clock.now + delay)
            self.assertEqual(sup.next_due(), clock.now + delay)
            clock.advance(delay - 0.001)
            sup.poll()
            self.assertEqual(sup.proc.pid, 0)
            clock.advance(0.001)
            sup.poll()
            self.assertNotIn(sup.proc.pid, [0] + pids)
            pids.append(sup.proc.pid)
        # The third quick death reaches the limit: the manager gives up.
        with self.assertLogs('zdaemon.zdrun') as logs:
            poll_until(sup, lambda: sup.exit_status is not None,
                       'the manager to give up')
        self.assertEqual(sup.exit_status, 1)
        self.assertTrue(logs.output[-1].endswith(
            'exit status 1; restarting too frequently; quit'), logs.output)
        self.assertEqual(len(pids), 3)

    def test_long_lived_program_is_restarted_at_once(self):
        clock = FakeClock()
        sup = supervisor(['-b', '3', 'sleep', '100'], clock)
        sup.start()
        self.addCleanup(_end, sup)
        first = sup.proc.pid
        clock.advance(3)        # it lived as long as the limit
        os.kill(first, signal.SIGKILL)
        poll_until(sup, lambda: sup.proc.pid != first, 'a restart')
        self.assertTrue(sup.proc.pid)
        self.assertIsNone(sup.respawn_at)
        self.assertEqual(sup.backoff.backoff, 0)


class StopTests(unittest.TestCase):

    def test_sigkill_after_the_stop_timeout(self):
        work = Workspace(self)
        ready = os.path.join(work.path, 'ready')
        clock = FakeClock()
        sup = supervisor(
            ['--stop-timeout', '5', sys.executable, '-c',
             'import signal, sys, time;'
             ' signal.signal(signal.SIGTERM, signal.SIG_IGN);'
             ' open(sys.argv[1], "w").close(); time.sleep(100)', ready],
            clock)
        sup.start()
        pid = sup.proc.pid
        self.addCleanup(_end, sup)
        wait(lambda: os.path.exists(ready), timeout=TIMEOUT)
        self.assertTrue(sup.stop())
        self.assertEqual(sup.next_due(), clock.now + 5)
        clock.advance(4.9)
        sup.poll()
        self.assertEqual(sup.proc.pid, pid)     # SIGTERM is ignored
        clock.advance(0.1)
        with self.assertLogs('zdaemon.zdrun') as logs:
            poll_until(sup, lambda: sup.exit_status is not None,
                       'the program killed and the manager done')
        self.assertEqual(logs.output, [
            f'WARNING:zdaemon.zdrun:process {pid} did not stop within 5 s;'
            ' sending SIGKILL',
            f'INFO:zdaemon.zdrun:process {pid} terminated by SIGKILL'])
        self.assertEqual(sup.proc.pid, 0)
        self.assertEqual(sup.exit_status, 0)
        self.assertFalse(sup.stop())    # nothing left to stop


def _end(sup):
    """Kill and reap what a failed test left running."""
    pid = sup.proc.pid
    if pid:
        sup.proc.kill(signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
