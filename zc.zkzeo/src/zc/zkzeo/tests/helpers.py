"""What zc.zkzeo's tests share: running ``zkrunzeo`` as its users do (a
child process importing what the tests import), reading registrations,
and a ZooKeeper server the tests may stop and start."""
import logging
import os
import signal
import subprocess
import sys
import tempfile
import textwrap

from zope.testing.wait import wait

import transaction

import zc.zk
from zc.zk.testing import RestartableZooKeeperLayer

#: Generous bounds: the machines running the suite are shared and busy.
TIMEOUT = 60


def directory(test):
    """A temporary directory, removed after ``test``."""
    made = tempfile.TemporaryDirectory(prefix='zc.zkzeo-test-')
    test.addCleanup(made.cleanup)
    return made.name


def doctest_setUp(test, prefix):
    """A doctest's set-up: it runs in a temporary directory of its own,
    without kazoo's reconnection noise; ``doctest_tearDown`` undoes it."""
    test._directory = tempfile.TemporaryDirectory(prefix=prefix)
    test._cwd = os.getcwd()
    os.chdir(test._directory.name)
    logging.getLogger('kazoo').setLevel(logging.CRITICAL)


def doctest_tearDown(test):
    logging.getLogger('kazoo').setLevel(logging.NOTSET)
    os.chdir(test._cwd)
    test._directory.cleanup()


def session(test, connection_string):
    """A ZooKeeper session, closed after ``test``."""
    zk = zc.zk.ZooKeeper(connection_string)
    test.addCleanup(zk.close)
    return zk


def python_env(**extra):
    """The environment for a Python child that imports what we do."""
    env = dict(os.environ, **extra)
    env['PYTHONPATH'] = os.pathsep.join(p for p in sys.path if p)
    return env


def script(path, code):
    """An executable script running ``code`` with our ``sys.path`` (for
    zdaemon, which runs programs by name)."""
    with open(path, 'w') as f:
        f.write(f'#!{sys.executable}\nimport sys\n'
                f'sys.path[:0] = {sys.path!r}\n' + textwrap.dedent(code))
    os.chmod(path, 0o755)
    return path


def zkrunzeo_script(directory):
    return script(os.path.join(directory, 'zkrunzeo'), '''
        import zc.zkzeo.runzeo
        zc.zkzeo.runzeo.main()
    ''')


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    return path


class ZKRunZEO:
    """``zkrunzeo -C config`` in a child process."""

    def __init__(self, config, cwd=None):
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'zc.zkzeo.runzeo', '-C', config],
            cwd=cwd, env=python_env(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.output = None

    @property
    def pid(self):
        return self.process.pid

    def stop(self, sig=signal.SIGTERM):
        """Stop it; return its exit status (its output is ``output``)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.output, _ = self.process.communicate(timeout=TIMEOUT)
        return self.process.returncode

    def wait(self):
        """Wait for it to exit by itself; return its exit status."""
        self.output, _ = self.process.communicate(timeout=TIMEOUT)
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=TIMEOUT)


def commit(db, value):
    """Commit ``value`` as the root's ``value``, retrying while the client
    reconnects (a transaction under way when its server went away fails
    with ClientDisconnected)."""
    for attempt in transaction.manager.attempts(50):
        with attempt:
            with db.transaction() as connection:
                connection.root.value = value


def registered(zk, path):
    """``{host:port: properties}`` registered at ``path`` (nothing if the
    path is missing)."""
    try:
        names = zk.get_children(path)
    except Exception:
        return {}
    found = {}
    for name in names:
        try:
            found[name] = zc.zk.decode(zk.get(f'{path}/{name}')[0])
        except Exception:
            continue    # gone meanwhile
    return found


def wait_registered(zk, path, count=1, exclude=()):
    """Wait until ``count`` servers not in ``exclude`` are registered at
    ``path``; return ``{address: properties}`` of those."""
    def found():
        return {a: p for a, p in registered(zk, path).items()
                if a not in exclude}
    wait(lambda: len(found()) == count, timeout=TIMEOUT,
         message=lambda: f'{count} registrations at {path}: {found()}')
    return found()


RESTARTABLE = RestartableZooKeeperLayer('RESTARTABLE', __name__)
