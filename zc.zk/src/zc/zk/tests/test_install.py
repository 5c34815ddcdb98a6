"""Installing Debian's zookeeper package for the tests, without touching
the installed one: the checks point at a jar that does not exist."""
import contextlib
import io
import os
import stat
import tempfile
import unittest

from zc.zk.testing import install, server


class InstallTests(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(__import__('shutil').rmtree, self.tmp)
        self.jar = os.path.join(self.tmp, 'missing', 'zookeeper.jar')

    def test_installed(self):
        self.assertTrue(os.path.exists(server.jar()))
        self.assertIsNone(install.ensure_installed(server.jar()))

    def test_missing_without_root(self):
        problem = install.ensure_installed(self.jar, euid=1000)
        self.assertIn(f'ZooKeeper is not installed ({self.jar}', problem)
        self.assertIn("installing it needs root: run 'apt-get install"
                      " zookeeper' as root", problem)

    def test_missing_without_apt(self):
        problem = install.ensure_installed(self.jar, '/nonexistent/apt-get',
                                           euid=0)
        self.assertIn('there is no /nonexistent/apt-get to install it',
                      problem)

    def test_main_reports_one_line_and_fails(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = install.main(['--jar', self.jar,
                                   '--apt-get', '/nonexistent/apt-get'])
        self.assertEqual(status, 1)
        self.assertEqual(len(err.getvalue().splitlines()), 1)
        self.assertTrue(err.getvalue().startswith('error: ZooKeeper is not'
                                                  ' installed'))

    def apt_get(self, body):
        """A stand-in for apt-get that logs its arguments."""
        path = os.path.join(self.tmp, 'apt-get')
        with open(path, 'w') as f:
            f.write(f'#!/bin/sh\necho "$@" >> {self.tmp}/calls\n{body}\n')
        os.chmod(path, stat.S_IRWXU)
        return path

    def calls(self):
        with open(os.path.join(self.tmp, 'calls')) as f:
            return f.read().splitlines()

    def test_missing_installs_with_apt_get(self):
        apt = self.apt_get(f'case "$1" in install) mkdir -p'
                           f' {os.path.dirname(self.jar)};'
                           f' touch {self.jar};; esac')
        out = io.StringIO()
        self.assertIsNone(install.ensure_installed(self.jar, apt, euid=0,
                                                   out=out))
        self.assertEqual(self.calls(), [
            'update', 'install -y zookeeper'])
        self.assertIn("installing the Debian package 'zookeeper'",
                      out.getvalue())

    def test_apt_get_failure_is_reported(self):
        apt = self.apt_get('echo "E: Unable to locate package" >&2; exit 100')
        problem = install.ensure_installed(self.jar, apt, euid=0,
                                           out=io.StringIO())
        self.assertEqual(problem, f'{apt} update failed (100): E: Unable to'
                         ' locate package')

    def test_installed_but_jar_still_missing(self):
        problem = install.ensure_installed(self.jar, self.apt_get('true'),
                                           euid=0, out=io.StringIO())
        self.assertEqual(problem, f'zookeeper was installed, but {self.jar}'
                         ' is still missing')

    def test_server_refuses_to_start_without_the_jar(self):
        os.environ['ZC_ZK_JAR'] = self.jar
        self.addCleanup(os.environ.pop, 'ZC_ZK_JAR')
        zk = server.Server(directory=self.tmp)
        with self.assertRaises(server.ZooKeeperUnavailable) as caught:
            zk.start()
        self.assertEqual(str(caught.exception).splitlines(), [
            f'ZooKeeper is not installed ({self.jar} is missing): run'
            " 'make test' as root, or 'apt-get install zookeeper'"])
