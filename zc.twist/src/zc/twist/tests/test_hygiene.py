"""Importing zc.twist changes nothing else: no monkey-patching, no reactor
installed, ZEO not imported."""
import subprocess
import sys
import textwrap
import unittest

from zc.twist.tests.support import TIMEOUT

CHECK = '''
import sys, types

def snapshot():
    """Every attribute of every loaded module, and of their classes."""
    seen = {}
    for name, module in list(sys.modules.items()):
        if module is None:
            continue
        for key, value in list(vars(module).items()):
            seen[(name, key)] = id(value)
            if isinstance(value, type) and value.__module__ == name:
                for attribute, member in list(vars(value).items()):
                    seen[(name, key, attribute)] = id(member)
    return seen

import xmlrpc.client, twisted.internet.defer, twisted.python.failure
import ZODB, ZODB.Connection, ZODB.DB, persistent, transaction
import zope.component, zope.interface
before = snapshot()
repr_before = xmlrpc.client._Method.__repr__

import zc.twist

after = snapshot()
changed = sorted(str(key) for key, value in before.items()
                 if after.get(key) != value
                 and not key[0].startswith(('zc.twist', 'zc')))
print('changed:', changed)
print('xmlrpc:', xmlrpc.client._Method.__repr__ is repr_before)
print('reactor installed:', 'twisted.internet.reactor' in sys.modules)
print('ZEO imported:', any(n == 'ZEO' or n.startswith('ZEO.')
                           for n in sys.modules))
'''


class ImportTests(unittest.TestCase):

    def test_importing_changes_nothing_else(self):
        run = subprocess.run(
            [sys.executable, '-c', textwrap.dedent(CHECK)],
            capture_output=True, text=True, timeout=TIMEOUT,
            env={'PYTHONPATH': ':'.join(sys.path)})
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.splitlines(), [
            'changed: []',
            'xmlrpc: True',
            'reactor installed: False',
            'ZEO imported: False',
        ])
