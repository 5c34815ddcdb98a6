"""zdaemon -- run a program as a daemon, restart it when it dies, and
control it.

Usage: %s [options] action [arguments]

Options:
-C/--configure URL -- configuration file or URL
-X key=value -- override a configuration value (repeatable; needs -C)
-S/--schema XML -- schema of the configuration (default: zdaemon's)
-p/--program PROGRAM -- the program and its arguments (split on whitespace)
-b/--backoff-limit SECONDS -- a program that dies sooner than this after its
                              start is restarted after a growing delay, and
                              given up at this limit (default 10)
-d/--daemon -- detach the manager (the default)
-f/--forever -- never give up restarting
-s/--socket-name SOCKET -- the manager's control socket (default zdsock)
-x/--exit-codes LIST -- exit statuses meaning "do not restart" (default 0,2)
-u/--user USER -- run as this user (name or uid; needs root)
-m/--umask UMASK -- umask of the manager and program (default 022)
-z/--directory DIRECTORY -- their working directory (created if missing)
-t/--transcript FILE -- receives the program's output (default /dev/null)
-l/--logfile FILE -- the file logtail shows by default
-T/--start-timeout SECONDS -- how long start waits (default 300)
--start-window SECONDS -- without a start test, a program counts as
                          started once it has run this long (default 1),
                          or sooner once it is idle: asleep, running no
                          command, using no CPU for 20 ms (one that
                          sleeps, then dies, is reported as started)
--stop-timeout SECONDS -- SIGKILL a program this long after the SIGTERM of a
                          stop (default 300)
-h/--help -- print this usage message and exit
--version -- print the version and exit

Actions:
start [ARGS] -- start the program (ARGS are added to its arguments)
stop -- stop the program and its manager
restart -- stop and start the program
status [-l | --json] -- is it running? (exit status 3 when not managed)
kill [SIGNAL] -- send a signal to the program (default SIGTERM)
wait -- wait for the program to exit
logreopen -- reopen the transcript, and send the program SIGUSR2
reopen_transcript -- reopen the transcript (after log rotation)
logtail [FILE] -- follow the end of a log file (default: -l)
fg/foreground [ARGS] -- run the program in the foreground
show [options | python | all] -- show the settings
help [ACTION] -- describe an action
"""
import cmd
import os
import select
import signal
import sys
import time

from zdaemon import _control
from zdaemon.zdoptions import RunnerOptions
from zdaemon.zdoptions import name2signal
from zdaemon.zdoptions import positive_seconds
from zdaemon.zdoptions import signame

#: How often start, stop and restart ask the manager how things are.
POLL_INTERVAL = 0.005

#: stop waits this long beyond the stop timeout for the manager to end.
STOP_GRACE = 10

_HERE = os.path.dirname(os.path.abspath(__file__))


def string_list(arg):
    """A command line split on whitespace (there is no quoting)."""
    return arg.split()


class ZDCtlOptions(RunnerOptions):

    __doc__ = __doc__
    positional_args_allowed = 1

    def __init__(self):
        RunnerOptions.__init__(self)
        self.add('schemafile', None, 'S:', 'schema=', default='schema.xml')
        self.add('program', 'runner.program', 'p:', 'program=',
                 handler=string_list,
                 required='no program specified; use -p or -C')
        self.add('logfile', 'runner.logfile', 'l:', 'logfile=')
        self.add('start_timeout', 'runner.start_timeout',
                 'T:', 'start-timeout=', positive_seconds, default=300)
        self.add('start_window', 'runner.start_window',
                 None, 'start-window=', positive_seconds, default=1)
        self.add('python', 'runner.python')
        self.add('zdrun', 'runner.zdrun')
        programname = os.path.basename(sys.argv[0])
        base, ext = os.path.splitext(programname)
        if ext == '.py':
            programname = base
        self.add('prompt', 'runner.prompt', default=programname + '>')

    def realize(self, *args, **kw):
        RunnerOptions.realize(self, *args, **kw)
        if not self.args:
            self.usage('an action argument is required')
        if self.python is None:
            self.python = sys.executable


