"""People who don't use buildout install each distribution with
``pip install -e``. This checks, in a venv of its own, that this path
collects the same tests as the environment running the suite, and that
they pass there too.

The venv (``.venv-pip`` at the repository root) is kept between runs,
refreshed when a ``setup.py`` changed and rebuilt when the suite runs on
another Python. Running every layer a second time would double the suite,
so the second environment runs the unit tests (those without layers) and
compares the complete test list. The unit tests run there in two processes
at once, zc.stack's and every other distribution's (about half the time
each): they mostly wait on their child processes and sockets.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from zc.stack.runtests import ROOT

VENV = ROOT / '.venv-pip'
PYTHON = VENV / 'bin' / 'python'
STAMP = VENV / 'zc-stack-installed'
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 600
#: zope.testrunner's layer of the tests that have none.
UNIT_TESTS = 'zope.testrunner.layer.UnitTests'


def distributions():
    """Directories of every distribution, the root (zc.stack) first."""
    return [ROOT] + sorted(p.parent for p in ROOT.glob('*/setup.py'))


def setup_files_digest():
    """Changes when a setup.py or the Python running the suite changes."""
    digest = hashlib.sha256(sys.executable.encode())
    for directory in distributions():
        digest.update((directory / 'setup.py').read_bytes())
    return digest.hexdigest()


def run(*args, timeout, path=None):
    """Run a command; ``path`` becomes its PYTHONPATH (else none)."""
    return Started(*args, timeout=timeout, path=path).result()


class Started:
    """A command started in the background; ``path`` becomes its
    PYTHONPATH (else none). Its output goes to temporary files, so
    several can run at once without a thread each to drain their pipes;
    ``result()`` waits for it and returns a ``CompletedProcess``."""

    def __init__(self, *args, timeout, path=None):
        env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
        if path is not None:
            env['PYTHONPATH'] = os.pathsep.join(path)
        self._output = [tempfile.TemporaryFile('w+'),
                        tempfile.TemporaryFile('w+')]
        self._process = subprocess.Popen(
            [str(a) for a in args], stdout=self._output[0],
            stderr=self._output[1], text=True, cwd=ROOT, env=env)
        self._deadline = time.monotonic() + timeout
        self._result = None

    def result(self):
        if self._result is None:
            try:
                self._process.wait(max(0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
                raise
            finally:
                out, err = (self._read(f) for f in self._output)
            self._result = subprocess.CompletedProcess(
                self._process.args, self._process.returncode, out, err)
        return self._result

    @staticmethod
    def _read(file):
        file.seek(0)
        with file:
            return file.read()


def here(*args):
    """Arguments and path to run Python as the environment running us."""
    return dict(args=(sys.executable, *args), path=sys.path)


def there(*args):
    return dict(args=(PYTHON, *args), path=None)


def ensure_pip_environment():
    """Create or refresh the pip venv; return an error text or None."""
    digest = setup_files_digest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return None
    if not same_python():
        shutil.rmtree(VENV, ignore_errors=True)
    steps = []
    if not PYTHON.exists():
        steps.append([sys.executable, '-m', 'venv', VENV])
    steps.append([PYTHON, '-m', 'pip', 'install', '-q', '-U',
                  'pip', 'setuptools', 'wheel'])
    install = [PYTHON, '-m', 'pip', 'install', '-q', '--no-build-isolation']
    for directory in distributions():
        install += ['-e', f'{directory}[test]']
    steps.append(install)
    for step in steps:
        done = run(*step, timeout=INSTALL_TIMEOUT)
        if done.returncode:
            return f'{" ".join(map(str, step))} failed:\n{done.stderr}'
    STAMP.write_text(digest)
    return None


def same_python():
    """Whether the venv was made from the Python running the suite."""
    done = run(PYTHON, '-c', 'import sys; print(sys.version)',
               timeout=RUN_TIMEOUT) if PYTHON.exists() else None
    return done is not None and done.stdout.strip() == sys.version


def listed_tests(environment):
    """The test ids zope.testrunner would run: ``{layer name: sorted
    ids}``."""
    return parse_listing(start_listing(environment).result())


def start_listing(environment):
    command = environment('-m', 'zc.stack.runtests', '--list-tests')
    return Started(*command['args'], path=command['path'],
                   timeout=RUN_TIMEOUT)


def parse_listing(done):
    assert done.returncode == 0, done.stdout + done.stderr
    layers, ids = {}, None
    for line in done.stdout.splitlines():
        if line.startswith('Listing ') and line.endswith(' tests:'):
            ids = layers.setdefault(line[len('Listing '):-len(' tests:')],
                                    [])
        elif line.startswith(' ') and line.strip():
            ids.append(line.strip())
    return {layer: sorted(ids) for layer, ids in layers.items()}


def every_test(layers):
    return sorted(test for ids in layers.values() for test in ids)


def unit_test_shares():
    """The package options of the two unit-test runs of the pip
    environment: zc.stack (the tests across distributions) and the rest."""
    others = [directory.name for directory in distributions()[1:]]
    return [['-s', 'zc.stack'], [o for name in others for o in ('-s', name)]]


class PipLayer:
    """Builds the pip environment once. What the tests compare (the unit
    tests run there, the tests both environments list) starts at once,
    when a test first asks: processes that mostly wait, so one after
    another they would take longer."""

    _comparisons = None

    @classmethod
    def setUp(cls):
        error = ensure_pip_environment()
        if error:
            raise RuntimeError(f'could not build {VENV}: {error}')

    @classmethod
    def comparisons(cls):
        """``Started`` commands: ``unit_runs`` (a list, see
        ``unit_test_shares``), and ``ours`` and ``theirs`` (the test listing
        of each environment)."""
        if cls._comparisons is None:
            cls._comparisons = dict(
                unit_runs=[Started(PYTHON, '-m', 'zc.stack.runtests', '-u',
                                   *share, timeout=RUN_TIMEOUT)
                           for share in unit_test_shares()],
                ours=start_listing(here), theirs=start_listing(there))
        return cls._comparisons

    @classmethod
    def tearDown(cls):
        for started in (cls._comparisons or {}).values():
            for each in started if isinstance(started, list) else [started]:
                each.result()
        cls._comparisons = None


class PipPathTests(unittest.TestCase):

    layer = PipLayer

    def result(self, name):
        return PipLayer.comparisons()[name].result()

    def listed(self, name):
        return parse_listing(self.result(name))

    def test_same_tests_are_collected(self):
        ours = every_test(self.listed('ours'))
        self.assertGreater(len(ours), 0)
        self.assertEqual(ours, every_test(self.listed('theirs')))

    def test_unit_tests_pass_in_pip_environment(self):
        expected = len(self.listed('ours')[UNIT_TESTS])
        passed = 0
        for share in PipLayer.comparisons()['unit_runs']:
            done = share.result()
            last = done.stdout.strip().splitlines()[-1]
            self.assertEqual(done.returncode, 0,
                             done.stdout[-5000:] + done.stderr)
            self.assertRegex(last, r'^\d+ passed, 0 failed')
            passed += int(re.match(r'\d+', last).group())
        # The shares together ran every unit test.
        self.assertEqual(passed, expected)

    def test_packages_import_from_their_checkouts(self):
        done = run(PYTHON, '-c',
                   'import zc.thread, zc.lockfile, zc.stack;'
                   'print(zc.thread.__file__)', timeout=RUN_TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(),
                         str(ROOT / 'zc.thread/src/zc/thread/__init__.py'))
