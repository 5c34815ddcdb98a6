"""The Debian packages the stack runs as processes, installed when missing.

The tests and ``make cluster`` run real programs from Debian: ZooKeeper
(its jar and java), HAProxy and Chromium. ``make test`` runs this first::

    python -m zc.stack.debian [--apt-get COMMAND] [PACKAGE ...]

Each package is known by the files it installs; when one is missing, one
``apt-get update`` and one ``apt-get install -y`` of every missing package
follow (apt resolves them together, so it installs all or nothing). The
exit status is 0 when everything is there, else 1 with one line on stderr
saying what is missing and what to do.
"""
import argparse
import dataclasses
import logging
import os
import shutil
import subprocess
import sys

from zc.zk.testing.server import jar as zookeeper_jar

logger = logging.getLogger(__name__)

#: apt-get downloads from the network: long, but bounded.
APT_TIMEOUT = 1200


@dataclasses.dataclass(frozen=True)
class Package:
    """A Debian package and what proves it is installed: files it puts
    in place and commands it puts on ``PATH``."""
    name: str
    files: tuple = ()
    commands: tuple = ()

    def missing(self):
        """What of the proof is absent (empty when installed)."""
        return ([f for f in self.files if not os.path.exists(f)]
                + [c for c in self.commands if shutil.which(c) is None])


def packages():
    """Every package the stack needs, by name. ZooKeeper's jar is where
    ``zc.zk.testing.server`` looks for it (``$ZC_ZK_JAR`` moves it)."""
    return {p.name: p for p in (
        Package('zookeeper', files=(zookeeper_jar(),), commands=('java',)),
        Package('haproxy', files=('/usr/sbin/haproxy',)),
        Package('chromium', files=('/usr/bin/chromium',)),
    )}


class NotInstalled(Exception):
    """Packages are missing and could not be installed; the message is
    one line saying why and what to do."""


def ensure(wanted, apt_get='apt-get', euid=None, timeout=APT_TIMEOUT):
    """Install those of the ``wanted`` packages that are missing; raise
    NotInstalled when that is impossible or fails."""
    missing = [p for p in wanted if p.missing()]
    if not missing:
        return
    names = ' '.join(p.name for p in missing)
    absent = ', '.join(m for p in missing for m in p.missing())
    what = f'Debian package(s) {names} not installed ({absent} missing)'
    if (os.geteuid() if euid is None else euid) != 0:
        raise NotInstalled(
            f"{what}; installing needs root: run 'apt-get install {names}'"
            " as root (or 'make test' as root)")
    command = shutil.which(apt_get)
    if command is None:
        raise NotInstalled(f'{what} and there is no {apt_get} to install'
                           f' them: install {names} by other means')
    logger.info('%s: installing them with %s', what, command)
    for step in ([command, 'update'],
                 [command, 'install', '-y', *(p.name for p in missing)]):
        _run(step, timeout)
    still = [m for p in missing for m in p.missing()]
    if still:
        raise NotInstalled(f'{names} installed, but {", ".join(still)}'
                           ' still missing')


def _run(step, timeout):
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    shown = ' '.join(step)
    try:
        done = subprocess.run(step, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NotInstalled(f'{shown} took over {timeout}s and was stopped;'
                           " run 'dpkg --configure -a' as root, then retry")
    if done.returncode:
        last = (done.stderr.strip() or done.stdout.strip()
                or 'no output').splitlines()[-1]
        raise NotInstalled(f'{shown} failed ({done.returncode}): {last}')


def main(argv=None):
    known = packages()
    parser = argparse.ArgumentParser(
        prog='python -m zc.stack.debian',
        description='Install the Debian packages the stack runs, when they'
                    ' are missing (apt-get, as root).')
    parser.add_argument('names', nargs='*', metavar='PACKAGE',
                        help=f'packages to check (default: all of'
                             f' {", ".join(known)})')
    parser.add_argument('--apt-get', default='apt-get', metavar='COMMAND',
                        help='the apt-get command (default %(default)s)')
    options = parser.parse_args(argv)
    unknown = [n for n in options.names if n not in known]
    if unknown:
        parser.error(f'unknown package {unknown[0]!r}'
                     f' (known: {", ".join(known)})')
    logging.basicConfig(level=logging.INFO, format='%(message)s',
                        stream=sys.stdout)
    try:
        ensure([known[n] for n in options.names or known], options.apt_get)
    except NotInstalled as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
