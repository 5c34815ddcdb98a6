"""zdrun -- the daemon manager: runs a program, restarts it when it dies,
and obeys commands sent to its Unix control socket.

Usage: %s [options] program [program-arguments]

zdaemon starts the manager for you (zdaemon -p PROGRAM start); run it
directly only to supervise a program in the foreground yourself.

Options:
-C/--configure URL -- configuration file or URL
-X key=value -- override a configuration value (repeatable; needs -C)
-S/--schema XML -- the schema of the configuration (default schema.xml)
-b/--backoff-limit SECONDS -- restart quickly dying programs with a growing
                              delay; give up at this limit (default 10)
-d/--daemon -- detach into the background (the default)
-f/--forever -- never give up restarting
-s/--socket-name SOCKET -- the control socket (default zdsock)
-x/--exit-codes LIST -- exit statuses that stop the manager (default 0,2)
-u/--user USER -- accepted for zdaemon; the manager does not switch users
-m/--umask UMASK -- umask of the manager and program (default 022)
-z/--directory DIRECTORY -- working directory of the manager and program
-t/--transcript FILE -- where output goes when detached (default /dev/null)
--stop-timeout SECONDS -- SIGKILL a stopping program after this (default 300)
-h/--help -- print this usage message and exit
--version -- print the version and exit

Control socket commands (one line per connection): start, stop, restart,
kill [SIGNUM], status, reopen_transcript, help.
"""
import errno
import logging
import os
import selectors
import signal
import socket
import stat
import sys
import time

from zdaemon import _control
from zdaemon._backoff import Backoff
from zdaemon._control import MAX_COMMAND
from zdaemon.zdoptions import RunnerOptions
from zdaemon.zdoptions import signame

#: Seconds between tries of a failing start test: doubling from the first
#: to the last, so a quickly ready program is seen quickly.
START_TEST_DELAYS = (0.05, 1.0)

#: Signals that stop the manager (forwarded to the program in the
#: foreground).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class ZDRunOptions(RunnerOptions):

    __doc__ = __doc__
    positional_args_allowed = 1
    logsectionname = 'runner.eventlog'
    program = None
    logger = None

    def __init__(self):
        RunnerOptions.__init__(self)
        self.add('schemafile', None, 'S:', 'schema=', default='schema.xml')
        self.add('program', 'runner.program')
        self.add('starttestprogram', 'runner.start_test_program')

    def realize(self, *args, **kw):
        RunnerOptions.realize(self, *args, **kw)
        if self.args:
            self.program = self.args
        if not self.program:
            self.usage('no program specified (use -C or positional args)')
        # Absolute before the manager changes directory (zdaemon reads
        # the same paths from where it runs).
        self.sockname = os.path.abspath(self.sockname)
        self.transcript = os.path.abspath(self.transcript)
        self.logger = logging.getLogger('zdaemon.zdrun')

    def load_logconf(self, sectname='eventlog'):
        """The runner section's eventlog, else the top-level one."""
        RunnerOptions.load_logconf(self, sectname)
        if self.config_logger is None and sectname != 'eventlog':
            RunnerOptions.load_logconf(self, 'eventlog')


