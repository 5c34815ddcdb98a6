"""zc.stack.ci: the suite on several Pythons, each in a tree of its own,
closed by one summed line. Driven here with real ``make`` on throw-away
checkouts whose ``make test`` prints a canned closing line."""
import contextlib
import io
import os
import pathlib
import shutil
import tempfile
import textwrap
import unittest
import unittest.mock

from zc.stack import ci

#: A checkout whose `make test PYTHON=...` reports per Python, and records
#: where it ran.
MAKEFILE = textwrap.dedent('''\
    test:
    \t@pwd > ran-$(PYTHON)
    \t@echo "set-up for $(PYTHON)"
    \t@case "$(PYTHON)" in \\
    \t  good) echo "3 passed, 0 failed";; \\
    \t  bad) echo "Failure in test test_x (pkg.tests.T.test_x)"; \\
    \t       echo "Traceback (most recent call last):"; \\
    \t       echo '  File "t.py", line 3, in test_x'; \\
    \t       echo "AssertionError: 1 != 2"; echo; \\
    \t       echo "Error in test /pkg/README.rst"; \\
    \t       echo "Failed doctest test for README.rst"; \\
    \t       echo '  File "/pkg/README.rst", line 1, in README.rst'; \\
    \t       echo; echo 'File "/pkg/README.rst", line 9, in README.rst'; \\
    \t       echo "Failure in test test_y (pkg.tests.T.test_y)"; \\
    \t       echo "Traceback (most recent call last):"; \\
    \t       echo "Stdout:"; echo "Expected:"; \\
    \t       echo "zope.testing.wait.TimeOutWaitingFor: ready"; \\
    \t       echo "Failure in test test_$(LONG)"; \\
    \t       echo "2 passed, 1 failed, 4 skipped"; exit 1;; \\
    \t  slow) sleep 30;; \\
    \t  *) echo "no tests"; exit 2;; \\
    \tesac
    ''')


