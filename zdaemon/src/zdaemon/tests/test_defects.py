"""Regression tests for the defects of the original zdaemon (5.2.1); each
of them fails on the defect it is named after."""
import io
import os
import pwd
import signal
import subprocess
import sys
import time
import unittest
import unittest.mock

from zope.testing.wait import wait

from zdaemon import _control
from zdaemon import zdctl
from zdaemon.tests import support
from zdaemon.tests.support import Sandbox

# A program that says when it is ready and what signals it got.
SIGNAL_RECORDER = '''
    import os, signal, sys, time
    ignore = 'ignore-term' in sys.argv
    def record(sig, frame):
        with open('signals', 'a') as f:
            f.write(signal.Signals(sig).name + '\\n')
        if not ignore:
            sys.exit(0)
    signal.signal(signal.SIGTERM, record)
    with open('ready', 'w') as f:
        f.write(str(os.getpid()))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.05)
'''


class ForkRaceTests(unittest.TestCase):
    """Defect 1: a child that died before the manager recorded its pid was
    reaped as an "unknown process"; the manager then reported that dead
    pid as running for ever and stopped restarting."""

    layer = support.Processes

    def test_program_exiting_at_once_is_never_reported_with_a_dead_pid(self):
        sandbox = Sandbox(self)
        sandbox.write('log.conf', support.LOGGED_CONF)
        manager = subprocess.run(
            [sys.executable, '-m', 'zdaemon.zdrun', '-C', 'log.conf',
             '-b', '1', '-f', 'false'],
            cwd=sandbox.path, env=support.python_env(),
            capture_output=True, text=True, timeout=support.COMMAND_TIMEOUT)
        self.assertEqual(manager.returncode, 0, manager.stderr)
        status = support.wait_for_value(sandbox.status)
        manager_pid = status['manager']
        sockname = sandbox.join('zdsock')
        seen = set()
        spawns = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            # A start command spawns the program at once (no back-off):
            # hundreds of spawns a second of a program that exits at once;
            # the original lost track within tens.
            _control.send_command(sockname, 'start')
            pid = sandbox.status()['application']
            if not pid:
                continue
            seen.add(pid)
            state = support.proc_stat(pid)
            if state is None or state[1] != manager_pid:
                # The process is gone (reaped) or someone else's: the
                # manager must not report it any more.
                self.assertNotEqual(sandbox.status()['application'], pid,
                                    f'dead pid {pid} reported as running')
            spawns.append(sandbox.read('manager.log').count('spawned'))
        self.assertGreater(len(seen), 20)
        # Still restarting at the end (not wedged on a dead pid):
        latest = spawns[-1]
        wait(lambda: sandbox.read('manager.log').count('spawned') > latest,
             timeout=support.WAIT_TIMEOUT, message='more spawns')
        done = sandbox.run('-p false stop')
        self.assertEqual(done.returncode, 0, done.stderr)
        wait(lambda: not support.process_exists(manager_pid),
             timeout=support.WAIT_TIMEOUT)


