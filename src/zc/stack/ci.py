"""CI: the whole suite on every supported Python, closed by one line
``N passed, N failed[, N skipped]`` summed over the runs.

    python3 -m zc.stack.ci [--scratch DIR] [PYTHON ...]   (default 3.11 3.13)

``.ci/run`` runs this with the host's ``python3`` (standard library only).
Each Python runs the README's test command, ``make test PYTHON=...``: the
first in the checkout itself, every other in a mirror of the checkout's
sources (``.ci/scratch/<python>/``) with its own ``.venv``, ``bin/`` and
eggs, so no run uses what was built for another Python. Mirrors are kept
between runs: set-up is slow only the first time. The exit status is 0 only
when every run passed. The failed tests are named again, each with the line
that says why, just before the counts: CI's log may be shown by its end.
"""
import argparse
import contextlib
import filecmp
import fnmatch
import io
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[3]
PYTHONS = ('3.11', '3.13')
SCRATCH = pathlib.Path('.ci', 'scratch')
#: One suite with its set-up; a hanging test must not hold CI forever.
RUN_TIMEOUT = 3600
#: Not passed on: each run is a make of its own, with its own Python path.
INHERITED = ('PYTHONPATH', 'MAKEFLAGS', 'MAKELEVEL', 'MFLAGS')
SUMMARY = re.compile(r'^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$')
#: How zope.testrunner opens the report of a failed test.
FAILED_TEST = re.compile(r'^(Failure|Error) in test (.+)$')
#: The line of such a report that says why: the exception raised (its
#: dotted name, alone or before ": ", unindented: the first such line after
#: a traceback's indented frames), or where a doctest's example failed.
REASON = re.compile(r'^([A-Za-z_][\w.]*(: |$)|File ".*", line \d+)')
#: Longest line of the failure digest: a CI log viewer may show only the
#: end of the output, where the digest is.
DIGEST_WIDTH = 300
#: Where a failure's report has surely ended (its layer's count, the
#: run's totals): a report without a reason line gets none from later on.
REPORT_END = re.compile(r'^(  Ran \d+ tests|Total: |\d+ passed, )')
#: Built or generated in a checkout: not mirrored, and kept in a mirror.
GENERATED = frozenset({
    '.git', '.ci/scratch', '.venv', '.venv-pip', '.python-built', 'bin',
    'develop-eggs', 'eggs', 'parts', '.installed.cfg', 'var'})
GENERATED_ANYWHERE = ('__pycache__', '*.egg-info', 'build', 'dist',
                      '.mypy_cache')


def generated(relative):
    """Whether a path (relative to the checkout) is built, not source."""
    return (relative.as_posix() in GENERATED or any(
        fnmatch.fnmatch(relative.name, p) for p in GENERATED_ANYWHERE))


def sources(root, exclude=None):
    """Relative paths of the checkout's source files (none under the
    directory ``exclude``)."""
    found = []
    for directory, dirs, files in os.walk(root):
        here = pathlib.Path(directory).relative_to(root)
        dirs[:] = sorted(d for d in dirs if not generated(here / d)
                         and root / here / d != exclude)
        found += [here / f for f in sorted(files)
                  if not generated(here / f)]
    return found


def mirror(source, target):
    """Make ``target``'s sources those of ``source``, keeping what was
    built in ``target``: files gone from ``source`` are removed, and only
    files whose content differs are copied, so they are newer than
    anything built from them and make rebuilds exactly that."""
    wanted = set(sources(source, exclude=target))
    for path in sources(target) if target.exists() else ():
        if path not in wanted:
            (target / path).unlink()
    for path in wanted:
        src, dst = source / path, target / path
        if dst.exists() and filecmp.cmp(src, dst, shallow=False):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        shutil.copymode(src, dst)


def parse(line):
    """``(passed, failed, skipped)`` from a closing line, or None."""
    match = SUMMARY.match(line.strip())
    return tuple(int(n or 0) for n in match.groups()) if match else None


def total(counts):
    passed, failed, skipped = map(sum, zip(*counts))
    line = f'{passed} passed, {failed} failed'
    return line + (f', {skipped} skipped' if skipped else '')


