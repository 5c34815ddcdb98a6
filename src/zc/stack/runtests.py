"""Run every package's tests with zope.testrunner and close with a plain
``N passed, N failed[, N skipped]`` line.

zope.testrunner prints its ``Total:`` line only when more than one layer
ran, and exits 0 when it found no tests at all; CI needs a line it can read
and a failure when nothing ran. Used by ``make test`` in both the buildout
and the pip environment, as the ``zc-stack-test`` script: zope.testrunner
re-runs its own script for layers that need a fresh process, and a console
script (unlike ``python -m``) sets up the same ``sys.path`` again.
"""
import importlib.util
import pathlib
import sys

from zope.testrunner.options import get_options
from zope.testrunner.runner import Runner

#: The repository root: this file is src/zc/stack/runtests.py under it.
ROOT = pathlib.Path(__file__).resolve().parents[3]


def source_dirs(root=ROOT):
    """The ``src`` directory of every distribution in the repository."""
    dirs = sorted(root.glob('*/src')) + [root / 'src']
    return [d for d in dirs if d.is_dir()]


def summary(runner):
    """The closing line, from zope.testrunner's own counts."""
    failed = (len(runner.failures) + len(runner.errors)
              + len(runner.import_errors or ()))
    skipped = len(runner.skipped)
    passed = runner.ran - len(runner.failures) - len(runner.errors) - skipped
    line = f'{passed} passed, {failed} failed'
    if skipped:
        line += f', {skipped} skipped'
    return line


def importable(name):
    """Whether a dotted name is a module Python can import."""
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def unknown_packages(args):
    """The packages ``-s``/``--package`` names that do not exist
    (zope.testrunner would stop with a traceback on the first)."""
    options = get_options([sys.argv[0]] + args)
    return [p for p in options.package or () if not importable(p)]


def main(args=None):
    args = sys.argv[1:] if args is None else list(args)
    # zope.testrunner re-runs this script in a subprocess for layers that
    # cannot be torn down; that run reports its counts to the parent, which
    # prints the summary.
    resumed = args[:1] == ['--resume-layer']
    if not any(a.startswith('--test-path') for a in args):
        for d in source_dirs():
            args += ['--test-path', str(d)]
    unknown = [] if resumed else unknown_packages(args)
    if unknown:
        print(f'error: no package {unknown[0]!r} to test (-s takes a dotted'
              ' package name, e.g. -s zc.zk)', file=sys.stderr)
        return 2
    runner = Runner(args=[sys.argv[0]] + args)
    runner.run()
    if resumed:
        return int(runner.failed)
    if runner.options.list_tests:
        return 0
    print(summary(runner))
    if runner.ran == 0:
        print('error: no tests ran', file=sys.stderr)
        return 2
    return 1 if runner.failed else 0

if __name__ == '__main__':
    sys.exit(main())
