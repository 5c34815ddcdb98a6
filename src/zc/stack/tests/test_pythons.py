"""zc.stack.pythons: which interpreter ``make PYTHON=...`` means."""
import contextlib
import io
import os
import pathlib
import shutil
import sys
import tempfile
import time
import unittest

from zc.stack import pythons

RUNNING = '%d.%d.%d' % sys.version_info[:3]


class PythonsTests(unittest.TestCase):

    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix='zc-stack-py-'))
        self.addCleanup(shutil.rmtree, self.tmp)

    def fake_pyenv(self, *versions):
        """A pyenv root whose versions all run this Python."""
        for version in versions:
            bin_dir = self.tmp / 'versions' / version / 'bin'
            bin_dir.mkdir(parents=True)
            (bin_dir / 'python3').symlink_to(sys.executable)
        return self.tmp

    def test_version_of(self):
        for name, version in [('python3.13', '3.13'), ('3.13', '3.13'),
                              ('3.12.1', '3.12.1'), ('/usr/bin/python3.13',
                                                     '3.13'),
                              ('python3', None), ('pypy3', None),
                              ('python3.13t', None)]:
            self.assertEqual(pythons.version_of(name), version, name)

    def test_pyenv_candidates_newest_first_and_exact(self):
        root = self.fake_pyenv('3.13.0', '3.13.10', '3.13.2', '3.130.0',
                               '3.13-dev', '3.12.1')
        self.assertEqual(
            [p.parent.parent.name
             for p in pythons.pyenv_candidates('3.13', root)],
            ['3.13.10', '3.13.2', '3.13.0'])
        self.assertEqual(
            [p.parent.parent.name
             for p in pythons.pyenv_candidates('3.13.2', root)], ['3.13.2'])
        self.assertEqual(pythons.pyenv_candidates('3.9', root), [])

    def test_a_path(self):
        self.assertEqual(pythons.find(sys.executable),
                         (os.path.realpath(sys.executable), RUNNING))

    def test_pyenv_version_when_the_command_does_not_answer(self):
        minor = RUNNING.rsplit('.', 1)[0]
        root = self.fake_pyenv(RUNNING)
        executable, version = pythons.find(minor, pyenv_root=root)
        self.assertEqual(version, RUNNING)
        # Whether python3.X on PATH or the fake pyenv answered, it is
        # this interpreter.
        self.assertEqual(executable, os.path.realpath(sys.executable))

    def test_the_wrong_version_is_not_taken(self):
        # The fake pyenv's 3.99.0 is really this Python: refused.
        root = self.fake_pyenv('3.99.0')
        with self.assertRaises(pythons.NotFound) as caught:
            pythons.find('3.99', pyenv_root=root)
        self.assertEqual(str(caught.exception), (
            "no Python '3.99': give a command on PATH (python3.13), a path"
            " (/usr/bin/python3.13) or a version pyenv has installed"
            " (3.13)"))

    def test_not_a_python(self):
        for name in ('no-such-python-here', '/bin/false',
                     str(self.tmp / 'missing')):
            with self.assertRaises(pythons.NotFound):
                pythons.find(name)

    def test_record_writes_only_a_change(self):
        path = self.tmp / 'sub' / 'record'
        pythons.record(path, '/x/python3 3.11.7')
        self.assertEqual(path.read_text(), '/x/python3 3.11.7\n')
        os.utime(path, (1, 1))
        pythons.record(path, '/x/python3 3.11.7')
        self.assertEqual(path.stat().st_mtime, 1)
        pythons.record(path, '/y/python3 3.13.0')
        self.assertEqual(path.read_text(), '/y/python3 3.13.0\n')
        self.assertGreater(path.stat().st_mtime, time.time() - 60)

    def main(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = pythons.main(list(args))
        return status, out.getvalue(), err.getvalue()

    def test_main(self):
        record = self.tmp / 'record'
        line = f'{os.path.realpath(sys.executable)} {RUNNING}\n'
        self.assertEqual(self.main(sys.executable, '--record', str(record)),
                         (0, line, ''))
        self.assertEqual(record.read_text(), line)
        status, out, err = self.main('python2.9')
        self.assertEqual((status, out), (1, ''))
        self.assertEqual(err.splitlines(), [
            "error: no Python 'python2.9': give a command on PATH"
            " (python3.13), a path (/usr/bin/python3.13) or a version pyenv"
            " has installed (3.13)"])
