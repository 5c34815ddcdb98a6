"""``bin/test`` (zc.recipe.testrunner, for interactive use) and ``make
test`` (zc.stack.runtests) must run the same tests."""
import unittest

from zc.stack.runtests import ROOT
from zc.stack.tests.test_pip_path import (Started, every_test, here,
                                          parse_listing, start_listing)


class BinTestTests(unittest.TestCase):

    def test_bin_test_collects_what_runtests_collects(self):
        bin_test = ROOT / 'bin' / 'test'
        if not bin_test.exists():
            self.skipTest('no buildout environment (bin/test) here')
        # Both listings at once: each mostly imports every test module.
        theirs = Started(bin_test, '--list-tests', timeout=600)
        ours = start_listing(here)
        self.addCleanup(ours.result)
        done = theirs.result()
        self.assertEqual(done.returncode, 0, done.stderr)
        listed = sorted(line.strip() for line in done.stdout.splitlines()
                        if line.startswith(' ') and line.strip())
        self.assertEqual(listed, every_test(parse_listing(ours.result())))
