"""What the distribution declares: every library it imports is required,
by the base install or by the extra of the module that imports it."""
import importlib.metadata
import unittest


class RequirementTests(unittest.TestCase):

    def test_extras_name_what_their_modules_import(self):
        requires = importlib.metadata.requires('zc.monitor')
        self.assertEqual([r for r in requires if ';' not in r],
                         ['zope.interface', 'zope.component'])
        self.assertIn('ZConfig; extra == "zconfig"', requires)  # .zconfig
        self.assertIn('ZODB; extra == "zodb"', requires)  # .zodb
