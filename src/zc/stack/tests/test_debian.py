"""Installing the Debian packages the stack runs, without touching the
installed ones: the packages checked here are proven by files that do not
exist, and apt-get is a stand-in that logs its arguments."""
import contextlib
import io
import os
import shutil
import stat
import tempfile
import unittest

from zc.stack import debian
from zc.zk.testing import server


class DebianTests(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.jar = os.path.join(self.tmp, 'missing', 'zookeeper.jar')
        self.zookeeper = debian.Package('zookeeper', files=(self.jar,))
        self.haproxy = debian.Package(
            'haproxy', files=(os.path.join(self.tmp, 'sbin', 'haproxy'),))

    def apt_get(self, body='true'):
        """A stand-in for apt-get that logs its arguments, then runs
        ``body`` (shell)."""
        path = os.path.join(self.tmp, 'apt-get')
        with open(path, 'w') as f:
            f.write(f'#!/bin/sh\necho "$@" >> {self.tmp}/calls\n{body}\n')
        os.chmod(path, stat.S_IRWXU)
        return path

    def calls(self):
        with open(os.path.join(self.tmp, 'calls')) as f:
            return f.read().splitlines()

    def creates_proofs(self):
        """apt-get body that "installs": creates every proof file."""
        files = [f for p in (self.zookeeper, self.haproxy) for f in p.files]
        return 'case "$1" in install) ' + '; '.join(
            f'mkdir -p {os.path.dirname(f)}; touch {f}' for f in files
        ) + ';; esac'

    def test_the_stack_s_packages_are_installed_here(self):
        # make test ran `python -m zc.stack.debian` before the tests.
        known = debian.packages()
        self.assertEqual(sorted(known), ['chromium', 'haproxy', 'zookeeper'])
        self.assertEqual(known['zookeeper'].files, (server.jar(),))
        for package in known.values():
            self.assertEqual(package.missing(), [], package.name)
        # Nothing missing: apt-get is not even looked for.
        debian.ensure(known.values(), '/nonexistent/apt-get', euid=1000)

    def test_missing_lists_files_and_commands(self):
        package = debian.Package('x', files=(self.jar, __file__),
                                 commands=('sh', 'no-such-command-here'))
        self.assertEqual(package.missing(),
                         [self.jar, 'no-such-command-here'])

    def test_missing_without_root(self):
        with self.assertRaises(debian.NotInstalled) as caught:
            debian.ensure([self.zookeeper, self.haproxy], self.apt_get(),
                          euid=1000)
        self.assertEqual(str(caught.exception), (
            f'Debian package(s) zookeeper haproxy not installed ({self.jar},'
            f' {self.haproxy.files[0]} missing); installing needs root:'
            " run 'apt-get install zookeeper haproxy' as root (or"
            " 'make test' as root)"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'calls')))

    def test_missing_without_apt(self):
        with self.assertRaises(debian.NotInstalled) as caught:
            debian.ensure([self.zookeeper], '/nonexistent/apt-get', euid=0)
        self.assertIn('and there is no /nonexistent/apt-get to install them',
                      str(caught.exception))

    def test_one_update_then_one_install_of_what_is_missing(self):
        installed = debian.Package('here', files=(__file__,))
        apt = self.apt_get(self.creates_proofs())
        with self.assertLogs('zc.stack.debian') as logged:
            debian.ensure([self.zookeeper, installed, self.haproxy], apt,
                          euid=0)
        self.assertEqual(self.calls(),
                         ['update', 'install -y zookeeper haproxy'])
        self.assertIn('installing them with', logged.output[0])
        self.assertEqual(self.zookeeper.missing() + self.haproxy.missing(),
                         [])

    def test_a_failed_update_installs_nothing(self):
        apt = self.apt_get(
            'case "$1" in update) echo "W: some warning"; echo'
            ' "E: Could not get lock" >&2; exit 100;; esac')
        with self.assertRaises(debian.NotInstalled) as caught:
            debian.ensure([self.zookeeper], apt, euid=0)
        self.assertEqual(str(caught.exception),
                         f'{apt} update failed (100): E: Could not get lock')
        self.assertEqual(self.calls(), ['update'])

    def test_a_failed_install_is_reported(self):
        apt = self.apt_get('case "$1" in install) echo "E: Unable to locate'
                           ' package haproxy" >&2; exit 100;; esac')
        with self.assertRaises(debian.NotInstalled) as caught:
            debian.ensure([self.zookeeper, self.haproxy], apt, euid=0)
        self.assertEqual(str(caught.exception), (
            f'{apt} install -y zookeeper haproxy failed (100):'
            ' E: Unable to locate package haproxy'))

    def test_installed_but_proof_still_missing(self):
        with self.assertRaises(debian.NotInstalled) as caught:
            debian.ensure([self.zookeeper], self.apt_get(), euid=0)
        self.assertEqual(str(caught.exception),
                         f'zookeeper installed, but {self.jar} still missing')

    def test_apt_get_that_hangs_is_stopped(self):
        apt = self.apt_get('sleep 30')
        with self.assertRaises(debian.NotInstalled) as caught:
            debian.ensure([self.zookeeper], apt, euid=0, timeout=0.5)
        self.assertEqual(str(caught.exception), (
            f"{apt} update took over 0.5s and was stopped; run 'dpkg"
            " --configure -a' as root, then retry"))

    def main(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = debian.main(list(args))
            except SystemExit as e:
                status = e.code
        return status, out.getvalue(), err.getvalue()

    def test_main_reports_one_line_and_fails(self):
        os.environ['ZC_ZK_JAR'] = self.jar
        self.addCleanup(os.environ.pop, 'ZC_ZK_JAR')
        status, out, err = self.main('zookeeper',
                                     '--apt-get', '/nonexistent/apt-get')
        self.assertEqual(status, 1)
        self.assertEqual(out, '')
        if os.geteuid() == 0:
            self.assertEqual(err.splitlines(), [
                f'error: Debian package(s) zookeeper not installed'
                f' ({self.jar} missing) and there is no /nonexistent/apt-get'
                ' to install them: install zookeeper by other means'])
        else:
            self.assertEqual(len(err.splitlines()), 1)
            self.assertIn('installing needs root', err)

    def test_main_with_everything_installed(self):
        self.assertEqual(self.main('--apt-get', '/nonexistent/apt-get'),
                         (0, '', ''))

    def test_main_refuses_an_unknown_package(self):
        status, out, err = self.main('nosuchpackage')
        self.assertEqual(status, 2)
        self.assertEqual(err.splitlines()[-1], (
            "python -m zc.stack.debian: error: unknown package"
            " 'nosuchpackage' (known: zookeeper, haproxy, chromium)"))

    def test_zookeeper_server_says_what_to_install(self):
        os.environ['ZC_ZK_JAR'] = self.jar
        self.addCleanup(os.environ.pop, 'ZC_ZK_JAR')
        zk = server.Server(directory=self.tmp)
        with self.assertRaises(server.ZooKeeperUnavailable) as caught:
            zk.start()
        self.assertEqual(str(caught.exception).splitlines(), [
            f'ZooKeeper is not installed ({self.jar} is missing): run'
            " 'make test' as root, or 'apt-get install zookeeper'"])
