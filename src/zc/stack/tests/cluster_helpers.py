"""Running ``zc-stack`` in tests, and checking that nothing is left."""
import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import zc.zk
from kazoo.exceptions import NoNodeError

from zc.stack.cluster import cli
from zc.zk.testing import free_port


def zc_stack(*args):
    """Run ``zc-stack ARGS`` in this process: ``(exit status, stdout,
    stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in args], out=out)
    return status, out.getvalue(), err.getvalue()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def listening(address):
    host, port = address.rsplit(':', 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


def node_exists(connection, path):
    with zc.zk.ZooKeeper(connection) as zk:
        try:
            return zk.client.exists(path) is not None
        except NoNodeError:
            return False


class Base:
    """A temporary base directory for a cluster, on a free front port."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix='zcs-')
        self.front_port = free_port()

    def __call__(self, *args):
        return zc_stack('--base', self.directory, *args)

    def status(self):
        status, out, err = self('status', '--json')
        assert status == 0, err
        return json.loads(out)

    def remove(self):
        shutil.rmtree(self.directory, ignore_errors=True)


def stop_service(base, name):
    """Stop service ``name`` of the cluster in ``base`` (and its zdaemon
    manager) as an operator would: ``zdaemon -C ... stop``."""
    done = subprocess.run(
        [sys.executable, '-m', 'zdaemon', '-C',
         os.path.join(base, name, 'zdaemon.conf'), 'stop'],
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