class ZDCmd(cmd.Cmd):
    """The actions of the zdaemon command line (``do_<action>``)."""

    zd_up = 0           # a manager answers on the socket
    zd_pid = 0          # the program's pid, 0 if not running
    zd_should_be_up = 0
    zd_status = None    # the manager's status, a dict
    zd_testing = 0      # its start test has not passed yet
    _idle_watch = None  # of the program start waits for

    def __init__(self, options):
        cmd.Cmd.__init__(self)
        self.options = options
        self.prompt = options.prompt + ' '
        self.get_status()
        if self.zd_up:
            self._check_program()
        mapping = getattr(getattr(options.configroot, 'environment', None),
                          'mapping', None)
        if mapping:
            os.environ.update(mapping)
        self._resolve_user()
        if options.directory:
            self.create_directory(options.directory)
        self.create_directory(os.path.dirname(options.sockname))
        self.set_uid()

    def _check_program(self):
        args = self.zd_status.get('args')
        program = self.options.program
        if isinstance(args, list) and args[:len(program)] != program:
            print('WARNING! zdrun is managing a different program!')
            print(f'our program   = {program!r}')
            print(f"daemon's args = {args!r}")

    # Helpers

    def send_action(self, action):
        """Send ``action`` to the manager: its reply, or None."""
        return _control.send_command(self.options.sockname, action)

    def get_status(self):
        reply = self.send_action('status')
        status = _control.parse_status(reply) if reply else {}
        # A manager always has a status; a connection closed without one
        # belongs to a manager on its way out.
        self.zd_up = 1 if status else 0
        self.zd_status = status
        self.zd_status_reply = reply if status else ''   # for status -l
        self.zd_pid = status.get('application', 0)
        self.zd_should_be_up = status.get('should_be_up', 0)
        self.zd_testing = status.get('testing', 0)
        return status

    def awhile(self, cond, msg=None, timeout=None, launch=None,
               newline=False):
        """Ask the manager for its status until ``cond()`` holds: True
        (after printing ``msg % self.__dict__``), False when the manager
        is gone, None after ``timeout`` seconds.  Prints a dot a second
        while it waits, then (if ``newline``, as start, stop and restart
        do for the scripts that read their output) a newline.  What a
        manager being launched reports meanwhile goes to stderr."""
        start = time.monotonic()
        dots = 0
        try:
            while True:
                self.get_status()
                if launch is not None:
                    self._show_notes(launch, dots)
                if cond():
                    result = True
                    break
                if not self.zd_up and (launch is None or launch.ended()):
                    result = False
                    break
                waited = time.monotonic() - start
                if timeout is not None and waited >= timeout:
                    result = None
                    break
                if int(waited) > dots:
                    dots = int(waited)
                    print('. ', end='', flush=True)
                if launch is not None:
                    launch.wait(POLL_INTERVAL)
                else:
                    time.sleep(POLL_INTERVAL)
        finally:
            if dots or newline:
                print(flush=True)
        if result and msg:
            print(msg % self.__dict__)
        return result

    def _show_notes(self, launch, dots):
        notes = launch.notes()
        if notes and dots and sys.stdout.isatty() and sys.stderr.isatty():
            print(flush=True)   # not after the dots on the same line
        for note in notes:
            print(note, file=sys.stderr, flush=True)

    def _start_cond(self, old_pid=None):
        """The program runs (a new one after a restart) and is past its
        start: its start test passed, or, without a start test, it has
        run for ``start_window`` seconds (one that dies sooner, while it
        starts up, is not reported as started) or is idle already, waiting
        for work (see ``zdaemon._readiness``)."""
        status = self.zd_status
        if not self.zd_pid or self.zd_pid == old_pid or self.zd_testing:
            return False
        if self._start_test_program():
            return True
        if (status['now'] - status['lasttime']
                >= self.options.start_window):
            return True
        if self._idle_watch is None or self._idle_watch.pid != self.zd_pid:
            # Only here: the other actions do without it.
            from zdaemon._readiness import IdleWatch
            self._idle_watch = IdleWatch(self.zd_pid, status.get('manager'))
        return self._idle_watch.idle()

    def _start_test_program(self):
        runner = getattr(self.options.configroot, 'runner', None)
        return getattr(runner, 'start_test_program', None)

    def _get_override(self, opt, name, svalue=None, flag=0):
        """The manager's command line arguments for option ``name``: none
        when the manager would get the same value from the configuration
        file (or the default)."""
        value = getattr(self.options, name)
        if value is None:
            return []
        if self.options.configroot is not None:
            baseline = self._configured(name)
        else:
            baseline = self.options.default_map.get(name)
        if value == baseline:
            return []
        if flag:
            return [opt] if value else []
        return [opt, str(value) if svalue is None else svalue]

    def _configured(self, name):
        confname = dict(self.options.names_list).get(name)
        value = self.options.configroot
        for part in (confname or '').split('.'):
            value = getattr(value, part, None)
        return value

    def manager_command(self, extra_args=()):
        """The command line that starts the manager."""
        options = self.options
        if options.zdrun:
            command = [options.python, options.zdrun]
        elif os.path.isfile(sys.argv[0]):
            # Ourselves (bin/zdaemon, or ZEO's zeoctl...): main() turns
            # into the manager in DAEMON_MANAGER_MODE.
            command = [options.python, sys.argv[0]]
        else:
            command = [options.python, '-m', 'zdaemon']
        command += ['-S', os.path.join(options.schemadir or _HERE,
                                       options.schemafile)]
        if options.configfile:
            command += ['-C', options.configfile]
        command += self._get_override('-b', 'backofflimit')
        command += self._get_override('-f', 'forever', flag=1)
        command += self._get_override('-s', 'sockname')
        command += self._get_override('-u', 'user')
        command += self._get_override('-t', 'transcript')
        command += self._get_override('-m', 'umask', f'{options.umask:o}')
        command += self._get_override(
            '-x', 'exitcodes', ','.join(map(str, options.exitcodes)))
        command += self._get_override('-z', 'directory')
        command += self._get_override('--stop-timeout', 'stoptimeut')
        return command + list(options.program) + list(extra_args)

    def _launch_manager(self, extra_args):
        command = self.manager_command(extra_args)
        env = dict(os.environ, DAEMON_MANAGER_MODE='1')
        sys.stdout.flush()
        sys.stderr.flush()
        if not self.options.daemon:
            # A foreground supervisor: become the manager, so that
            # signals (from a terminal, an init system) reach it.
            os.execve(command[0], command, env)
        return _Launch(command, env)

    def create_directory(self, path):
        """Make ``path`` if missing; owned by the -u user when root."""
        if not path or os.path.isdir(path):
            return
        try:
            os.makedirs(path)
        except OSError as error:
            self.options.usage(f'cannot create directory {path}: {error}')
        if os.geteuid() == 0 and self.options.uid is not None:
            os.chown(path, self.options.uid, self.options.gid)

    def _resolve_user(self):
        """Set options.uid/gid from options.user (a name or a uid)."""
        user = self.options.user
        if user is None:
            return
        import pwd
        try:
            entry = (pwd.getpwuid(int(user)) if str(user).isdigit()
                     else pwd.getpwnam(user))
        except KeyError:
            self.options.usage(f'no such user {user!r}')
        self.options.uid = entry.pw_uid
        self.options.gid = entry.pw_gid
        self._user_name = entry.pw_name

    def set_uid(self):
        """Become the -u user (zdaemon, the manager and the program)."""
        if self.options.uid is None:
            return
        if os.geteuid() != 0:
            if os.geteuid() == self.options.uid:
                return
            self.options.usage('only root can use -u USER to change users')
        os.setgid(self.options.gid)
        os.initgroups(self._user_name, self.options.gid)
        os.setuid(self.options.uid)

    def _transcript_tail(self, lines=10):
        transcript = self.options.transcript
        if not transcript or os.path.realpath(transcript) == os.devnull:
            return []
        try:
            with TailHelper(transcript) as helper:
                return [line.rstrip('\n') for line in helper.tail(lines)]
        except OSError:
            return []

    # Actions

    def do_start(self, arg):
        self.get_status()
        launch = None
        if not self.zd_up:
            launch = self._launch_manager(arg.split())
        elif not self.zd_pid:
            self.send_action('start')
        else:
            print(f'daemon process already running; pid={self.zd_pid}')
            return 0
        return self._await_start(launch, None,
                                 'daemon process started, pid=%(zd_pid)d')

    def _await_start(self, launch, old_pid, msg):
        """Wait for the program to be started; on failure the original's
        line on stdout (scripts read it), why and the end of the
        transcript on stderr."""
        result = self.awhile(lambda: self._start_cond(old_pid), msg,
                             timeout=self.options.start_timeout,
                             launch=launch, newline=True)
        if result:
            return 0
        if result is None:
            print('Program took too long to start', flush=True)
        else:
            print('daemon manager not running', flush=True)
            if launch is not None and launch.report:
                print(launch.report, file=sys.stderr)
        tail = self._transcript_tail()
        if tail:
            print(f'The end of {self.options.transcript}:', file=sys.stderr)
            for line in tail:
                print(f'    {line}', file=sys.stderr)
        return 1

    def help_start(self):
        print('start [ARGS] -- Start the program (adding ARGS to its'
              ' arguments), and\n'
              '        wait until it has run for a second (--start-window),'
              ' is idle, or\n'
              '        passed its start test.\n'
              '        If it is already running, do nothing.')

    def do_stop(self, arg):
        self.get_status()
        if not self.zd_up:
            print('daemon manager not running')
            return 0
        was_running = self.zd_pid
        self.send_action('stop')
        gone = self.awhile(lambda: not self.zd_up, newline=True,
                           timeout=self.options.stoptimeut + STOP_GRACE)
        if gone is None:
            print('daemon process did not stop', file=sys.stderr)
            return 1
        print('daemon process stopped' if was_running
              else 'daemon process not running')
        return 0

    def help_stop(self):
        print('stop -- Stop the program (SIGTERM, then SIGKILL after the'
              ' stop timeout)\n'
              '        and its manager.')

    def do_restart(self, arg):
        self.get_status()
        if not self.zd_pid:
            return self.do_start(arg)
        old_pid = self.zd_pid
        self.send_action('restart')
        return self._await_start(None, old_pid,
                                 'daemon process restarted, pid=%(zd_pid)d')

    def help_restart(self):
        print('restart -- Stop the program and start it again (start if'
              ' it is not running).')

    def do_status(self, arg):
        args = arg.split()
        if args not in ([], ['-l'], ['--json']):
            print('status argument must be absent, -l or --json')
            return 1
        self.get_status()
        if args == ['--json']:
            import json
            print(json.dumps(self._status_json(), sort_keys=True))
        elif not self.zd_up:
            print('daemon manager not running')
        elif not self.zd_pid:
            print('daemon manager running; daemon process not running')
        else:
            print(f'program running; pid={self.zd_pid}')
        if args == ['-l'] and self.zd_up:
            # The manager's reply as it is, and an empty line, as zdaemon 5.
            print(self.zd_status_reply)
        return 0 if self.zd_up else 3

    def _status_json(self):
        status = self.zd_status
        return {
            'manager_running': bool(self.zd_up),
            'manager_pid': status.get('manager'),
            'program_running': bool(self.zd_pid),
            'pid': self.zd_pid or None,
            'should_be_up': bool(self.zd_should_be_up),
            'testing': bool(self.zd_testing),
            'backoff': status.get('backoff'),
            'backoff_limit': status.get('backofflimit'),
            'started_at': status.get('lasttime') or None,
            'restart_at': status.get('delay') or None,
            'filename': status.get('filename'),
            'args': status.get('args'),
        }

    def help_status(self):
        print('status [-l | --json] -- Report whether the program runs.'
              '  -l adds the\n'
              '        manager\'s raw status, --json prints it all as a'
              ' JSON object.\n'
              '        Exit status 3 when no manager runs.')

    def do_kill(self, arg):
        # The original's lines and exit status 0, also for a bad signal
        # or no program: scripts read them.
        name = arg.strip()
        try:
            sig = name2signal(name) if name else signal.SIGTERM
        except ValueError:
            print(f'invalid signal {name!r}')
            return 0
        self.get_status()
        if not self.zd_pid:
            print('daemon process not running')
            return 0
        print(f'kill({self.zd_pid}, {int(sig)})', flush=True)
        reply = self.send_action(f'kill {int(sig)}') or ''
        if not reply.startswith('Signal'):
            print(reply.strip() or 'daemon manager not running',
                  file=sys.stderr)
            return 1
        print(f'signal {signame(sig)} sent to process {self.zd_pid}')
        return 0

    def help_kill(self):
        print('kill [SIGNAL] -- Send a signal (a name or number; default'
              ' SIGTERM) to\n'
              '        the program.  The manager restarts it if it dies.')

    def do_wait(self, arg):
        self.awhile(lambda: not self.zd_pid)
        return self.do_status('')

    def help_wait(self):
        print('wait -- Wait for the program to exit.')

    def do_reopen_transcript(self, arg):
        if self.send_action('reopen_transcript') is None:
            print('daemon manager not running', file=sys.stderr)
            return 1
        return 0

    def help_reopen_transcript(self):
        print('reopen_transcript -- Reopen the transcript (and the'
              ' manager\'s log files),\n'
              '        after they were rotated.')

    def do_logreopen(self, arg):
        status = self.do_reopen_transcript('')
        return status or self.do_kill('USR2')

    def help_logreopen(self):
        print('logreopen -- Reopen the transcript and send the program'
              ' SIGUSR2\n'
              '        (ZEO reopens its logs on SIGUSR2).')

    def do_logtail(self, arg):
        filename = arg.strip() or self.options.logfile
        if not filename:
            print('no log file; use logtail FILE, -l or the logfile key',
                  file=sys.stderr)
            return 2
        try:
            with TailHelper(filename) as helper:
                helper.tailf()
        except KeyboardInterrupt:
            print()
        except OSError as error:
            print(f'cannot read {filename}: {error.strerror}',
                  file=sys.stderr)
            return 1
        return 0

    def help_logtail(self):
        print('logtail [FILE] -- Show the end of a log file and follow it'
              ' (Ctrl-C ends).\n'
              '        The default file is -l / logfile.')

    def do_foreground(self, arg):
        self.get_status()
        if self.zd_pid:
            print('To run the program in the foreground, please stop the'
                  ' daemon first.', file=sys.stderr)
            return 1
        program = list(self.options.program) + arg.split()
        print(' '.join(program), flush=True)
        import subprocess
        try:
            process = subprocess.Popen(program)
        except OSError as error:
            print(f'cannot run {program[0]}: {error.strerror}',
                  file=sys.stderr)
            return 127
        # A terminal's Ctrl-C reaches the program too: let it decide, and
        # report how it ended.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            returncode = process.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
        return returncode if returncode >= 0 else 128 - returncode

    do_fg = do_foreground

    def help_foreground(self):
        print('foreground/fg [ARGS] -- Run the program in the foreground'
              ' (adding ARGS);\n'
              '        zdaemon exits with its exit status.')

    help_fg = help_foreground

    def do_show(self, arg):
        what = arg.split() or ['options']
        if not set(what) <= {'options', 'python', 'all'}:
            print('show what? options, python or all', file=sys.stderr)
            return 2
        if 'options' in what or 'all' in what:
            self.show_options()
        if 'python' in what or 'all' in what:
            self.show_python()
        return 0

    def show_options(self):
        options = self.options
        print('zdctl/zdrun options:')
        print(f'schemafile:  {options.schemafile!r}')
        print(f'configfile:  {options.configfile!r}')
        print(f'zdrun:       {options.zdrun!r}')
        print(f'python:      {options.python!r}')
        print(f'program:     {options.program!r}')
        print(f'backofflimit: {options.backofflimit!r}')
        print(f'daemon:      {options.daemon!r}')
        print(f'forever:     {options.forever!r}')
        print(f'sockname:    {options.sockname!r}')
        print(f'exitcodes:   {options.exitcodes!r}')
        print(f'user:        {options.user!r}')
        print(f'umask:       {oct(options.umask)}')
        print(f'directory:   {options.directory!r}')
        print(f'logfile:     {options.logfile!r}')
        print(f'transcript:  {options.transcript!r}')
        print(f'start-timeout: {options.start_timeout!r}')
        print(f'start-window: {options.start_window!r}')
        print(f'stop-timeout: {options.stoptimeut!r}')

    def show_python(self):
        print('Python info:')
        print('Version:', sys.version.replace('\n', ' '))
        print('Executable:', sys.executable)
        print('Arguments:', sys.argv)
        print('Directory:', os.getcwd())
        print('Path:')
        for entry in sys.path:
            print('   ', entry)

    def show_all(self):
        self.show_options()
        self.show_python()

    def help_show(self):
        print('show [options | python | all] -- Show the settings, or'
              ' facts about Python.')

    def help_help(self):
        print('help [ACTION] -- List the actions, or describe one.')

    def default(self, line):
        print(f'*** Unknown action: {line.split()[0]!r}'
              " (use 'help' for a list)", file=sys.stderr)
        return 2


