"""The console scripts, run as users run them (a separate process)
against the real server."""
import importlib.metadata
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import zc.zk
from zc.zk.testing import ZOOKEEPER, free_port

TIMEOUT = 60
SCRIPTS = ('export', 'import_', 'validate', 'set_property')


def run(script, *args, stdin=None):
    """Run console script ``zookeeper_<script>`` the way its entry point
    does, in a new interpreter."""
    code = f'import zc.zk.scripts; zc.zk.scripts.{script}()'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, '-c', code, *args], input=stdin,
                          capture_output=True, text=True, env=env,
                          timeout=TIMEOUT)


TREE = textwrap.dedent('''\
    /app : web
      threads = 4
      db -> /db
      /providers
    /db
      size = 10
''')


class ScriptTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.connection = ZOOKEEPER.connection_string
        self.zk = zc.zk.ZooKeeper(self.connection)
        self.addCleanup(self.zk.close)
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(__import__('shutil').rmtree, self.tmp)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def assertFails(self, done, message):
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertEqual(done.stderr, message + '\n')
        self.assertEqual(done.stdout, '')

    def test_entry_points(self):
        scripts = {e.name: e.value for e in importlib.metadata.entry_points(
            group='console_scripts') if e.name.startswith('zookeeper_')}
        self.assertEqual(scripts, {
            'zookeeper_export': 'zc.zk.scripts:export',
            'zookeeper_import': 'zc.zk.scripts:import_',
            'zookeeper_validate': 'zc.zk.scripts:validate',
            'zookeeper_set_property': 'zc.zk.scripts:set_property'})

    def test_import_from_file_and_export(self):
        done = run('import_', self.connection, self.write('t', TREE))
        self.assertEqual((done.returncode, done.stderr), (0, ''))
        self.zk.register('/app/providers', 'h:1')
        done = run('export', self.connection, '/app')
        self.assertEqual((done.returncode, done.stderr), (0, ''))
        self.assertEqual(done.stdout, '/app : web\n  threads = 4\n'
                         '  db -> /db\n  /providers\n')
        output = os.path.join(self.tmp, 'out')
        done = run('export', '-e', '-o', output, self.connection)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(output) as f:
            self.assertIn('/h:1', f.read())

    def test_import_from_stdin_under_a_path_dry_run_and_trim(self):
        run('import_', self.connection, '-', '/under', stdin=TREE)
        self.assertEqual(self.zk.get_properties('/under/db'), {'size': 10})
        self.zk.create('/under/db/extra')
        done = run('import_', '-d', self.connection, '-', '/under',
                   stdin=TREE.replace('size = 10', 'size = 11'))
        self.assertEqual(done.stdout, '/under/db size change from 10 to 11\n'
                         'extra path not trimmed: /under/db/extra\n')
        self.assertEqual(self.zk.get_properties('/under/db'), {'size': 10})
        done = run('import_', '-t', self.connection, '-', '/under',
                   stdin=TREE)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIsNone(self.zk.exists('/under/db/extra'))

    def test_import_permission_and_acl_with_auth(self):
        run('import_', '-p', '1', self.connection, '-', stdin='/r\n')
        self.assertEqual(self.zk.client.get_acls('/r')[0],
                         zc.zk.world_acl(1))
        done = run('import_', '--acl', 'digest:bob:pw:all', '--acl',
                   'world:anyone:r', self.connection, '-', stdin='/s\n')
        self.assertEqual(done.returncode, 0, done.stderr)
        done = run('set_property', self.connection, '/s', 'x=1')
        self.assertFails(done, 'zookeeper_set_property: not allowed (ACL):'
                         ' use --auth with a user the ACL permits')
        done = run('set_property', '--auth', 'bob:pw', self.connection,
                   '/s', 'x=1')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.zk.get_properties('/s'), {'x': 1})

    def test_bad_tree(self):
        bad = self.write('bad.tree', '/a\n  x = 1\n  oops here\n')
        for script, done in (('import', run('import_', self.connection, bad)),
                             ('validate', run('validate', bad))):
            self.assertFails(done, f'zookeeper_{script}: {bad}, line 3:'
                             " Unrecognized data: 'oops here'")
        self.assertIsNone(self.zk.exists('/a'))
        done = run('validate', '-', stdin='/a\n  /b\n /c\n')
        self.assertFails(done, "zookeeper_validate: <stdin>, line 3:"
                         " Invalid indentation: '/c'")
        done = run('import_', self.connection, '-', stdin='x = 1\n/a\n')
        self.assertFails(done, "zookeeper_import: <stdin>: Can't import"
                         " properties above imported nodes.")

    def test_validate_ok_and_missing_file(self):
        done = run('validate', self.write('good', TREE))
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (0, '', ''))
        missing = os.path.join(self.tmp, 'missing')
        self.assertFails(run('validate', missing),
                         f'zookeeper_validate: cannot read {missing}:'
                         ' No such file or directory')

    def test_unreachable_server(self):
        address = f'127.0.0.1:{free_port()}'
        for script, args in (('export', ()), ('import_', ('-',)),
                             ('set_property', ('/a', 'x=1'))):
            done = run(script, '--timeout', '0.5', address, *args,
                       stdin='/a\n')
            name = script.rstrip('_')
            self.assertFails(done, f'zookeeper_{name}: can\'t connect to'
                             f' ZooKeeper at {address}')

    def test_set_property(self):
        self.zk.create('/p', b'{"a":1}')
        done = run('set_property', self.connection, '/p', 'b=[1, 2]',
                   "c='x'", 'a=6')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.zk.get_properties('/p'),
                         {'a': 6, 'b': [1, 2], 'c': 'x'})
        self.assertFails(run('set_property', self.connection, '/p', 'b'),
                         "zookeeper_set_property: expected NAME=VALUE,"
                         " got 'b'")
        self.assertFails(run('set_property', self.connection, '/p', 'b=('),
                         "zookeeper_set_property: bad value for b: '('"
                         " (invalid syntax: '(' was never closed)")
        self.assertFails(run('set_property', self.connection, '/nope',
                             'b=1'),
                         'zookeeper_set_property: no such node: /nope')

    def test_set_property_values_are_literals_never_evaluated(self):
        self.zk.create('/p', b'{"a":1}')
        marker = os.path.join(self.tmp, 'ran')
        for value in ('2*3', f'open({marker!r}, "w")', 'red'):
            self.assertFails(
                run('set_property', self.connection, '/p', f'a={value}'),
                f'zookeeper_set_property: bad value for a: {value!r} (not a'
                ' Python literal: values are quoted strings, numbers, lists,'
                ' tuples, dicts, True, False or None, never expressions)')
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(self.zk.get_properties('/p'), {'a': 1})

    def test_tree_values_are_never_evaluated(self):
        marker = os.path.join(self.tmp, 'ran')
        line = f'y = __import__("os").mkdir({marker!r})'
        tree = self.write('evil.tree', f'/evil\n  x = 1\n  {line}\n')
        for script, done in (('import', run('import_', self.connection,
                                             tree)),
                             ('validate', run('validate', tree))):
            self.assertFails(done, f'zookeeper_{script}: {tree}, line 3:'
                             ' Bad property value (not a Python literal:'
                             ' values are quoted strings, numbers, lists,'
                             ' tuples, dicts, True, False or None, never'
                             f' expressions): {line!r}')
        self.assertFalse(os.path.exists(marker))
        self.assertIsNone(self.zk.exists('/evil'))

    def test_not_utf8(self):
        path = os.path.join(self.tmp, 'latin1.tree')
        with open(path, 'wb') as f:
            f.write("/a\n  x = 'caf\xe9'\n".encode('latin-1'))
        self.assertFails(run('validate', path), f'zookeeper_validate: {path},'
                         ' line 2: not UTF-8 text (byte 0xe9)')
        with open(path, 'rb') as stdin:
            done = subprocess.run(
                [sys.executable, '-c', 'import zc.zk.scripts;'
                 ' zc.zk.scripts.import_()', self.connection],
                stdin=stdin, capture_output=True, text=True,
                env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                timeout=TIMEOUT)
        self.assertFails(done, 'zookeeper_import: <stdin>, line 2: not UTF-8'
                         ' text (byte 0xe9)')

    def test_malformed_connection_strings(self):
        for connection, reason in (
                ('garbage,,::', 'bad hostname'),
                ('127.0.0.1:abc',
                 "Port could not be cast to integer value as 'abc'"),
                ('127.0.0.1:99999', 'Port out of range 0-65535')):
            self.assertFails(run('export', connection),
                             f'zookeeper_export: Bad connection string'
                             f' {connection!r}: {reason}')

    def test_bad_permission_and_auth(self):
        for permission in ('999', '32', '-1'):
            self.assertFails(
                run('import_', '-p', permission, self.connection, '-',
                    stdin='/a\n'),
                f'zookeeper_import: Bad permissions {int(permission)}: need'
                ' 0-31, the sum of read 1, write 2, create 4, delete 8 and'
                ' admin 16')
        self.assertFails(
            run('import_', '--acl', 'world:anyone:64', self.connection, '-',
                stdin='/a\n'),
            'zookeeper_import: Bad permissions 64: need 0-31, the sum of'
            ' read 1, write 2, create 4, delete 8 and admin 16')
        self.assertFails(run('import_', '--auth', 'nocolon', self.connection,
                             '-', stdin='/a\n'),
                         "zookeeper_import: Bad auth: need 'user:password'")
        self.assertIsNone(self.zk.exists('/a'))

    def test_export_missing_node_and_help(self):
        self.assertFails(run('export', self.connection, '/nope'),
                         'zookeeper_export: no such node: /nope')
        done = run('validate', '--help')
        self.assertEqual(done.returncode, 0)
        self.assertIn('usage: zookeeper_validate [-h] [file]', done.stdout)
        self.assertNotIn('connection', done.stdout)