class DirectoryOwnershipTests(unittest.TestCase):
    """Defect 2: as root, every directory zdaemon created was chowned to
    ``options.uid``, which nothing set: ``chown(dir, None, None)`` raised
    TypeError."""

    layer = support.Processes

    def test_directories_are_created_as_root_or_not(self):
        sandbox = Sandbox(self)
        done = sandbox.run('-p "sleep 100" -s run/zdsock -z work start')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(os.path.isdir(sandbox.join('run')))
        self.assertTrue(os.path.isdir(sandbox.join('work')))
        status = sandbox.status('run/zdsock')
        self.assertTrue(status['application'])
        self.assertEqual(os.readlink(f'/proc/{status["manager"]}/cwd'),
                         sandbox.join('work'))
        done = sandbox.run('-p "sleep 100" -s run/zdsock stop')
        self.assertRegex(done.stdout, support.STOPPED)

    def other_user(self):
        me = os.geteuid()
        for entry in pwd.getpwall():
            if entry.pw_uid not in (0, me):
                return entry
        self.fail('no other user on this system')

    def test_user_switch(self):
        # ZDCmd creates the directories, then switches to the user; run in
        # a child process, which can afford to become someone else.
        sandbox = Sandbox(self, world_readable=True)
        user = self.other_user()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            code = 1
            try:
                out = io.StringIO()
                with unittest.mock.patch('sys.stderr', out):
                    try:
                        options = zdctl.ZDCtlOptions()
                        options.realize(
                            ['-p', 'sleep 1', '-u', user.pw_name,
                             '-s', sandbox.join('run', 'zdsock'),
                             '-z', sandbox.join('work'), 'status'])
                        zdctl.ZDCmd(options)
                        result = (os.getuid(), os.getgid(),
                                  sorted(os.getgroups()))
                    except SystemExit as exit:
                        result = ('exit', exit.code, out.getvalue())
                    except Exception as error:
                        result = ('error', repr(error))
                os.write(write_fd, repr(result).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        with os.fdopen(read_fd) as reader:
            result = eval(reader.read())
        os.waitpid(pid, 0)
        if os.geteuid() != 0:
            self.assertEqual(result, (
                'exit', 2, 'Error: only root can use -u USER to change'
                ' users\nFor help, use ' + sys.argv[0] + ' -h\n'))
            return
        groups = sorted(os.getgrouplist(user.pw_name, user.pw_gid))
        self.assertEqual(result, (user.pw_uid, user.pw_gid, groups))
        for name in ('run', 'work'):
            st = os.stat(sandbox.join(name))
            self.assertEqual((st.st_uid, st.st_gid),
                             (user.pw_uid, user.pw_gid))

    def test_user_switch_to_oneself_is_a_no_op(self):
        sandbox = Sandbox(self)
        me = pwd.getpwuid(os.geteuid()).pw_name
        done = sandbox.run(f'-p "sleep 100" -u {me} -s run/zdsock start')
        self.assertEqual(done.returncode, 0, done.stderr)
        done = sandbox.run(f'-p "sleep 100" -u {me} -s run/zdsock stop')
        self.assertRegex(done.stdout, support.STOPPED)

    def test_unknown_user(self):
        done = Sandbox(self).run('-p "sleep 100" -u no-such-zdtest-user'
                                 ' start')
        self.assertEqual(done.returncode, 2)
        self.assertIn("no such user 'no-such-zdtest-user'", done.stderr)


class ForegroundStatusTests(unittest.TestCase):
    """Defect 3: ``fg`` exited 0 whatever the program's exit status."""

    layer = support.Processes

    def test_fg_exits_with_the_program_exit_status(self):
        sandbox = Sandbox(self)
        sandbox.script('three', 'import sys; sys.exit(3)')
        done = sandbox.run('-p ./three fg')
        self.assertEqual((done.returncode, done.stdout), (3, './three\n'))
        sandbox.script('ok', 'print("fine")')
        done = sandbox.run('-p ./ok fg')
        self.assertEqual((done.returncode, done.stdout),
                         (0, './ok\nfine\n'))

    def test_fg_reports_death_by_signal_like_a_shell(self):
        sandbox = Sandbox(self)
        sandbox.script('killed', '''
            import os, signal
            os.kill(os.getpid(), signal.SIGKILL)
        ''')
        done = sandbox.run('-p ./killed fg')
        self.assertEqual(done.returncode, 128 + signal.SIGKILL)


class ManagerTermTests(unittest.TestCase):
    """Defect 4: SIGTERM to the manager left its program running,
    orphaned."""

    layer = support.Processes

    def test_sigterm_to_the_manager_stops_the_program(self):
        sandbox = Sandbox(self)
        sandbox.script('recorder', SIGNAL_RECORDER)
        done = sandbox.run('-p ./recorder start')
        self.assertEqual(done.returncode, 0, done.stderr)
        status = sandbox.status()
        program = status['application']
        wait(lambda: sandbox.read('ready'), timeout=support.WAIT_TIMEOUT)
        os.kill(status['manager'], signal.SIGTERM)
        wait(lambda: not support.process_exists(program),
             timeout=support.WAIT_TIMEOUT, message='the program to end')
        wait(lambda: not support.process_exists(status['manager']),
             timeout=support.WAIT_TIMEOUT, message='the manager to end')
        self.assertEqual(sandbox.read('signals'), 'SIGTERM\n')
        self.assertIsNone(sandbox.status())


class StopEscalationTests(unittest.TestCase):
    """Defect 5: without a configuration file there was no stop timeout,
    so stop never sent SIGKILL to a program ignoring SIGTERM."""

    layer = support.Processes

    def test_stop_kills_a_program_ignoring_sigterm(self):
        sandbox = Sandbox(self)
        sandbox.script('stubborn', SIGNAL_RECORDER)
        sandbox.write('log.conf', support.LOGGED_CONF)
        program = ('-C log.conf -p "./stubborn ignore-term" --stop-timeout 1'
                   ' -t transcript')
        done = sandbox.run(program + ' start')
        self.assertEqual(done.returncode, 0, done.stderr)
        pid = sandbox.status()['application']
        wait(lambda: sandbox.read('ready'), timeout=support.WAIT_TIMEOUT)
        done = sandbox.run(program + ' stop')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, support.STOPPED)
        self.assertFalse(support.process_exists(pid))
        self.assertEqual(sandbox.read('signals'), 'SIGTERM\n')
        self.assertIn(f'process {pid} terminated by SIGKILL',
                      sandbox.read('manager.log'))