class _Launch:
    """A manager being started by zdaemon start.

    The manager keeps the write end of a pipe until it exits, after
    writing why it exits (when the reason is the program), so start learns
    at once that it is gone and why.
    """

    def __init__(self, command, env):
        import subprocess   # only here: it slows every other action down
        self._read_fd, write_fd = os.pipe()
        env = dict(env, **{_control.START_REPORT_FD: str(write_fd)})
        try:
            self.process = subprocess.Popen(command, env=env,
                                            pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
        os.set_blocking(self._read_fd, False)
        self._data = b''
        self._shown = 0     # lines of _data that notes() returned
        self._ended = False

    def wait(self, timeout):
        """Sleep up to ``timeout`` seconds, less if the manager exits."""
        if not self._ended:
            select.select([self._read_fd], [], [], timeout)
            self._read()

    def _read(self):
        try:
            while True:
                data = os.read(self._read_fd, 4096)
                if not data:
                    self._ended = True
                    os.close(self._read_fd)
                    break
                self._data += data
        except BlockingIOError:
            pass

    def ended(self):
        """Whether the manager has exited (or never started)."""
        if not self._ended:
            self._read()
        return self._ended

    def notes(self):
        """What happened to the program (an exit, a restart) since the
        last call."""
        lines = _control.read_report(self._data)
        new, self._shown = lines[self._shown:], len(lines)
        return [text for kind, text in new if kind == 'note']

    @property
    def report(self):
        """Why the manager exited, if because of the program; or the
        failure of its start."""
        for kind, text in _control.read_report(self._data):
            if kind == 'exit':
                return text
        import subprocess
        try:
            # It closed the pipe by exiting: the status is (nearly) there.
            returncode = self.process.wait(timeout=5 if self._ended else 0)
        except subprocess.TimeoutExpired:
            returncode = None
        if returncode:
            return f'the manager failed to start (exit status {returncode})'
        return ''


class TailHelper:
    """The end of a (growing) file, like ``tail`` and ``tail -f``."""

    MAX_BUFFSIZE = 1024

    def __init__(self, fname):
        self.f = open(fname, 'rb')

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def tailf(self, interval=1.0):
        """Print the last lines, then new ones as they come (until
        interrupted); say so when the file shrank."""
        sys.stdout.writelines(self.tail(10))
        sys.stdout.flush()
        while True:
            time.sleep(interval)
            if self.fsize() < self.f.tell():
                sys.stdout.write('==> File truncated <==\n')
                self.f.seek(0)
            data = self.f.read()
            if data:
                sys.stdout.write(data.decode(errors='replace'))
                sys.stdout.flush()

    def tail(self, max=10):
        """The last ``max`` lines (with their line ends); reading goes on
        from the end of the file."""
        self.f.seek(0, os.SEEK_END)
        size = self.f.tell()
        data = b''
        position = size
        while position > 0 and data.count(b'\n') <= max:
            step = min(self.MAX_BUFFSIZE, position)
            position -= step
            self.f.seek(position)
            data = self.f.read(step) + data
        self.f.seek(size)
        lines = data.decode(errors='replace').splitlines(keepends=True)
        return lines[-max:] if max > 0 else []

    def fsize(self):
        return os.fstat(self.f.fileno()).st_size


def main(args=None, options=None, cmdclass=ZDCmd):
    """The zdaemon command line; in DAEMON_MANAGER_MODE (set by start for
    the process it starts) the daemon manager instead."""
    if os.environ.get('DAEMON_MANAGER_MODE'):
        del os.environ['DAEMON_MANAGER_MODE']
        from zdaemon import zdrun   # only here: the client does not need it
        zdrun.main(args)
        return
    if options is None:
        options = ZDCtlOptions()
    options.realize(args)
    try:
        status = cmdclass(options).onecmd(' '.join(options.args))
    except KeyboardInterrupt:
        print()
        status = 130
    sys.exit(status)


if __name__ == '__main__':
    main()
