"""The zdaemon command line: actions, messages and exit statuses."""
import io
import os
import subprocess
import sys
import unittest
import unittest.mock

from zdaemon import zdctl
from zdaemon.tests import support
from zdaemon.tests.support import Sandbox
from zdaemon.tests.testzdoptions import SAMPLE_CONF
from zdaemon.tests.testzdoptions import Workspace


class ActionTests(unittest.TestCase):

    layer = support.Processes

    def test_without_a_manager(self):
        sandbox = Sandbox(self)
        for action, code, out, err in [
                ('status', 3, 'daemon manager not running\n', ''),
                ('status -l', 3, 'daemon manager not running\n', ''),
                ('stop', 0, 'daemon manager not running\n', ''),
                ('kill', 0, 'daemon process not running\n', ''),
                ('reopen_transcript', 1, '', 'daemon manager not running\n'),
                ('wait', 3, 'daemon manager not running\n', ''),
        ]:
            done = sandbox.run(f'-p "sleep 1" {action}')
            self.assertEqual((done.returncode, done.stdout, done.stderr),
                             (code, out, err), action)

    def test_user_errors(self):
        sandbox = Sandbox(self)
        # The original's lines on stdout, and its exit statuses:
        for action, code, out in [
                ('status -x', 1,
                 'status argument must be absent, -l or --json\n'),
                ('kill NOSUCH', 0, "invalid signal 'NOSUCH'\n"),
                ('kill 0', 0, "invalid signal '0'\n"),
                ('kill SIG_IGN', 0, "invalid signal 'SIG_IGN'\n"),
        ]:
            done = sandbox.run(f'-p "sleep 1" {action}')
            self.assertEqual((done.returncode, done.stdout, done.stderr),
                             (code, out, ''), action)
        for action, code, err in [
                ('frobnicate', 2,
                 "*** Unknown action: 'frobnicate' (use 'help' for a"
                 " list)\n"),
                ('show nothing', 2, 'show what? options, python or all\n'),
                ('logtail', 2,
                 'no log file; use logtail FILE, -l or the logfile key\n'),
        ]:
            done = sandbox.run(f'-p "sleep 1" {action}')
            self.assertEqual((done.returncode, done.stderr), (code, err),
                             action)
        done = sandbox.run('-p "sleep 1"')
        self.assertEqual(done.returncode, 2)
        self.assertEqual(done.stderr, 'Error: an action argument is required'
                         '\nFor help, use python -m zdaemon -h\n')

    def test_missing_program_is_reported_at_start(self):
        sandbox = Sandbox(self)
        done = sandbox.run('-p no-such-zdtest-program start')
        self.assertEqual(done.returncode, 1)
        self.assertIn("Error: can't find program 'no-such-zdtest-program'"
                      " on PATH", done.stderr)
        # The original's lines on stdout (scripts read them), the reason on
        # stderr.
        self.assertRegex(done.stdout, support.MANAGER_GONE)
        self.assertIn('the manager failed to start (exit status 2)',
                      done.stderr)
        sandbox.write('noexec', 'data', mode=0o644)
        done = sandbox.run('-p ./noexec start')
        self.assertIn(f"no permission to run program"
                      f" {sandbox.join('noexec')!r}", done.stderr)

    def test_kill_status_wait(self):
        sandbox = Sandbox(self)
        program = '-p "sleep 100" -b 1'
        done = sandbox.run(program + ' start')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.addCleanup(sandbox.run, program + ' stop')
        pid = sandbox.status()['application']
        self.assertEqual(support.STARTED.fullmatch(done.stdout).group(1),
                         str(pid))
        done = sandbox.run(program + ' status -l')
        lines = done.stdout.splitlines()
        self.assertEqual(lines[0], f'program running; pid={pid}')
        # The manager's reply as it is (not re-formatted: delay=0, not
        # 0.0), then an empty line, as the original printed it.
        self.assertIn('delay=0', lines)
        self.assertEqual(lines[-1], '')
        self.assertEqual(len(lines), 14)
        self.assertIn(f'application={pid}', lines)
        self.assertIn("args=['sleep', '100']", lines)
        # Past the back-off limit: restarted at once.
        sandbox.wait_for_status(lambda s: s['now'] - s['lasttime'] > 1)
        done = sandbox.run(program + ' kill 9')
        self.assertEqual((done.returncode, done.stdout), (
            0, f'kill({pid}, 9)\nsignal SIGKILL sent to process {pid}\n'))
        restarted = sandbox.wait_for_status(
            lambda s: s['application'] not in (0, pid))
        self.assertEqual(restarted['backoff'], 0)

    def test_program_dying_while_it_starts_up_is_not_started(self):
        sandbox = Sandbox(self)
        sandbox.write('dies', '''\
            #!/bin/sh
            echo "starting up"
            sleep 0.2
            exit 1
            ''', mode=0o755)
        done = sandbox.run('-p ./dies -b 2 -t transcript --start-window 5'
                           ' start')
        self.assertEqual(done.returncode, 1)
        self.assertRegex(done.stdout, support.MANAGER_GONE)
        self.assertEqual(done.stderr.splitlines(), [
            'the program exited (exit status 1); restarting it in 1 s',
            'the program ended (exit status 1) too often, too soon: the'
            ' manager gave up',
            'The end of transcript:',
            '    starting up',
            '    starting up'])

    def test_an_idle_program_is_started_before_its_start_window_ends(self):
        # A 30 s window, and 5 s to start: started all the same, since
        # the program is idle (sleeping, waiting for nothing it runs).
        sandbox = Sandbox(self)
        done = sandbox.run('-p "sleep 100" --start-window 30 -T 5 start')
        self.addCleanup(sandbox.run, '-p "sleep 100" stop')
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertRegex(done.stdout, support.STARTED)

    def test_transcript_holds_the_program_output_only(self):
        sandbox = Sandbox(self)
        sandbox.write('hello', '''\
            #!/bin/sh
            echo "hello"
            exec sleep 100
            ''', mode=0o755)
        done = sandbox.run('-p ./hello -t transcript start')
        self.assertEqual(done.returncode, 0, done.stderr)
        support.wait_for_value(lambda: sandbox.read('transcript'))
        done = sandbox.run('-p ./hello -t transcript kill HUP')
        self.assertEqual(done.returncode, 0, done.stderr)
        # Restarted (a second hello), then stopped:
        support.wait_for_value(
            lambda: sandbox.read('transcript').count('hello') == 2)
        done = sandbox.run('-p ./hello -t transcript stop')
        self.assertRegex(done.stdout, support.STOPPED)
        self.assertEqual(sandbox.read('transcript'), 'hello\nhello\n')

    def test_wait_returns_when_the_program_exits(self):
        sandbox = Sandbox(self)
        sandbox.script('brief', '''
            import time
            time.sleep(2)
        ''')
        # It is started (idle, sleeping), then exits with status 0, which
        # ends the manager too.  wait prints a dot a second while it
        # waits: how many depends on when start returned.
        self.assertEqual(sandbox.run('-p ./brief start').returncode, 0)
        done = sandbox.run('-p ./brief wait')
        self.assertEqual(done.returncode, 3)
        self.assertRegex(done.stdout,
                         r'\A((\. )+\n)?daemon manager not running\n\Z')

    def test_warns_about_a_different_program(self):
        sandbox = Sandbox(self)
        self.assertEqual(sandbox.run('-p "sleep 100" start').returncode, 0)
        self.addCleanup(sandbox.run, '-p "sleep 100" stop')
        done = sandbox.run('-p "sleep 99" status')
        self.assertEqual(done.stdout.splitlines()[:3], [
            'WARNING! zdrun is managing a different program!',
            "our program   = ['sleep', '99']",
            "daemon's args = ['sleep', '100']"])

    def test_start_arguments_are_added_to_the_program(self):
        sandbox = Sandbox(self)
        done = sandbox.run('-p sleep start 100')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.addCleanup(sandbox.run, '-p sleep stop')
        self.assertEqual(sandbox.status()['args'], ['sleep', '100'])

    def test_restart_without_a_program_starts_it(self):
        sandbox = Sandbox(self)
        done = sandbox.run('-p "sleep 100" restart')
        self.addCleanup(sandbox.run, '-p "sleep 100" stop')
        self.assertRegex(done.stdout, support.STARTED)

    def test_help_and_show(self):
        sandbox = Sandbox(self)
        done = sandbox.run('-p "sleep 1" help')
        for action in ('start', 'stop', 'restart', 'status', 'kill', 'wait',
                       'logreopen', 'reopen_transcript', 'logtail', 'fg',
                       'foreground', 'show', 'help'):
            self.assertIn(action, done.stdout.split())
        done = sandbox.run('-p "sleep 1" -b 3 show')
        self.assertIn('backofflimit: 3', done.stdout.splitlines())
        self.assertIn('start-window: 1', done.stdout.splitlines())
        done = sandbox.run('-p "sleep 1" show python')
        self.assertIn(f'Executable: {sys.executable}',
                      done.stdout.splitlines())
        done = sandbox.run('-h')
        self.assertTrue(done.stdout.startswith('zdaemon -- run a program'))
        self.assertIn('Usage: python -m zdaemon [options] action'
                      ' [arguments]', done.stdout)


