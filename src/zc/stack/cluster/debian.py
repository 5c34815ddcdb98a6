"""The Debian packages the cluster runs: ZooKeeper (through zc.zk's
installer) and HAProxy, installed with apt-get when missing and allowed."""
import os
import shutil
import subprocess

from zc.zk.testing.install import ensure_installed
from zc.zk.testing.server import jar

from zc.stack.cluster import haproxy

APT_TIMEOUT = 600


def ensure_zookeeper(apt_get='apt-get'):
    """None when ZooKeeper is installed (or could be), else the reason."""
    return ensure_installed(jar(), apt_get)


def ensure_haproxy(apt_get='apt-get', euid=None):
    """None when HAProxy is installed (or could be), else the reason."""
    if haproxy.executable():
        return None
    missing = 'HAProxy is not installed'
    if (os.geteuid() if euid is None else euid) != 0:
        return (f"{missing} and installing it needs root: run 'apt-get"
                " install haproxy' as root")
    command = shutil.which(apt_get)
    if command is None:
        return f'{missing} and there is no {apt_get}: install HAProxy 2.4+'
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for step in ([command, 'update'], [command, 'install', '-y', 'haproxy']):
        try:
            done = subprocess.run(step, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True,
                                  timeout=APT_TIMEOUT)
        except subprocess.TimeoutExpired:
            return f'{" ".join(step)} took over {APT_TIMEOUT}s'
        if done.returncode:
            last = (done.stderr.strip() or done.stdout.strip()
                    or 'no output').splitlines()[-1]
            return (f'{missing} and {" ".join(step)} failed'
                    f' ({done.returncode}): {last}')
    return None if haproxy.executable() else (
        'haproxy was installed, but no haproxy program is to be found')