class _ChildExits(dict):
    """Wait statuses of reaped children by pid, until claimed.

    The manager reaps every child in its main loop, never in a signal
    handler, and only after recording the pid of whatever it forked; so a
    child that dies at once is still recognised as ours (the original
    reaped it as "unknown" and then reported the dead pid as running).
    """

    def reap(self):
        """Collect the status of every child that has exited."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            self[pid] = status

    def fetch(self, pid):
        """The wait status of ``pid`` if it exited, else None."""
        return self.pop(pid, None)


class Subprocess:
    """The supervised program (one process at a time) and its start test."""

    pid = 0         # 0 when the program is not running
    lasttime = 0.0  # time.time() of the last spawn

    def __init__(self, options, args=None, child_exits=None,
                 clock=time.monotonic):
        self.options = options
        self.clock = clock      # for lived() and the start test's timing
        self.args = list(args or options.program)
        self.filename = self._find_program(self.args[0])
        self.child_exits = (child_exits if child_exits is not None
                            else _ChildExits())
        self.testing = set()    # pids whose start test has not passed yet
        self.output_fd = None   # where the program's output goes (if not 1)
        self.new_process_group = False
        self._started = 0.0     # clock() of the last spawn
        self._test_pid = 0      # a running try of the start test
        self._test_due = None   # clock() of the next try
        self._test_delay = START_TEST_DELAYS[0]

    def _find_program(self, name):
        usage = self.options.usage
        if '/' not in name:
            for directory in get_path().split(os.pathsep):
                filename = os.path.join(directory, name)
                try:
                    st = os.stat(filename)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
                    break
            else:
                usage(f"can't find program {name!r} on PATH {get_path()}")
        else:
            filename = os.path.abspath(name)
            try:
                st = os.stat(filename)
            except OSError as error:
                usage(f"can't stat program {name!r}: {error.strerror}")
        if not stat.S_ISREG(st.st_mode) or not os.access(filename, os.X_OK):
            usage(f'no permission to run program {filename!r}')
        return filename

    def spawn(self):
        """Start the program; return its pid, or 0 if fork failed."""
        if self.pid:
            return 0
        try:
            pid = _fork()
        except OSError as error:
            self.options.logger.error("can't fork: %s", error)
            return 0
        if pid == 0:
            _exec(self.args, self.filename, self.output_fd,
                  self.new_process_group)
        self.pid = pid
        self.lasttime = time.time()
        self._started = self.clock()
        self.options.logger.info('spawned process pid=%d', pid)
        if self.options.starttestprogram:
            self.testing = {pid}
            self._test_delay = START_TEST_DELAYS[0]
            self._test_due = self._started
        return pid

    def lived(self):
        """Seconds since the last spawn."""
        return self.clock() - self._started

    def kill(self, sig):
        """Send ``sig`` to the program: None, or what went wrong."""
        if not self.pid:
            return 'no subprocess running'
        try:
            os.kill(self.pid, sig)
        except OSError as error:
            return str(error)
        return None

    def setstatus(self, sts):
        """The program exited with wait status ``sts``."""
        self.pid = 0
        self.testing = set()
        self._test_due = None
        if self._test_pid:
            # A try for a program that is gone: end it; its exit is
            # reaped and ignored.
            try:
                os.kill(self._test_pid, signal.SIGKILL)
            except OSError:
                pass
            self._test_pid = 0

    def test(self, pid):
        """Start a try of the start test for ``pid``; return its pid."""
        if pid != self.pid or pid not in self.testing or self._test_pid:
            return 0
        self._test_due = None
        try:
            self._test_pid = _fork()
        except OSError as error:
            self.options.logger.error("can't fork the start test: %s", error)
            self._schedule_test()
            return 0
        if self._test_pid == 0:
            _exec(self.options.starttestprogram, None, self.output_fd,
                  self.new_process_group)
        return self._test_pid

    def test_due(self):
        """clock() when the next start test try is due, or None."""
        return self._test_due if not self._test_pid else None

    def collect(self):
        """Claim the exits of the program and the start test from
        ``child_exits``; return the program's wait status if it exited."""
        if self._test_pid:
            sts = self.child_exits.fetch(self._test_pid)
            if sts is not None:
                self._test_pid = 0
                if self.pid in self.testing:
                    if sts == 0:
                        self.testing.discard(self.pid)
                        self.options.logger.info('start test succeeded')
                    else:
                        self.options.logger.debug('start test failed')
                        self._schedule_test()
        if self.pid:
            return self.child_exits.fetch(self.pid)
        return None

    def _schedule_test(self):
        self._test_due = self.clock() + self._test_delay
        self._test_delay = min(self._test_delay * 2, START_TEST_DELAYS[1])


