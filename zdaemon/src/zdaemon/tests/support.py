"""Running zdaemon as users do, in subprocesses, and cleaning up after it.

Every test that starts a manager does it in a :class:`Sandbox`, which stops
(or kills) whatever managers and programs are left when the test ends.
"""
import contextlib
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap

from zope.testing.wait import wait

import zdaemon
from zdaemon import _control

#: Generous bounds: the machines running the suite are shared and busy.
COMMAND_TIMEOUT = 60
WAIT_TIMEOUT = 30


#: What ``stop`` prints, as the original does: a dot for each second it
#: waited (how many depends on the machine's load), a newline, then its
#: message.
STOPPED = re.compile(r'\A(?:\. )*\ndaemon process stopped\n\Z')

#: What ``start`` prints when the program started, likewise.
STARTED = re.compile(r'\A(?:\. )*\ndaemon process started, pid=(\d+)\n\Z')

#: What ``start`` prints when the manager is gone (it gave up), likewise.
MANAGER_GONE = re.compile(r'\A(?:\. )*\ndaemon manager not running\n\Z')

#: A configuration whose manager logs into ``manager.log`` (the transcript
#: holds the program's output only); options come from the command line.
LOGGED_CONF = '''
    <runner>
    </runner>
    <eventlog>
      <logfile>
        path manager.log
        format %(message)s
      </logfile>
    </eventlog>
'''


def python_env(**extra):
    """The environment for a Python subprocess that imports what we do."""
    env = dict(os.environ, **extra)
    env['PYTHONPATH'] = os.pathsep.join(p for p in sys.path if p)
    env.pop('DAEMON_MANAGER_MODE', None)
    return env


def zdaemon_command(*args):
    return [sys.executable, '-m', 'zdaemon', *args]


@contextlib.contextmanager
def running(command, cwd, **kw):
    """A subprocess (importing what we do), killed if it outlives the
    ``with`` block."""
    with subprocess.Popen(command, cwd=cwd, env=python_env(),
                          **kw) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def wait_for_value(condition, timeout=WAIT_TIMEOUT, message=None):
    """Wait like ``zope.testing.wait`` until ``condition()`` is true, and
    return that true value.

    A thin wrapper because ``zope.testing.wait`` returns None, and tests
    (and the README) go on with what they waited for: a status, a file's
    content.
    """
    value = None

    def holds():
        nonlocal value
        value = condition()
        return value
    wait(holds, timeout=timeout, message=str(message or condition))
    return value


def process_exists(pid):
    """Whether ``pid`` is a process that has not been reaped (zombies
    count: see :func:`is_zombie`): /proc still has its entry."""
    return proc_stat(pid) is not None


def proc_stat(pid):
    """``(state, ppid)`` of ``pid`` from /proc, or None if gone."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return fields[0], int(fields[1])


class Sandbox:
    """A temporary directory to run zdaemon in; see the module docstring.

    ``world_readable`` makes it usable by another user (the tests of
    ``-u`` as root).
    """

    def __init__(self, test=None, world_readable=False):
        self.path = tempfile.mkdtemp(prefix='zdaemon-', dir=Processes.base)
        if world_readable:
            os.chmod(self.path, 0o755)
        if test is not None:
            test.addCleanup(self.cleanup)

    def join(self, *names):
        return os.path.join(self.path, *names)

    def write(self, name, text, mode=None):
        path = self.join(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text).lstrip('\n'))
        if mode is not None:
            os.chmod(path, mode)
        return path

    def read(self, name):
        try:
            with open(self.join(name)) as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def script(self, name, text):
        """An executable Python script."""
        return self.write(name, f'#!{sys.executable}\n' +
                          textwrap.dedent(text).lstrip('\n'), mode=0o755)

    def run(self, *args, timeout=COMMAND_TIMEOUT, merge_output=False,
            env=None):
        """Run zdaemon with ``args`` (a string is split like a shell
        does) and wait for it; its output is captured (stderr with stdout
        if ``merge_output``)."""
        if len(args) == 1 and isinstance(args[0], str):
            args = shlex.split(args[0])
        return subprocess.run(
            zdaemon_command(*args), cwd=self.path,
            env=python_env(**(env or {})), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
            text=True, timeout=timeout)

    def status(self, sockname='zdsock'):
        """The manager's status (a dict), or None if none answers."""
        return zdaemon.manager_status(self.join(sockname))

    def wait_for_status(self, predicate, sockname='zdsock', what=None):
        """Wait until the manager's status satisfies ``predicate``;
        return it."""
        def check():
            status = self.status(sockname)
            return status if status is not None and predicate(status) else None
        return wait_for_value(check, message=what or predicate)

    def cleanup(self):
        """Stop the managers still answering here, kill the stubborn;
        return how many there were."""
        stopped = stop_managers(self.path)
        shutil.rmtree(self.path, ignore_errors=True)
        return stopped


def stop_managers(directory):
    """Stop every manager with a socket under ``directory`` (SIGKILL if it
    does not stop in time); return how many there were."""
    found = 0
    for sock in list(_sockets(directory)):
        status = zdaemon.manager_status(sock, timeout=5) or {}
        if 'manager' not in status:
            continue    # no manager there (a ZEO server's socket...)
        found += 1
        _control.send_command(sock, 'stop', timeout=5)
        try:
            wait(lambda: not process_exists(status['manager']), timeout=10)
        except wait.TimeOutWaitingFor:
            for pid in (status.get('application'), status['manager']):
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
    return found


def _sockets(directory):
    for parent, dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(parent, name)
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    yield path
            except FileNotFoundError:
                pass


class Processes:
    """Layer of the tests that run managers and programs (real processes,
    real sockets): their sandboxes live in one directory, checked at the
    end for managers a test left running.  Unit tests run without it."""

    base = None

    @classmethod
    def setUp(cls):
        cls.base = tempfile.mkdtemp(prefix='zdaemon-tests-')
        # Readable by others: the -u tests switch to another user as root.
        os.chmod(cls.base, 0o755)

    @classmethod
    def tearDown(cls):
        base, cls.base = cls.base, None
        leaked = stop_managers(base)
        shutil.rmtree(base, ignore_errors=True)
        if leaked:
            raise AssertionError(f'{leaked} zdaemon manager(s) were left'
                                 ' running by the tests')
