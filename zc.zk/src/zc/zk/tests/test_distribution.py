"""What the distribution declares: a base install needs kazoo only."""
import importlib.metadata
import unittest


class RequirementTests(unittest.TestCase):

    def test_zc_thread_is_needed_by_the_tests_only(self):
        requires = importlib.metadata.requires('zc.zk')
        self.assertEqual([r for r in requires if ';' not in r], ['kazoo'])
        self.assertIn('zc.thread; extra == "test"', requires)