def _fork():
    """``os.fork()`` with the stop signals blocked across it.

    The manager passes a stop signal on to the program at once; sent to a
    child that has not yet reset its handlers, it would run the manager's
    handler there and be lost (the program then runs on). Blocked, it
    stays pending until ``_exec`` has put the defaults in place.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        raise
    if pid:     # the child unblocks in _exec, after resetting handlers
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    return pid


def _exec(argv, filename, output_fd, new_process_group):
    """In a freshly forked child: run ``argv``; never returns."""
    try:
        # Python ignores these; a program expects the defaults.
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, *STOP_SIGNALS,
                    signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        if new_process_group:
            os.setpgid(0, 0)
        if output_fd is not None:
            os.dup2(output_fd, 1)
            os.dup2(output_fd, 2)
        os.closerange(3, _maxfd())
        if filename:
            os.execv(filename, argv)
        else:
            os.execvp(argv[0], argv)
    except BaseException as error:
        try:
            os.write(2, f"can't exec {argv[0]!r}: {error}\n".encode())
        finally:
            os._exit(127)


def _maxfd():
    try:
        return os.sysconf('SC_OPEN_MAX')
    except (ValueError, OSError):
        return 1024


class Transcript:
    """The file that receives what the program writes while the manager is
    detached.

    The manager's own stdout and stderr are the file itself (the manager
    logs into its event log, so only its dying words, a traceback, could
    land there); programs write
    into a pipe that the manager copies into the file, so that
    :meth:`reopen` (after log rotation) also applies to programs already
    running.  The manager never writes into that pipe, so a program filling
    it cannot block the manager.
    """

    def __init__(self, filename):
        self.filename = filename
        self.file_fd = self._open()
        os.dup2(self.file_fd, 1)
        os.dup2(self.file_fd, 2)
        if os.path.realpath(filename) == os.devnull:
            # Nothing to reopen: programs write straight to fds 1 and 2.
            self.read_fd = self.write_fd = None
        else:
            self.read_fd, self.write_fd = os.pipe()
            os.set_blocking(self.read_fd, False)

    def _open(self):
        return os.open(self.filename,
                       os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def fileno(self):
        return self.read_fd

    def copy(self):
        """Copy what programs wrote into the file; False at end of file."""
        while True:
            try:
                data = os.read(self.read_fd, 65536)
            except BlockingIOError:
                return True
            if not data:
                return False
            try:
                os.write(self.file_fd, data)
            except OSError:
                pass    # disk full or the like: nowhere to complain

    def reopen(self):
        """Write to a fresh open of the file (after log rotation)."""
        try:
            fd = self._open()
        except OSError:
            return
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(self.file_fd)
        self.file_fd = fd


class Supervisor:
    """Supervising the program: start it, restart it when it dies (at
    once, after a back-off delay, or not at all), stop it (SIGTERM, then
    SIGKILL after the stop timeout).

    Its timers run on ``clock`` (``time.monotonic`` or a test's fake
    clock); ``poll()`` takes note of what happened.  The daemon manager is
    a Supervisor (with the names of zdaemon 5's manager); a test can use
    one on its own.
    """

    clock = staticmethod(time.monotonic)
    report_fd = None            # zdaemon start's pipe, if it listens
    killing = False             # a stop or restart is under way
    kill_deadline = None        # clock() when a stopping program is killed
    respawn_at = None           # clock() of a delayed restart
    exit_status = None          # set: the manager exits with it
    stop_status = 0             # exit status once a stop completes
    status_from_program = False     # stop_status: the program's

    def __init__(self, options, clock=time.monotonic, report_fd=None):
        self.options = options
        self.logger = options.logger
        self.clock = clock
        self.report_fd = report_fd
        self.supervise()

    def supervise(self):
        """Take charge of ``options.program`` (not started yet)."""
        self.child_exits = _ChildExits()
        self.proc = Subprocess(self.options, child_exits=self.child_exits,
                               clock=self.clock)
        self.backoff = Backoff(self.options.backofflimit,
                               self.options.forever)
        self.should_be_up = True

    def poll(self):
        """Take note of the program's exit, and run the timers that are
        due; ``exit_status`` is set once the manager is to exit."""
        self.child_exits.reap()
        sts = self.proc.collect()
        if sts is not None:
            self.governor(sts)
        self.child_exits.clear()    # not ours (we may be PID 1)
        if self.exit_status is None:
            self._run_timers()
        if (self.exit_status is None and not self.should_be_up
                and not self.proc.pid):
            self.exit_status = self.stop_status

    def next_due(self):
        """clock() when a timer is due next, or None."""
        due = [t for t in (self.respawn_at, self.kill_deadline,
                           self.proc.test_due()) if t is not None]
        return min(due) if due else None

    def start(self):
        """Start the program (forgetting earlier deaths); False if it
        runs already."""
        self.should_be_up = True
        self.backoff.reset()
        if self.proc.pid:
            return False
        self._spawn()
        return True

    def stop(self):
        """Stop the program for good; False if it is not running."""
        if not self.proc.pid:
            self.should_be_up = False
            self.respawn_at = None
            return False
        self._stop()
        return True

    def restart(self):
        """Stop the program and start it again once it is gone."""
        self._stop()
        self.should_be_up = True

    def status(self):
        """What the status command reports (the protocol's fields)."""
        now = time.time()
        delay = 0
        if self.respawn_at is not None:
            delay = now + max(0.0, self.respawn_at - self.clock())
        return {
            'status': 'running' if self.proc.pid else 'stopped',
            'now': now,
            'should_be_up': int(self.should_be_up),
            'delay': delay,
            'backoff': self.backoff.backoff,
            'lasttime': self.proc.lasttime,
            'application': self.proc.pid,
            'testing': int(self.proc.pid in self.proc.testing),
            'manager': os.getpid(),
            'backofflimit': self.options.backofflimit,
            'filename': self.proc.filename,
            'args': self.proc.args,
        }

    def _spawn(self):
        self.respawn_at = None
        if self.should_be_up and not self.proc.pid:
            if not self.proc.spawn():
                self.respawn_at = self.clock() + 1  # fork failed

    def _stop(self, kill=True):
        """Stop the program (SIGTERM, SIGKILL after the stop timeout);
        a stop already under way just goes on."""
        self.should_be_up = False
        self.backoff.reset()
        self.respawn_at = None
        if self.proc.pid and not self.killing:
            if kill:
                self.proc.kill(signal.SIGTERM)
            self.killing = True
            self.kill_deadline = self.clock() + self.options.stoptimeut

    def _run_timers(self):
        now = self.clock()
        if self.respawn_at is not None and now >= self.respawn_at:
            self._spawn()
        if (self.kill_deadline is not None and now >= self.kill_deadline
                and self.proc.pid):
            self.logger.warning('process %d did not stop within %d s;'
                                ' sending SIGKILL', self.proc.pid,
                                self.options.stoptimeut)
            self.proc.kill(signal.SIGKILL)
            self.kill_deadline = None
        due = self.proc.test_due()
        if due is not None and now >= due:
            self.proc.test(self.proc.pid)

    def governor(self, sts):
        """The program exited with wait status ``sts``: restart it now,
        later, or not at all."""
        pid = self.proc.pid
        lived = self.proc.lived()
        self.proc.setstatus(sts)
        exitstatus, message = decode_wait_status(sts)
        if self.killing:
            self.logger.info('process %d %s', pid, message)
            self.killing = False
            self.kill_deadline = None
            if self.status_from_program:
                self.stop_status = _shell_status(sts)
            self._spawn()   # a restart; after a stop should_be_up is off
        elif exitstatus in self.options.exitcodes:
            self.logger.info('process %d %s; exiting now', pid, message)
            self._finish(exitstatus, f'the program ended ({message}): an'
                                     ' exit code meaning "do not restart"')
        else:
            delay = self.backoff.delay_after_death(lived)
            if delay is None:
                self.logger.error('process %d %s; restarting too'
                                  ' frequently; quit', pid, message)
                self._finish(1, f'the program ended ({message}) too often,'
                                ' too soon: the manager gave up')
            elif delay:
                self.logger.info('process %d %s; restarting in %d s', pid,
                                 message, delay)
                self._report('note', f'the program exited ({message});'
                                     f' restarting it in {delay} s')
                self.respawn_at = self.clock() + delay
            else:
                self.logger.info('process %d %s; restarting', pid, message)
                self._report('note', f'the program exited ({message});'
                                     ' restarting it')
                self._spawn()

    def _finish(self, status, reason):
        self.exit_status = status
        self._report('exit', reason)

    def _report(self, kind, text):
        if self.report_fd is not None:
            _control.write_report(self.report_fd, kind, text)


class ControlServer:
    """The control socket: one command connection at a time, one line a
    command, the reply, then the connection is closed (the protocol is in
    ``zdaemon._control``).  The commands act on the Supervisor the manager
    also is."""

    mastersocket = None
    commandsocket = None

    def opensocket(self):
        """Bind the control socket, refusing to start twice."""
        sockname = self.options.sockname
        tempname = f'{sockname}.{os.getpid()}'
        _unlink(tempname)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                sock.bind(tempname)
                os.chmod(tempname, 0o700)
                sock.listen(16)
            except OSError as error:
                self.options.usage(f'cannot create control socket'
                                   f' {sockname}: {error}')
            # The link is atomic: of two managers starting at once, one
            # wins.  A socket nobody answers on is left by a dead manager.
            for attempt in range(10):
                try:
                    os.link(tempname, sockname)
                    break
                except FileExistsError:
                    if self.checkopen():
                        print(f'Another zdrun is already up using socket'
                              f' {sockname!r}', file=sys.stderr)
                        sys.exit(1)
                    # Said where the original said it: to zdaemon start.
                    print(f'unlinking stale socket {sockname}',
                          file=sys.stderr, flush=True)
                    self.logger.warning('unlinking stale socket %s',
                                        sockname)
                    _unlink(sockname)
            else:
                self.options.usage(f'cannot take over socket {sockname}')
        finally:
            _unlink(tempname)
        sock.setblocking(False)
        self.mastersocket = sock

    def checkopen(self):
        """Whether a manager is listening on the socket."""
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.options.sockname)
        except OSError:
            return False
        finally:
            probe.close()
        return True

    def doaccept(self):
        try:
            conn, addr = self.mastersocket.accept()
        except OSError:
            return
        if self.commandsocket is not None:
            self.sendreply('Command superseded by new command')
        conn.setblocking(False)
        self.commandsocket = conn
        self.commandbuffer = b''
        self.selector.register(conn, selectors.EVENT_READ, self.dorecv)

    def dorecv(self):
        try:
            data = self.commandsocket.recv(1000)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        self.commandbuffer += data
        line, newline, rest = self.commandbuffer.partition(b'\n')
        if newline:
            self.docommand(line.decode(errors='replace'))
        elif len(self.commandbuffer) > MAX_COMMAND:
            self.sendreply('Command exceeds 10 KB')
        elif not data:
            self.sendreply('Command not terminated by newline')

    def docommand(self, line):
        words = line.split()
        if not words:
            self.sendreply('Empty command')
            return
        method = getattr(self, 'cmd_' + words[0], None)
        if method is None:
            self.sendreply(f'Unknown command {words[0]!r}; '
                           "'help' for a list")
            return
        method(words[1:])

    def sendreply(self, msg):
        """Send ``msg`` on the command connection and close it."""
        conn = self.commandsocket
        self.commandsocket = None
        self.selector.unregister(conn)
        try:
            if msg:
                conn.settimeout(5.0)
                conn.sendall((msg if msg.endswith('\n') else msg + '\n')
                             .encode())
        except OSError:
            pass    # the client went away
        finally:
            conn.close()

    def cmd_help(self, args):
        commands = sorted(name[4:] for name in dir(self)
                          if name.startswith('cmd_'))
        self.sendreply('Commands: ' + ' '.join(commands))

    def cmd_start(self, args):
        if self.start():
            self.sendreply('Application started')
        else:
            self.sendreply('Application already started')

    def cmd_stop(self, args):
        if self.stop():
            self.sendreply('Sent SIGTERM')
        else:
            self.sendreply('Application already stopped')

    def cmd_restart(self, args):
        if not self.proc.pid:
            self.cmd_start(args)
            return
        self.restart()
        self.sendreply('Sent SIGTERM; will restart later')

    def cmd_kill(self, args):
        try:
            sig = int(args[0]) if args else signal.SIGTERM
        except ValueError:
            self.sendreply(f'Bad signal {args[0]!r}')
            return
        if not 0 < sig < signal.NSIG:
            self.sendreply(f'Bad signal {sig}')
            return
        if not self.proc.pid:
            self.sendreply('Application not running')
            return
        error = self.proc.kill(sig)
        if error:
            self.sendreply(f'Kill {sig} failed: {error}')
        else:
            self.sendreply(f'Signal {sig} sent')

    def cmd_status(self, args):
        self.sendreply(self.reportstatus())

    def reportstatus(self):
        return _control.format_status(self.status())

    def cmd_reopen_transcript(self, args):
        if self.transcript is not None:
            self.transcript.reopen()
        from ZConfig.components.logger import loghandler
        loghandler.reopenFiles()
        self.sendreply('')


class Daemonizer(Supervisor, ControlServer):
    """The daemon manager: detaches (or stays in the foreground as a
    supervisor), turns signals into events of its main loop, and runs the
    loop that serves the Supervisor and the ControlServer it also is."""

    transcript = None

    def __init__(self, clock=time.monotonic):
        # The options, and with them the Supervisor's set-up, come in
        # main() (or from a test that sets them).
        self.clock = clock

    def main(self, args=None):
        self.options = ZDRunOptions()
        self.options.realize(args)
        if self.options.config_logger is None:
            # Not into the transcript, nor the terminal of a foreground
            # manager: they hold the program's output only.
            logging.getLogger('zdaemon').addHandler(logging.NullHandler())
        self.logger = self.options.logger
        self.run()

    def run(self):
        self.supervise()
        self.signals = []
        self.report_fd = _take_report_fd()
        self.opensocket()
        try:
            if self.options.daemon:
                self.daemonize()
            else:
                self._run_in_foreground()
            self.setsignals()
            self.runforever()
        finally:
            _unlink(self.options.sockname)

    def daemonize(self):
        """Detach: fork (the parent returns to zdaemon at once), new
        session, stdin from /dev/null, output to the transcript."""
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork():
            os._exit(0)
        self._enter_directory()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        self.transcript = Transcript(self.options.transcript)
        self.proc.output_fd = self.transcript.write_fd
        os.setsid()
        os.umask(self.options.umask)

    def _run_in_foreground(self):
        """Stay attached (daemon off): a supervisor that passes stop
        signals on to the program, which runs in its own process group so
        that a terminal's Ctrl-C reaches it once, through us."""
        self._enter_directory()
        os.umask(self.options.umask)
        self.proc.new_process_group = True

    def _enter_directory(self):
        if self.options.directory:
            try:
                os.chdir(self.options.directory)
            except OSError as error:
                self.logger.warning("couldn't chdir to %s: %s",
                                    self.options.directory, error)

    def setsignals(self):
        """Signals only wake the main loop (through a pipe) and are
        handled there, never inside a handler."""
        self.wakeup_r, wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(wakeup_w, False)
        signal.set_wakeup_fd(wakeup_w, warn_on_full_buffer=False)
        for sig in (*STOP_SIGNALS, signal.SIGCHLD):
            signal.signal(sig, self.sigchild if sig == signal.SIGCHLD
                          else self.sigexit)

    def sigexit(self, sig, frame):
        self.signals.append(sig)

    def sigchild(self, sig, frame):
        pass    # the wakeup pipe is enough: the loop reaps

    def runforever(self):
        self.logger.info('daemon manager started')
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.mastersocket, selectors.EVENT_READ,
                               self.doaccept)
        self.selector.register(self.wakeup_r, selectors.EVENT_READ,
                               self._drain_wakeup)
        if self.transcript is not None and self.transcript.read_fd is not None:
            self.selector.register(self.transcript.read_fd,
                                   selectors.EVENT_READ,
                                   self.transcript.copy)
        self._spawn()
        while True:
            self._handle_signals()
            self.poll()
            if self.exit_status is not None:
                break
            for key, events in self.selector.select(self._timeout()):
                key.data()
        self._exit()

    def _timeout(self):
        due = self.next_due()
        if due is None:
            return 5.0  # nothing scheduled: signals and sockets wake us
        return max(0.0, due - self.clock())

    def _drain_wakeup(self):
        try:
            while os.read(self.wakeup_r, 512):
                pass
        except BlockingIOError:
            pass

    def _handle_signals(self):
        while self.signals:
            sig = self.signals.pop(0)
            name = signame(sig)
            if self.options.daemon:
                self.logger.info('killed by %s; stopping the program', name)
                self._stop()
                self.stop_status = 1
            else:
                # A supervisor in the foreground: the program decides
                # what the signal means; we exit when it does, with its
                # status (SIGHUP alone does not stop us).
                self.logger.info('received %s; passing it on', name)
                self.proc.kill(sig)
                if sig != signal.SIGHUP:
                    self._stop(kill=False)
                    self.stop_status = 128 + sig
                    self.status_from_program = True

    def _exit(self):
        if self.transcript is not None and self.transcript.read_fd is not None:
            self.transcript.copy()  # the last words of the program
        self.logger.info('daemon manager exiting with status %d',
                         self.exit_status)
        sys.exit(self.exit_status)  # run() removes the socket