class ManagerCommandTests(unittest.TestCase):
    """How zdaemon start runs the manager (no processes started)."""

    def command(self, args):
        options = zdctl.ZDCtlOptions()
        options.realize(args + ['start'], progname='zdaemon')
        cmd = zdctl.ZDCmd.__new__(zdctl.ZDCmd)
        cmd.options = options
        with unittest.mock.patch.object(sys, 'argv', ['-c']):
            return cmd.manager_command(['extra'])

    def test_defaults_are_not_repeated(self):
        schema = os.path.join(os.path.dirname(zdctl.__file__), 'schema.xml')
        self.assertEqual(
            self.command(['-p', 'sleep 100']),
            [sys.executable, '-m', 'zdaemon', '-S', schema,
             'sleep', '100', 'extra'])

    def test_command_line_options_are_passed_on(self):
        command = self.command([
            '-p', 'sleep 100', '-b', '3', '-f', '-s', 'run/sock', '-x',
            '1,2', '-m', '077', '-t', 'out', '-z', '/tmp',
            '--stop-timeout', '5'])
        self.assertEqual(command[5:-3], [
            '-b', '3', '-f', '-s', 'run/sock', '-t', 'out', '-m', '77',
            '-x', '1,2', '-z', '/tmp', '--stop-timeout', '5'])

    def test_only_what_differs_from_the_configuration(self):
        command = self.command(['-C', SAMPLE_CONF, '-b', '10', '-b', '10',
                                '-T', '5', '--stop-timeout', '7'])
        self.assertEqual(command[3:], [
            '-S', os.path.join(os.path.dirname(zdctl.__file__),
                               'schema.xml'),
            '-C', SAMPLE_CONF, '--stop-timeout', '7', 'runzeo', '-a',
            '127.0.0.1:8100', '-f', 'Data.fs', 'extra'])

    def test_a_script_runs_itself_as_the_manager(self):
        options = zdctl.ZDCtlOptions()
        options.realize(['-p', 'sleep 1', 'start'], progname='zdaemon')
        cmd = zdctl.ZDCmd.__new__(zdctl.ZDCmd)
        cmd.options = options
        with unittest.mock.patch.object(sys, 'argv', [__file__]):
            self.assertEqual(cmd.manager_command()[:2],
                             [sys.executable, __file__])
        work = Workspace(self)
        zdrun_script = work.write('zdrun', '')
        options.zdrun = zdrun_script
        self.assertEqual(cmd.manager_command()[:2],
                         [sys.executable, zdrun_script])


