"""``zc`` is a native (PEP 420) namespace shared with other distributions."""
import importlib
import unittest

from zc.stack.runtests import ROOT, source_dirs


class NamespaceTests(unittest.TestCase):

    def test_zc_is_a_native_namespace(self):
        import zc
        self.assertIsNone(getattr(zc, '__file__', None))
        self.assertEqual(type(zc.__path__).__name__, '_NamespacePath')

    def test_our_packages_coexist_with_zc_lockfile(self):
        # zc.lockfile is installed by ZEO; a zc/__init__.py in any of our
        # distributions would hide it (or hide us).
        for name in ('zc.lockfile', 'zc.thread', 'zc.stack'):
            module = importlib.import_module(name)
            self.assertTrue(module.__file__.endswith('__init__.py'), name)

    def test_no_distribution_ships_zc_init(self):
        dirs = source_dirs()
        self.assertIn(ROOT / 'zc.thread' / 'src', dirs)
        self.assertIn(ROOT / 'src', dirs)
        for src in dirs:
            self.assertFalse((src / 'zc' / '__init__.py').exists(), src)