def decode_wait_status(sts):
    """``(exit status or -1, description)`` of a wait status."""
    if os.WIFEXITED(sts):
        es = os.WEXITSTATUS(sts)
        return es, f'exit status {es}'
    if os.WIFSIGNALED(sts):
        sig = os.WTERMSIG(sts)
        message = f'terminated by {signame(sig)}'
        if os.WCOREDUMP(sts):
            message += ' (core dumped)'
        return -1, message
    return -1, f'unknown termination cause 0x{sts:04x}'


def _shell_status(sts):
    """A wait status as a shell reports it: the exit status, or 128 plus
    the number of the signal that killed the process."""
    if os.WIFSIGNALED(sts):
        return 128 + os.WTERMSIG(sts)
    return os.waitstatus_to_exitcode(sts)


def get_path():
    """Where programs named without a directory are looked for."""
    return os.environ.get('PATH') or os.pathsep.join(
        ['/bin', '/usr/bin', '/usr/local/bin'])


def _take_report_fd():
    value = os.environ.pop(_control.START_REPORT_FD, None)
    if value is None:
        return None
    try:
        fd = int(value)
        os.set_inheritable(fd, False)
    except (ValueError, OSError):
        return None
    return fd


def _unlink(path):
    try:
        os.unlink(path)
    except OSError as error:
        if error.errno != errno.ENOENT:
            raise


def main(args=None):
    assert os.name == 'posix', 'This code makes many Unix-specific assumptions'
    Daemonizer().main(args)


if __name__ == '__main__':
    main()
