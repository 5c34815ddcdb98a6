"""Evidence, read from /proc, that a program has finished starting up.

``zdaemon start`` reports a program as started once it has run for its
start window (1 s by default), so that one that dies while it starts up is
reported as failing.  Most programs are up long before: a program that is
up waits for work (a connection, a request, a timer), while one that is
still starting uses the CPU, waits for a command it runs, or dies.  So
the window ends early once the program is *idle*: it has replaced the
manager's forked copy (exec), every thread of it sleeps, it has no child
process, and its CPU time has not moved for ``QUIET`` seconds.

A program that sleeps and then dies within its window is reported as
started (as zdaemon 5 reported every program after its first second); a
``start-test-program`` is exact.  Without /proc (or where it cannot be
read) there is no evidence, and the window runs its course.
"""
import os
import time

#: Seconds a program must have been idle to count as started.
QUIET = 0.02


class IdleWatch:
    """Samples program ``pid`` (forked by manager ``manager_pid``) each
    time ``idle()`` is called."""

    def __init__(self, pid, manager_pid, quiet=QUIET, clock=time.monotonic,
                 proc='/proc'):
        self.pid = pid
        self.quiet = quiet
        self.clock = clock
        self._proc = proc
        try:
            self._manager_cmdline = _read(f'{proc}/{manager_pid}/cmdline')
        except OSError:
            self._manager_cmdline = None    # so exec cannot be told
        self._cpu = None        # the CPU time of the last idle sample
        self._since = None      # clock() of the first sample with it

    def idle(self):
        """Whether the program has been idle for ``quiet`` seconds, as far
        as the samples taken so far show."""
        cpu = self._idle_cpu()
        now = self.clock()
        if cpu is None or cpu != self._cpu:
            self._cpu = cpu
            self._since = None if cpu is None else now
            return False
        return now - self._since >= self.quiet

    def _idle_cpu(self):
        """The program's CPU time in ns if it is idle now, else None."""
        task_dir = f'{self._proc}/{self.pid}/task'
        try:
            cmdline = _read(f'{self._proc}/{self.pid}/cmdline')
            if self._manager_cmdline in (None, cmdline) or not cmdline:
                return None     # not exec'd yet (or gone)
            cpu = 0
            for tid in os.listdir(task_dir):
                task = f'{task_dir}/{tid}'
                stat = _read(f'{task}/stat')
                state = stat[stat.rindex(b')') + 2:stat.rindex(b')') + 3]
                if state != b'S' or _read(f'{task}/children').strip():
                    return None     # running, in I/O, stopped or dead;
                    # or waiting for a command it runs
                cpu += int(_read(f'{task}/schedstat').split()[0])
            return cpu
        except (OSError, ValueError, IndexError):
            return None


def _read(path):
    with open(path, 'rb') as f:
        return f.read()