class ClientTests(unittest.TestCase):

    def test_the_client_does_not_load_the_manager(self):
        done = subprocess.run(
            [sys.executable, '-c', 'import sys, zdaemon.zdctl;'
             ' print(sorted(m for m in sys.modules'
             ' if m.startswith("zdaemon.")))'],
            env=support.python_env(), capture_output=True, text=True,
            timeout=support.COMMAND_TIMEOUT)
        self.assertEqual(done.stdout.strip(),
                         "['zdaemon._control', 'zdaemon.zdctl',"
                         " 'zdaemon.zdoptions']", done.stderr)


class TailHelperTests(unittest.TestCase):

    def test_tail(self):
        work = Workspace(self)
        path = work.write('log', ''.join(f'line {i}\n' for i in range(500)))
        with zdctl.TailHelper(path) as helper:
            self.assertEqual(helper.tail(3), ['line 497\n', 'line 498\n',
                                              'line 499\n'])
            self.assertEqual(helper.fsize(), os.path.getsize(path))
        with zdctl.TailHelper(work.write('empty', '')) as helper:
            self.assertEqual(helper.tail(5), [])
        with zdctl.TailHelper(work.write('short', 'a\nb')) as helper:
            self.assertEqual(helper.tail(), ['a\n', 'b'])

    def test_tailf_follows_and_notices_truncation(self):
        work = Workspace(self)
        path = work.write('log', 'old\n')
        helper = zdctl.TailHelper(path)
        self.addCleanup(helper.close)
        out = io.StringIO()
        sleeps = []

        def sleep(seconds):
            # What happens to the file between two looks at it.
            sleeps.append(seconds)
            if len(sleeps) == 1:
                with open(path, 'a') as f:
                    f.write('new\n')
            elif len(sleeps) == 2:
                with open(path, 'w') as f:
                    f.write('x\n')
            else:
                raise KeyboardInterrupt
        with unittest.mock.patch('sys.stdout', out), \
                unittest.mock.patch('time.sleep', sleep), \
                self.assertRaises(KeyboardInterrupt):
            helper.tailf()
        self.assertEqual(out.getvalue(),
                         'old\nnew\n==> File truncated <==\nx\n')
