"""Find the Python interpreter a user names: a command (``python3.13``), a
version (``3.13``) or a path.

``make PYTHON=...`` and CI run this with the host's ``python3`` before any
environment exists, so it uses the standard library only::

    python3 -m zc.stack.pythons NAME [--record FILE]

prints ``EXECUTABLE VERSION`` (the real path of the interpreter, and its
``X.Y.Z``). With ``--record FILE`` it writes that line to FILE only when
FILE says something else, so that ``make`` rebuilds what the previous
Python built, and only then. A command that does not run (a pyenv shim of a
version pyenv has not selected) is looked for among pyenv's installed
versions (``$PYENV_ROOT``, default ``~/.pyenv``).
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys

PROBE = ('import os, sys; print(os.path.realpath(sys.executable),'
         ' "%d.%d.%d" % sys.version_info[:3])')
PROBE_TIMEOUT = 60


class NotFound(Exception):
    """No interpreter answers to the name; the message says what to do."""


def version_of(name):
    """The version a name asks for (``python3.13`` -> ``3.13``), or None
    when it names no version (``python3``, ``pypy``, a path)."""
    match = re.fullmatch(r'(?:python)?(3(?:\.\d+){1,2})',
                         os.path.basename(name))
    return match.group(1) if match else None


def pyenv_candidates(version, root=None):
    """pyenv's interpreters of ``version`` (``3.13`` matches 3.13.0 and
    3.13.1, not 3.130), newest first."""
    root = pathlib.Path(root or os.environ.get('PYENV_ROOT')
                        or pathlib.Path.home() / '.pyenv')
    found = []
    for directory in (root / 'versions').glob(f'{version}*'):
        numbers = directory.name.split('.')
        if (directory.name == version
                or directory.name.startswith(version + '.')) and all(
                    n.isdigit() for n in numbers):
            found.append((tuple(map(int, numbers)),
                          directory / 'bin' / 'python3'))
    return [path for _, path in sorted(found, reverse=True)]


def candidates(name, pyenv_root=None):
    """Commands to try, in order, for ``name``."""
    version = version_of(name)
    if os.sep in name:
        first = [name]
    elif re.fullmatch(r'3(\.\d+){1,2}', name):
        first = [f'python{name}']
    else:
        first = [name]
    pyenv = pyenv_candidates(version, pyenv_root) if version else []
    return first + [str(p) for p in pyenv]


def probe(command, timeout=PROBE_TIMEOUT):
    """``(executable, version)`` of a command that runs Python, or None."""
    if shutil.which(command) is None:
        return None
    try:
        done = subprocess.run([command, '-c', PROBE], capture_output=True,
                              text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = done.stdout.split()
    if done.returncode or len(words) != 2:
        return None
    return tuple(words)


def find(name, pyenv_root=None):
    """``(executable, version)`` of the interpreter ``name`` means."""
    wanted = version_of(name)
    for command in candidates(name, pyenv_root):
        found = probe(command)
        if found and (wanted is None or found[1] == wanted
                      or found[1].startswith(wanted + '.')):
            return found
    raise NotFound(
        f'no Python {name!r}: give a command on PATH (python3.13), a path'
        f' (/usr/bin/python3.13) or a version pyenv has installed (3.13)')


def record(path, line):
    """Write ``line`` to ``path`` unless it already says that."""
    path = pathlib.Path(path)
    if path.exists() and path.read_text() == line + '\n':
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(line + '\n')


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python3 -m zc.stack.pythons',
        description='Print the real path and version of the Python that'
                    ' NAME (a command, a version such as 3.13, or a path)'
                    ' means.')
    parser.add_argument('name', metavar='NAME')
    parser.add_argument('--record', metavar='FILE',
                        help='also write the line to FILE, unless FILE'
                             ' already holds it')
    options = parser.parse_args(argv)
    try:
        line = ' '.join(find(options.name))
    except NotFound as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    if options.record:
        record(options.record, line)
    print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
