"""People who don't use buildout install each distribution with
``pip install -e``. This checks, in a venv of its own, that this path
collects the same tests as the environment running the suite, and that
they pass there too.

The venv (``.venv-pip`` at the repository root) is kept between runs,
refreshed when a ``setup.py`` changed and rebuilt when the suite runs on
another Python. Running every layer a second time would double the suite,
so the second environment runs the unit tests (those without layers) and
compares the complete test list.
"""
import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sys
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
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    if path is not None:
        env['PYTHONPATH'] = os.pathsep.join(path)
    return subprocess.run([str(a) for a in args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env)


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
    command = environment('-m', 'zc.stack.runtests', '--list-tests')
    done = run(*command['args'], path=command['path'], timeout=RUN_TIMEOUT)
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


class PipLayer:
    """Builds the pip environment once. What the tests compare (the unit
    tests run there, the tests both environments list) starts at once,
    when a test first asks: processes that mostly wait, so one after
    another they would take longer."""

    _pool = None

    @classmethod
    def setUp(cls):
        error = ensure_pip_environment()
        if error:
            raise RuntimeError(f'could not build {VENV}: {error}')

    @classmethod
    def comparisons(cls):
        """Futures: ``unit_run`` (its ``subprocess.run`` result), ``ours``
        and ``theirs`` (``listed_tests`` of each environment)."""
        if cls._pool is None:
            cls._pool = concurrent.futures.ThreadPoolExecutor(3)
            cls._comparisons = dict(
                unit_run=cls._pool.submit(
                    run, PYTHON, '-m', 'zc.stack.runtests', '-u',
                    timeout=RUN_TIMEOUT),
                ours=cls._pool.submit(listed_tests, here),
                theirs=cls._pool.submit(listed_tests, there))
        return cls._comparisons

    @classmethod
    def tearDown(cls):
        if cls._pool is not None:
            cls._pool.shutdown(wait=True)
            cls._pool = None


class PipPathTests(unittest.TestCase):

    layer = PipLayer

    def result(self, name):
        return PipLayer.comparisons()[name].result()

    def test_same_tests_are_collected(self):
        ours = every_test(self.result('ours'))
        self.assertGreater(len(ours), 0)
        self.assertEqual(ours, every_test(self.result('theirs')))

    def test_unit_tests_pass_in_pip_environment(self):
        expected = len(self.result('ours')[UNIT_TESTS])
        done = self.result('unit_run')
        last = done.stdout.strip().splitlines()[-1]
        self.assertEqual(done.returncode, 0, done.stdout[-5000:] + done.stderr)
        self.assertRegex(last, r'^\d+ passed, 0 failed')
        self.assertEqual(int(re.match(r'\d+', last).group()), expected)

    def test_packages_import_from_their_checkouts(self):
        done = run(PYTHON, '-c',
                   'import zc.thread, zc.lockfile, zc.stack;'
                   'print(zc.thread.__file__)', timeout=RUN_TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(),
                         str(ROOT / 'zc.thread/src/zc/thread/__init__.py'))
