"""Install Debian's ``zookeeper`` package when it is missing, for the
tests that run a real ZooKeeper (``make test`` runs this first).

    python -m zc.zk.testing.install [--jar PATH] [--apt-get COMMAND]

Exits 0 when ZooKeeper is there (or was installed), else 1 with a line
saying what to do.
"""
import argparse
import os
import shutil
import subprocess
import sys

from zc.zk.testing.server import jar as default_jar

PACKAGE = 'zookeeper'
APT_TIMEOUT = 600


def ensure_installed(jar, apt_get='apt-get', euid=None, out=sys.stdout):
    """Return None when ZooKeeper's ``jar`` and java are there or could be
    installed with ``apt_get``, else the reason they could not."""
    if os.path.exists(jar) and shutil.which('java'):
        return None
    missing = f'ZooKeeper is not installed ({jar} or java is missing)'
    if (os.geteuid() if euid is None else euid) != 0:
        return (f"{missing} and installing it needs root: run 'apt-get"
                f" install {PACKAGE}' as root (or 'make test' as root)")
    command = shutil.which(apt_get)
    if command is None:
        return (f'{missing} and there is no {apt_get} to install it:'
                ' install Apache ZooKeeper 3.8 and set ZC_ZK_JAR to its jar')
    print(f'{missing}: installing the Debian package {PACKAGE!r}...',
          file=out, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    # The same command as verified on a fresh Debian 12 machine (45
    # packages, recommends included).
    for step in ([command, 'update'], [command, 'install', '-y', PACKAGE]):
        try:
            done = subprocess.run(step, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True,
                                  timeout=APT_TIMEOUT)
        except subprocess.TimeoutExpired:
            return f'{" ".join(step)} took over {APT_TIMEOUT}s'
        if done.returncode:
            last = (done.stderr.strip() or done.stdout.strip()
                    or 'no output').splitlines()[-1]
            return f'{" ".join(step)} failed ({done.returncode}): {last}'
    if not os.path.exists(jar):
        return f'{PACKAGE} was installed, but {jar} is still missing'
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m zc.zk.testing.install',
        description="Install Debian's zookeeper package if it is missing.")
    parser.add_argument('--jar', default=default_jar(),
                        help='the ZooKeeper jar to look for'
                             ' (default: %(default)s, or $ZC_ZK_JAR)')
    parser.add_argument('--apt-get', default='apt-get',
                        help='the apt-get command (default %(default)s)')
    options = parser.parse_args(argv)
    problem = ensure_installed(options.jar, options.apt_get)
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