class FailureDigest:
    """The failed tests of a run, each with the line that says why, read
    from zope.testrunner's output as it goes by: repeated at the end of
    CI's output, where a viewer that shows only the end finds them."""

    def __init__(self):
        self.failures = []  # [test, reason or None]
        self._in_report = False  # the last failure's reason still to come

    def feed(self, line):
        line = line.rstrip('\n')
        match = FAILED_TEST.match(line)
        if match:
            self.failures.append([f'{match[1]}: {match[2]}', None])
            self._in_report = True
        elif self._in_report and REPORT_END.match(line):
            self._in_report = False
        elif self._in_report and REASON.match(line):
            self.failures[-1][1] = line
            self._in_report = False

    def lines(self, python):
        for test, reason in self.failures:
            yield _clip(f'== {python}: {test}')
            if reason:
                yield _clip(f'     {reason}')


def _clip(line):
    return line if len(line) <= DIGEST_WIDTH else (
        line[:DIGEST_WIDTH - 3] + '...')


def run_suite(directory, python, out, timeout=RUN_TIMEOUT, digest=None):
    """Run ``make test PYTHON=python`` in ``directory``, writing its
    output to ``out`` (and to ``digest``, a ``FailureDigest``, if given);
    return its status and counts (None when it printed no closing line).
    After ``timeout`` seconds it is killed, with every process it
    started."""
    env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    counts = None
    with subprocess.Popen(['make', 'test', f'PYTHON={python}'],
                          cwd=directory, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL,
                          start_new_session=True) as make:
        timer = threading.Timer(timeout, _kill_group, (make.pid,))
        timer.start()
        for line in make.stdout:
            out.write(line)
            out.flush()
            counts = parse(line) or counts
            if digest is not None:
                digest.feed(line)
        status = make.wait()
        expired = timer.finished.is_set()
        timer.cancel()
    if expired:
        print(f'error: make test PYTHON={python} took over {timeout}s and'
              ' was killed', file=out)
    return status, counts


def _kill_group(pid):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def run_all(root, pythons, scratch, parallel=True):
    """Run the suite for each Python; return ``(python, status, counts,
    digest)`` for each. The first run's output is shown as it comes; the
    others' (in parallel) when they are done."""
    runs = []
    for index, python in enumerate(pythons):
        directory = root
        if index:
            directory = scratch / re.sub(r'[^\w.-]', '_', python)
            mirror(root, directory)
        out = sys.stdout if index == 0 or not parallel else io.StringIO()
        runs.append((python, directory, out))
    results = {}

    def run(python, directory, out):
        print(f'== make test PYTHON={python} in {directory}', file=out,
              flush=True)
        digest = FailureDigest()
        results[python] = (*run_suite(directory, python, out,
                                      digest=digest), digest)

    threads = [threading.Thread(target=run, args=r) for r in runs]
    for thread in threads:
        thread.start()
        if not parallel:
            thread.join()
    for thread, (python, directory, out) in zip(threads, runs):
        thread.join()
        if out is not sys.stdout:
            sys.stdout.write(out.getvalue())
    return [(python, *results[python]) for python, _, _ in runs]


def main(argv=None, root=ROOT):
    parser = argparse.ArgumentParser(
        prog='.ci/run', description='Run the whole suite (make test) on'
        ' each Python and close with one summed "N passed, N failed" line.')
    parser.add_argument('pythons', nargs='*', metavar='PYTHON',
                        default=list(PYTHONS),
                        help='a version (3.13), a command or a path'
                             f' (default: {" ".join(PYTHONS)})')
    parser.add_argument('--scratch', type=pathlib.Path,
                        help='where the trees for the other Pythons live'
                             ' (default .ci/scratch)')
    parser.add_argument('--sequential', action='store_true',
                        help='one Python after the other (default: all at'
                             ' once; the suites mostly wait on servers)')
    options = parser.parse_args(argv)
    results = run_all(root, options.pythons,
                      options.scratch or root / SCRATCH,
                      parallel=not options.sequential)
    for python, status, counts, digest in results:
        for line in digest.lines(python):
            print(line)
    failed = False
    for python, status, counts, digest in results:
        print(f'== {python}: ' + (total([counts]) if counts else
                                  'no test summary: set-up failed or no'
                                  ' tests ran (see above)')
              + ('' if status == 0 else f' (exit status {status})'))
        failed = failed or status != 0 or counts is None
    counted = [c for _, _, c, _ in results if c]
    if len(counted) < len(results):
        print('error: not every Python ran the suite', file=sys.stderr)
        return 1
    print(total(counted))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