class CITests(unittest.TestCase):

    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix='zc-stack-ci-'))
        self.addCleanup(shutil.rmtree, self.tmp)
        self.root = self.tmp / 'checkout'
        self.write('Makefile', MAKEFILE)

    def write(self, path, text='x', root=None):
        path = (root or self.root) / path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def main(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = ci.main(list(args), root=self.root)
        return status, out.getvalue().splitlines(), err.getvalue()

    def test_parse_and_total(self):
        self.assertEqual(ci.parse('12 passed, 1 failed\n'), (12, 1, 0))
        self.assertEqual(ci.parse('2 passed, 0 failed, 3 skipped'),
                         (2, 0, 3))
        self.assertIsNone(ci.parse('Total: 2 tests, 0 failures'))
        self.assertEqual(ci.total([(12, 1, 0), (2, 0, 3)]),
                         '14 passed, 1 failed, 3 skipped')
        self.assertEqual(ci.total([(1, 0, 0), (2, 0, 0)]),
                         '3 passed, 0 failed')

    def test_mirror_copies_sources_and_keeps_what_was_built(self):
        self.write('setup.py')
        self.write('pkg/src/zc/pkg/code.py', 'old')
        self.write('pkg/src/zc/pkg/gone.py')
        for built in ('.venv/bin/python', 'bin/test', 'eggs/x.egg',
                      'pkg/src/zc.pkg.egg-info/PKG-INFO',
                      'pkg/src/zc/pkg/__pycache__/code.pyc', '.git/HEAD',
                      '.ci/scratch/3.13/setup.py'):
            self.write(built)
        target = self.tmp / 'mirror'
        ci.mirror(self.root, target)
        self.assertEqual(sorted(map(str, ci.sources(target))), [
            'Makefile', 'pkg/src/zc/pkg/code.py', 'pkg/src/zc/pkg/gone.py',
            'setup.py'])
        self.assertFalse((target / 'bin').exists())
        self.assertFalse((target / '.ci').exists())

        # The mirror builds its own; the checkout changes.
        self.write('bin/test', 'its own', root=target)
        self.write('pkg/src/zc.pkg.egg-info/PKG-INFO', 'its own',
                   root=target)
        unchanged = (target / 'setup.py').stat().st_mtime_ns
        os.utime(target / 'pkg/src/zc/pkg/code.py', (1, 1))
        self.write('pkg/src/zc/pkg/code.py', 'new')
        (self.root / 'pkg/src/zc/pkg/gone.py').unlink()
        ci.mirror(self.root, target)
        self.assertEqual((target / 'pkg/src/zc/pkg/code.py').read_text(),
                         'new')
        # Copied now: newer than what the mirror built from the old one.
        self.assertGreater((target / 'pkg/src/zc/pkg/code.py').stat().st_mtime,
                           1)
        self.assertFalse((target / 'pkg/src/zc/pkg/gone.py').exists())
        self.assertEqual((target / 'bin/test').read_text(), 'its own')
        self.assertEqual(
            (target / 'pkg/src/zc.pkg.egg-info/PKG-INFO').read_text(),
            'its own')
        self.assertEqual((target / 'setup.py').stat().st_mtime_ns,
                         unchanged)

    def test_mirror_inside_the_checkout_does_not_copy_itself(self):
        self.write('setup.py')
        target = self.root / 'elsewhere'
        ci.mirror(self.root, target)
        ci.mirror(self.root, target)
        self.assertEqual(sorted(map(str, ci.sources(target))),
                         ['Makefile', 'setup.py'])

    def test_runs_are_summed(self):
        for args in ([], ['--sequential']):
            status, lines, err = self.main('good', 'bad', *args)
            self.assertEqual(status, 1)
            self.assertEqual(lines[-3:], [
                '== good: 3 passed, 0 failed',
                '== bad: 2 passed, 1 failed, 4 skipped (exit status 2)',
                '5 passed, 1 failed, 4 skipped'])
            self.assertIn('set-up for bad', lines)

    def test_failed_tests_are_repeated_before_the_totals(self):
        # A viewer of CI's output that shows only its end still says
        # which tests failed, and why, in lines of a bounded width.
        with unittest.mock.patch.dict(os.environ, LONG='y' * 400):
            status, lines, err = self.main('bad', 'good')
        long = '== bad: Failure: test_' + 'y' * 400
        self.assertEqual(lines[-10:-2], [
            '== bad: Failure: test_x (pkg.tests.T.test_x)',
            '     AssertionError: 1 != 2',
            '== bad: Error: /pkg/README.rst',
            '     File "/pkg/README.rst", line 9, in README.rst',
            '== bad: Failure: test_y (pkg.tests.T.test_y)',
            '     zope.testing.wait.TimeOutWaitingFor: ready',
            long[:ci.DIGEST_WIDTH - 3] + '...',
            '== bad: 2 passed, 1 failed, 4 skipped (exit status 2)'])

    def test_first_python_in_the_checkout_others_in_mirrors(self):
        status, lines, err = self.main('good', 'good2')
        self.assertEqual((self.root / 'ran-good').read_text().strip(),
                         str(self.root))
        mirror = self.root / '.ci' / 'scratch' / 'good2'
        self.assertEqual((mirror / 'ran-good2').read_text().strip(),
                         str(mirror))

    def test_all_passing(self):
        scratch = self.tmp / 'scratch'
        status, lines, err = self.main('good', 'good', '--scratch',
                                       str(scratch))
        self.assertEqual((status, lines[-1]), (0, '6 passed, 0 failed'))
        self.assertTrue((scratch / 'good' / 'ran-good').exists())

    def test_a_run_without_summary_fails_ci(self):
        status, lines, err = self.main('good', 'broken')
        self.assertEqual(status, 1)
        self.assertIn('== broken: no test summary: set-up failed or no'
                      ' tests ran (see above) (exit status 2)', lines)
        self.assertEqual(err, 'error: not every Python ran the suite\n')

    def test_a_hanging_run_is_killed(self):
        out = io.StringIO()
        status, counts = ci.run_suite(self.root, 'slow', out, timeout=0.5)
        self.assertNotEqual(status, 0)
        self.assertIsNone(counts)
        self.assertEqual(out.getvalue().splitlines()[-1],
                         'error: make test PYTHON=slow took over 0.5s and'
                         ' was killed')

    def test_runs_do_not_inherit_our_python_path_or_make(self):
        self.write('Makefile', 'test:\n\t@echo "[$$PYTHONPATH]'
                   ' [$$MAKELEVEL]"\n')
        out = io.StringIO()
        with unittest.mock.patch.dict(os.environ, PYTHONPATH='src',
                                      MAKELEVEL='1', MAKEFLAGS='w'):
            ci.run_suite(self.root, 'x', out)
        # make gives its own recipes level 1 (2 had it inherited ours), and
        # a sub-make would say "Entering directory".
        self.assertEqual(out.getvalue(), '[] [1]\n')
