"""Throw-away virtual environments holding the original distributions.

Benchmarks and interoperability tests compare against, or talk to, the
originals (zdaemon 5.2.1, zc.zrs 3.1.0, zope.testbrowser 8.1...). Those are
installed by pip into a venv of their own under ``var/peers/<name>`` and
driven as external processes only: never imported into our code, never on
our ``sys.path``.

A venv is built once and reused while its requirements stay the same, so a
test layer or a benchmark can call :func:`peer_python` on every run.
"""
import fcntl
import os
import subprocess
import sys

from zc.stack.runtests import ROOT

PEERS = ROOT / 'var' / 'peers'
INSTALL_TIMEOUT = 900


class PeerError(Exception):
    """A peer environment could not be built."""


def peer_python(name, requirements, *, pre_install=('pip',)):
    """Return the interpreter of venv ``var/peers/<name>`` holding
    ``requirements`` (pip requirement strings), building it if needed.

    ``pre_install`` is installed (upgraded) first, on its own, for peers
    whose install needs an older or newer build tool
    (e.g. ``('pip', 'setuptools<81')``).
    """
    venv = PEERS / name
    python = venv / 'bin' / 'python'
    stamp = venv / 'zc-stack-requirements'
    wanted = '\n'.join([*pre_install, '--', *requirements])
    PEERS.mkdir(parents=True, exist_ok=True)
    with open(PEERS / f'{name}.lock', 'w') as lock:
        # Concurrent test processes build a given peer once.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == wanted:
            return python
        pip = [str(python), '-m', 'pip', 'install', '-q']
        steps = [[sys.executable, '-m', 'venv', '--clear', str(venv)]]
        if pre_install:
            steps.append([*pip, '-U', *pre_install])
        steps.append([*pip, *requirements])
        env = {k: v for k, v in os.environ.items()
               if k not in ('PYTHONPATH', 'PYTHONHOME')}
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True,
                                  env=env, timeout=INSTALL_TIMEOUT)
            if done.returncode:
                raise PeerError(
                    f'building peer {name!r}: {" ".join(step)} failed:\n'
                    f'{done.stderr.strip()}')
        stamp.write_text(wanted)
    return python

