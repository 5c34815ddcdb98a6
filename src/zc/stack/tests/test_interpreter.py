"""``bin/py`` (zc.stack.interpreter) takes Python's own command line."""
import os
import subprocess
import sys
import tempfile
import unittest

from zc.stack import interpreter
from zc.stack.tests.test_scripts import script_dir

TIMEOUT = 60


class ParseTests(unittest.TestCase):

    def test_forms(self):
        parse = interpreter.parse
        self.assertEqual(parse([]), (True, None, None, []))
        self.assertEqual(parse(['-i']), (True, None, None, []))
        self.assertEqual(parse(['-c', 'x', '-m', 'y']),
                         (False, 'c', 'x', ['-m', 'y']))
        self.assertEqual(parse(['-I', '-mjson.tool', '--sort-keys']),
                         (False, 'm', 'json.tool', ['--sort-keys']))
        self.assertEqual(parse(['-i', 'a.py', '-c', 'b']),
                         (True, 'script', 'a.py', ['-c', 'b']))
        self.assertEqual(parse(['-', 'x']), (False, 'script', '-', ['x']))
        self.assertEqual(parse(['--help', '-c', 'x'])[1], 'help')

    def test_errors(self):
        for args, message in [(['-m'], 'argument expected for the -m option'),
                              (['-x'], 'unknown option -x'),
                              (['--cx'], 'unknown option --cx')]:
            with self.assertRaises(interpreter.UsageError) as caught:
                interpreter.parse(args)
            self.assertEqual(str(caught.exception), message)


class BuildoutEnvironment:
    """Tests of what only buildout's bin/ has. A layer of their own keeps
    them out of the unit tests that test_pip_path runs (and expects to
    pass, not skip) in the pip environment."""


class BinPyTests(unittest.TestCase):
    """bin/py as people run it (only in the buildout environment)."""

    layer = BuildoutEnvironment

    def setUp(self):
        self.py = script_dir() / 'py'
        if not self.py.exists():
            self.skipTest('no bin/py in this environment')

    def py_run(self, *args, **kw):
        return subprocess.run([str(self.py), *args], capture_output=True,
                              text=True, timeout=TIMEOUT, **kw)

    def test_command_sees_the_stack_and_its_arguments(self):
        done = self.py_run('-c', 'import sys, zc.zk, zdaemon;'
                           ' print(sys.argv)', 'a', '-b')
        self.assertEqual(done.stdout, "['-c', 'a', '-b']\n", done.stderr)

    def test_module_gets_its_options(self):
        done = self.py_run('-m', 'zc.stack.pythons', '--help')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(done.stdout.startswith(
            'usage: python3 -m zc.stack.pythons'))

    def test_script_and_exit_status(self):
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, 'helper.py'), 'w') as f:
                f.write('VALUE = 7\n')
            script = os.path.join(tmp, 'script.py')
            with open(script, 'w') as f:
                f.write('import sys, helper\nprint(sys.argv[1:],'
                        ' helper.VALUE)\nsys.exit(3)\n')
            done = self.py_run(script, 'x')
        self.assertEqual((done.returncode, done.stdout),
                         (3, "['x'] 7\n"), done.stderr)

    def test_program_on_stdin(self):
        done = self.py_run('-', input='import sys; print(sys.argv)\n')
        self.assertEqual(done.stdout, "['-']\n", done.stderr)

    def test_same_interpreter_as_the_environment(self):
        done = self.py_run('-c', 'import sys; print(sys.version_info[:2])')
        self.assertEqual(done.stdout.strip(), str(sys.version_info[:2]))
