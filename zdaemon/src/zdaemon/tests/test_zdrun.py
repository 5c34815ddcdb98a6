"""The daemon manager: control socket, restart policy, exit codes, start
tests, transcript, foreground supervision."""
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest
import unittest.mock

from zope.testing.wait import wait

from zdaemon import _control
from zdaemon import zdrun
from zdaemon.tests import support
from zdaemon.tests.support import Sandbox

# Records the signals it gets; exits on SIGTERM and SIGINT.
RECORDER = '''
    import os, signal, sys, time
    def record(sig, frame):
        with open('signals', 'a') as f:
            f.write(signal.Signals(sig).name + '\\n')
        if sig != signal.SIGHUP:
            sys.exit(0)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, record)
    with open('ready', 'a') as f:
        f.write(str(os.getpid()) + '\\n')
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.05)
'''


def raw(sockname, data, shutdown=True):
    """Send raw bytes on the control socket; return the reply."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    try:
        sock.connect(sockname)
        sock.sendall(data)
        if shutdown:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return b''.join(chunks).decode()
            chunks.append(chunk)
    finally:
        sock.close()


class ManagerTests(unittest.TestCase):

    layer = support.Processes

    def start(self, sandbox, args):
        done = sandbox.run(args + ' start')
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.addCleanup(sandbox.run, args + ' stop')
        return sandbox.status()

    def test_status_reply(self):
        sandbox = Sandbox(self)
        status = self.start(sandbox, '-p "sleep 100"')
        reply = _control.send_command(sandbox.join('zdsock'), 'status')
        self.assertEqual(
            [line.split('=')[0] for line in reply.splitlines()],
            ['status', 'now', 'should_be_up', 'delay', 'backoff',
             'lasttime', 'application', 'testing', 'manager',
             'backofflimit', 'filename', 'args'])
        self.assertEqual(
            {key: status[key] for key in
             ('status', 'should_be_up', 'delay', 'backoff', 'testing',
              'backofflimit', 'args')},
            {'status': 'running', 'should_be_up': 1, 'delay': 0,
             'backoff': 0, 'testing': 0, 'backofflimit': 10,
             'args': ['sleep', '100']})
        self.assertTrue(os.path.isabs(status['filename']))
        self.assertTrue(support.process_exists(status['application']))
        self.assertLessEqual(status['lasttime'], status['now'])

    def test_protocol_errors(self):
        sandbox = Sandbox(self)
        self.start(sandbox, '-p "sleep 100"')
        sock = sandbox.join('zdsock')
        self.assertEqual(raw(sock, b'\n'), 'Empty command\n')
        self.assertEqual(raw(sock, b'frobnicate now\n'),
                         "Unknown command 'frobnicate'; 'help' for a list\n")
        self.assertEqual(raw(sock, b'status'),
                         'Command not terminated by newline\n')
        self.assertEqual(raw(sock, b'x' * 10001, shutdown=False),
                         'Command exceeds 10 KB\n')
        self.assertEqual(raw(sock, b'kill x\n'), "Bad signal 'x'\n")
        self.assertEqual(raw(sock, b'kill 0\n'), 'Bad signal 0\n')
        self.assertEqual(
            raw(sock, b'help\n'),
            'Commands: help kill reopen_transcript restart start status'
            ' stop\n')

    def test_a_new_connection_supersedes_a_pending_one(self):
        sandbox = Sandbox(self)
        self.start(sandbox, '-p "sleep 100"')
        pending = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        pending.settimeout(10)
        pending.connect(sandbox.join('zdsock'))
        pending.sendall(b'sta')
        wait(lambda: sandbox.status(), timeout=support.WAIT_TIMEOUT)
        self.assertEqual(pending.recv(100),
                         b'Command superseded by new command\n')
        pending.close()

    def test_second_manager_on_the_same_socket_is_refused(self):
        sandbox = Sandbox(self)
        first = self.start(sandbox, '-p "sleep 100"')
        second = subprocess.run(
            [sys.executable, '-m', 'zdaemon.zdrun', 'sleep', '100'],
            cwd=sandbox.path, env=support.python_env(), capture_output=True,
            text=True, timeout=support.COMMAND_TIMEOUT)
        self.assertEqual(second.returncode, 1)
        self.assertEqual(second.stderr,
                         f"Another zdrun is already up using socket"
                         f" {sandbox.join('zdsock')!r}\n")
        self.assertEqual(sandbox.status()['manager'], first['manager'])

    def test_stale_socket_is_taken_over(self):
        sandbox = Sandbox(self)
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(sandbox.join('zdsock'))
        stale.close()   # the file stays; nobody listens
        done = sandbox.run('-p "sleep 100" start')
        self.addCleanup(sandbox.run, '-p "sleep 100" stop')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr,
                         f'unlinking stale socket {sandbox.join("zdsock")}\n')
        self.assertTrue(sandbox.status()['application'])

    def test_exit_code_stops_the_manager_with_that_status(self):
        sandbox = Sandbox(self)
        sandbox.script('exit3', '''
            import sys
            print('about to exit 3', flush=True)
            sys.exit(3)
        ''')
        sandbox.write('log.conf', support.LOGGED_CONF)
        # A wide start window: on a busy machine the interpreter may take
        # more than the default second to start, and this is a test of a
        # program dying while it starts, not of start-up speed (start
        # returns as soon as the program has exited).
        done = sandbox.run('-C log.conf -p ./exit3 -x 1,3 -t transcript'
                           ' --start-window 30 start')
        # The original's lines on stdout; why, and the end of the
        # transcript, on stderr.
        self.assertEqual(done.returncode, 1)
        self.assertRegex(done.stdout, support.MANAGER_GONE)
        self.assertEqual(done.stderr.splitlines(), [
            'the program ended (exit status 3): an exit code meaning'
            ' "do not restart"',
            'The end of transcript:',
            '    about to exit 3'])
        self.assertIn('exit status 3; exiting now',
                      sandbox.read('manager.log'))
        # The transcript holds the program's output only.
        self.assertEqual(sandbox.read('transcript'), 'about to exit 3\n')

    def test_manager_gives_up_on_a_program_that_keeps_dying(self):
        sandbox = Sandbox(self)
        sandbox.write('log.conf', support.LOGGED_CONF)
        # -b 2: started twice (at 0 and 1 s), then the manager gives up.
        done = sandbox.run('-C log.conf -p false -b 2 -t transcript start')
        self.assertEqual(done.returncode, 1)
        self.assertRegex(done.stdout, support.MANAGER_GONE)
        # While start waits it says why, then why it failed.
        self.assertEqual(done.stderr.splitlines(), [
            'the program exited (exit status 1); restarting it in 1 s',
            'the program ended (exit status 1) too often, too soon: the'
            ' manager gave up'])
        log = sandbox.read('manager.log')
        self.assertEqual(log.count('spawned process'), 2)
        self.assertIn('restarting in 1 s', log)
        self.assertEqual(sandbox.read('transcript'), '')

    def test_long_lived_program_is_restarted_at_once(self):
        sandbox = Sandbox(self)
        status = self.start(sandbox, '-p "sleep 100" -b 1')
        time.sleep(1.1)     # longer than the back-off limit
        os.kill(status['application'], signal.SIGKILL)
        restarted = sandbox.wait_for_status(
            lambda s: s['application'] not in (0, status['application']))
        self.assertEqual(restarted['backoff'], 0)
        self.assertEqual(restarted['delay'], 0)

    def test_quick_death_is_restarted_after_a_delay(self):
        sandbox = Sandbox(self)
        status = self.start(sandbox, '-p "sleep 100"')
        os.kill(status['application'], signal.SIGKILL)
        waiting = sandbox.wait_for_status(lambda s: s['backoff'] == 1)
        self.assertEqual(waiting['application'], 0)
        self.assertGreater(waiting['delay'], waiting['now'])
        self.assertLessEqual(waiting['delay'], waiting['now'] + 1)
        # A start command does not wait for the delay.
        self.assertEqual(_control.send_command(sandbox.join('zdsock'),
                                               'start'),
                         'Application started\n')
        self.assertTrue(sandbox.status()['application'])

    def test_start_test_program(self):
        sandbox = Sandbox(self)
        sandbox.script('slow', '''
            import time
            time.sleep(0.5)
            open('up', 'w').close()
            time.sleep(100)
        ''')
        sandbox.script('check', '''
            import os, sys
            with open('tries', 'a') as f:
                f.write('try\\n')
            sys.exit(0 if os.path.exists('up') else 1)
        ''')
        sandbox.write('conf', f'''
            <runner>
              program ./slow
              start-test-program {sandbox.join('check')}
            </runner>
            ''')
        self.addCleanup(sandbox.run, '-C conf stop')
        with support.running(support.zdaemon_command('-C', 'conf', 'start'),
                             sandbox.path, stdout=subprocess.PIPE,
                             text=True) as launch:
            testing = sandbox.wait_for_status(lambda s: s['application'])
            self.assertEqual(testing['testing'], 1)
            out, _ = launch.communicate(timeout=support.COMMAND_TIMEOUT)
        self.assertEqual(launch.returncode, 0)
        self.assertRegex(out, support.STARTED)
        # start returned only once the test passed:
        self.assertTrue(os.path.exists(sandbox.join('up')))
        self.assertEqual(sandbox.status()['testing'], 0)
        self.assertGreater(sandbox.read('tries').count('try'), 1)

    def test_start_timeout(self):
        sandbox = Sandbox(self)
        sandbox.write('conf', '''
            <runner>
              program sleep 100
              start-test-program false
              start-timeout 1
            </runner>
            ''')
        self.addCleanup(sandbox.run, '-C conf stop')
        done = sandbox.run('-C conf start')
        self.assertEqual((done.returncode, done.stderr), (1, ''))
        self.assertRegex(done.stdout,
                         r'\A(\. )*\nProgram took too long to start\n\Z')
        self.assertEqual(sandbox.status()['testing'], 1)

    def test_program_environment(self):
        sandbox = Sandbox(self)
        sandbox.script('env', '''
            import json, os, time
            with open('env.tmp', 'w') as f:
                json.dump(dict(os.environ), f)
            os.rename('env.tmp', 'env.json')
            time.sleep(100)
        ''')
        self.start(sandbox, '-p ./env')
        env = json.loads(support.wait_for_value(
            lambda: sandbox.read('env.json')))
        # zdaemon's own variables do not reach the program, so that it
        # can use zdaemon itself.
        self.assertNotIn('DAEMON_MANAGER_MODE', env)
        self.assertNotIn('ZDAEMON_START_REPORT_FD', env)

    def test_program_gets_no_stray_file_descriptors(self):
        sandbox = Sandbox(self)
        sandbox.script('fds', '''
            import os, time
            fds = os.listdir('/proc/self/fd')
            with open('fds', 'w') as f:
                f.write(' '.join(sorted(fds)))
            time.sleep(100)
        ''')
        self.start(sandbox, '-p ./fds -t transcript')
        fds = support.wait_for_value(lambda: sandbox.read('fds'))
        # stdin, stdout, stderr and the listing of /proc/self/fd itself
        self.assertEqual(fds, '0 1 2 3')

    def test_transcript_reopen(self):
        sandbox = Sandbox(self)
        sandbox.script('talker', '''
            import signal, sys, time
            print('first', flush=True)
            signal.signal(signal.SIGUSR1,
                          lambda *a: print('second', flush=True))
            open('ready', 'w').close()
            time.sleep(100)
        ''')
        status = self.start(sandbox, '-p ./talker -t transcript')
        wait(lambda: os.path.exists(sandbox.join('ready')),
             timeout=support.WAIT_TIMEOUT)
        wait(lambda: 'first' in sandbox.read('transcript'),
             timeout=support.WAIT_TIMEOUT)
        os.rename(sandbox.join('transcript'), sandbox.join('transcript.1'))
        done = sandbox.run('-p ./talker -t transcript reopen_transcript')
        self.assertEqual(done.returncode, 0, done.stderr)
        os.kill(status['application'], signal.SIGUSR1)
        wait(lambda: 'second' in sandbox.read('transcript'),
             timeout=support.WAIT_TIMEOUT)
        self.assertNotIn('second', sandbox.read('transcript.1'))


class ForegroundTests(unittest.TestCase):
    """``daemon off``: the manager stays in the foreground and passes
    signals to the program."""

    layer = support.Processes

    def test_signals_are_passed_on(self):
        sandbox = Sandbox(self)
        sandbox.script('recorder', RECORDER)
        sandbox.write('conf', '''
            <runner>
              program ./recorder
              daemon off
            </runner>
            <eventlog>
              <logfile>
                path manager.log
              </logfile>
            </eventlog>
            ''')
        with support.running(support.zdaemon_command('-C', 'conf', 'start'),
                             sandbox.path, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) as manager:
            wait(lambda: sandbox.read('ready'), timeout=support.WAIT_TIMEOUT)
            # zdaemon start became the manager (signals reach it).
            self.assertEqual(sandbox.status()['manager'], manager.pid)
            program = sandbox.status()['application']
            manager.send_signal(signal.SIGHUP)
            wait(lambda: 'SIGHUP' in sandbox.read('signals'),
                 timeout=support.WAIT_TIMEOUT)
            # The program chose to live on through SIGHUP.
            self.assertEqual(sandbox.status()['application'], program)
            manager.send_signal(signal.SIGTERM)
            output, _ = manager.communicate(timeout=support.COMMAND_TIMEOUT)
        # It exits with the program's status (0: the recorder's choice).
        self.assertEqual(manager.returncode, 0, output)
        self.assertEqual(sandbox.read('signals'), 'SIGHUP\nSIGTERM\n')
        # The manager logs into its event log, not among the program's
        # output (the program wrote nothing).
        self.assertEqual(output, '')
        self.assertIn('received SIGTERM; passing it on',
                      sandbox.read('manager.log'))
        self.assertFalse(os.path.exists(sandbox.join('zdsock')))

    def test_exit_status_of_a_program_killed_by_a_signal(self):
        sandbox = Sandbox(self)
        sandbox.write('conf', '''
            <runner>
              program sleep 100
              daemon off
            </runner>
            ''')
        with support.running(support.zdaemon_command('-C', 'conf', 'start'),
                             sandbox.path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) as manager:
            sandbox.wait_for_status(lambda s: s['application'])
            manager.send_signal(signal.SIGINT)
            manager.wait(support.COMMAND_TIMEOUT)
        self.assertEqual(manager.returncode, 128 + signal.SIGINT)


class ForkSignalTests(unittest.TestCase):
    """A stop signal that reaches a new child before it has reset the
    manager's handlers is not lost: the program still gets it. (It was
    lost under load: a foreground manager passed SIGINT on to a child
    still between fork and exec, which ignored it and ran on.)"""

    def test_a_stop_signal_sent_between_fork_and_exec_stops_the_program(self):
        received = []
        previous = signal.signal(signal.SIGINT,
                                 lambda sig, frame: received.append(sig))
        try:
            pid = zdrun._fork()
            if pid == 0:
                # The child, at the worst moment: the signal arrives
                # before _exec has put the default handler back.
                os.kill(os.getpid(), signal.SIGINT)
                zdrun._exec(['sleep', '100'], None, None, False)
        finally:
            signal.signal(signal.SIGINT, previous)
        deadline = time.monotonic() + support.COMMAND_TIMEOUT
        while True:
            done, sts = os.waitpid(pid, os.WNOHANG)
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        if not done:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self.fail('the program did not get the SIGINT sent to it')
        self.assertTrue(os.WIFSIGNALED(sts))
        self.assertEqual(os.WTERMSIG(sts), signal.SIGINT)
        self.assertEqual(received, [])


class ForkFailureTests(unittest.TestCase):
    """A fork that fails (no processes left...) is retried a second later.
    (The original's retry raised AttributeError.)"""

    def test_failed_fork_is_retried(self):
        options = zdrun.ZDRunOptions()
        options.realize(['sleep', '1'], progname='zdrun')
        daemonizer = zdrun.Daemonizer()
        daemonizer.options = options
        daemonizer.proc = zdrun.Subprocess(options)
        daemonizer.should_be_up = True
        no_fork = unittest.mock.patch(
            'os.fork', side_effect=OSError(errno.EAGAIN, 'no processes'))
        with no_fork, self.assertLogs('zdaemon.zdrun', 'ERROR') as logs:
            daemonizer._spawn()
        self.assertEqual(logs.output, [
            "ERROR:zdaemon.zdrun:can't fork: [Errno 11] no processes"])
        self.assertEqual(daemonizer.proc.pid, 0)
        self.assertAlmostEqual(daemonizer.respawn_at, time.monotonic() + 1,
                               delta=0.5)
