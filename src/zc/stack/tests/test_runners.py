"""``bin/test`` (zc.recipe.testrunner, for interactive use) and ``make
test`` (zc.stack.runtests) must run the same tests."""
import unittest

from zc.stack.runtests import ROOT
from zc.stack.tests.test_pip_path import every_test, here, listed_tests, run


class BinTestTests(unittest.TestCase):

    def test_bin_test_collects_what_runtests_collects(self):
        bin_test = ROOT / 'bin' / 'test'
        if not bin_test.exists():
            self.skipTest('no buildout environment (bin/test) here')
        done = run(bin_test, '--list-tests', timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr)
        listed = sorted(line.strip() for line in done.stdout.splitlines()
                        if line.startswith(' ') and line.strip())
        self.assertEqual(listed, every_test(listed_tests(here)))
