"""One service of the cluster, run under zdaemon.

Each service has a directory under the cluster's base directory holding
its zdaemon configuration (``zdaemon.conf``), the manager's control socket
and log, the program's transcript (what ``zc-stack logs`` shows) and
whatever files the program needs. ``start``, ``stop`` and ``status`` are
zdaemon's own command line (``zdaemon -C zdaemon.conf ...``), run with the
same Python and import path as zc-stack, so a buildout and a pip
environment both work.
"""
import os
import re
import subprocess
import sys

import zdaemon

#: zdaemon restarts a program that dies (unless its exit status is 0 or 2:
#: "do not restart me") after at most this many seconds.
BACKOFF_LIMIT = 5
STOP_TIMEOUT = 10
#: Seconds ``zdaemon start`` waits for a program that keeps dying.
START_TIMEOUT = 10
#: Seconds for a zdaemon command to answer (it waits for the program to
#: start or stop, not for it to be ready).
COMMAND_TIMEOUT = 60
#: Seconds to wait for a zdaemon manager's status.
STATUS_TIMEOUT = 10
#: The longest path of a Unix socket (sun_path has 108 bytes).
MAX_SOCKET_PATH = 107

ZDAEMON_CONF = """\
# Written by zc-stack up.
<runner>
  program {program}
  socket-name {directory}/zdsock
  transcript {directory}/transcript.log
  directory {directory}
  backoff-limit {backoff_limit}
  forever on
  stop-timeout {stop_timeout}
  start-timeout {start_timeout}
</runner>

<environment>
{environment}
</environment>

<eventlog>
  <logfile>
    path {directory}/zdaemon.log
    format %(asctime)s %(message)s
  </logfile>
</eventlog>
"""


#: What ``zdaemon start`` says when the program runs.
_PID = re.compile(r'^daemon process (?:started|already running)[;,] pid=(\d+)',
                  re.MULTILINE)


def python_environment():
    """What a child Python needs to import what we import."""
    return {'PYTHONPATH': os.pathsep.join(p for p in sys.path if p),
            'PYTHONUNBUFFERED': '1'}


def python_program(module, *args):
    """The command line running ``python -m module args``."""
    return [sys.executable, '-m', module, *args]


class ServiceError(RuntimeError):
    """A service could not be started or stopped (one line)."""


class Service:
    """A program the cluster runs under zdaemon.

    ``role`` is one of ``config.ROLES``; ``registered_at`` is the ZooKeeper
    path the program registers at (None if it does not register);
    ``address`` is where it listens when that is known in advance.
    """

    def __init__(self, name, role, base, program, environment=None,
                 registered_at=None, address=None, logs=()):
        self.name = name
        self.role = role
        self.directory = os.path.join(base, name)
        self.program = list(program)
        self.environment = dict(environment or {})
        self.registered_at = registered_at
        self.address = address
        #: Log files the program writes itself, besides the transcript.
        self.logs = [self.path(name) for name in logs] + [self.transcript]

    def __repr__(self):
        return f'<Service {self.name}>'

    @property
    def conf(self):
        return os.path.join(self.directory, 'zdaemon.conf')

    @property
    def transcript(self):
        return os.path.join(self.directory, 'transcript.log')

    def path(self, name):
        """A file of the service's directory."""
        return os.path.join(self.directory, name)

    def write(self, files=None):
        """Write the zdaemon configuration, and ``files`` (``{name:
        text}``) into the service's directory."""
        os.makedirs(self.directory, exist_ok=True)
        socket_path = self.path('zdsock')
        if len(socket_path) > MAX_SOCKET_PATH:
            raise ServiceError(f'the base directory is too deep for a Unix'
                               f' socket ({socket_path}): choose a shorter'
                               ' --base')
        for name, text in (files or {}).items():
            with open(self.path(name), 'w') as f:
                f.write(text)
        environment = '\n'.join(f'  {key} {value}' for key, value
                                in sorted(self.environment.items()))
        with open(self.conf, 'w') as f:
            f.write(ZDAEMON_CONF.format(
                program=' '.join(self.program), directory=self.directory,
                backoff_limit=BACKOFF_LIMIT, stop_timeout=STOP_TIMEOUT,
                start_timeout=START_TIMEOUT,
                environment=environment))

    def _zdaemon(self, *action):
        try:
            return subprocess.run(
                python_program('zdaemon', '-C', self.conf, *action),
                env=dict(os.environ, **python_environment()),
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ServiceError(f'zdaemon {" ".join(action)} of {self.name}'
                               f' took over {COMMAND_TIMEOUT}s') from None

    def start(self):
        """Start the program under zdaemon; return its pid."""
        done = self._zdaemon('start')
        match = _PID.search(done.stdout)
        if done.returncode or match is None:
            output = (done.stdout + done.stderr).strip().splitlines()
            raise ServiceError(f'{self.name} did not start:'
                               f' {output[-1] if output else "no output"}'
                               f' (see {self.transcript})')
        return int(match.group(1))

    def stop(self):
        """Stop the program and its zdaemon manager (if they run)."""
        if not os.path.exists(self.conf):
            return
        done = self._zdaemon('stop')
        if done.returncode:
            output = (done.stdout + done.stderr).strip().splitlines()
            raise ServiceError(f'{self.name} did not stop:'
                               f' {output[-1] if output else "no output"}')

    def status(self):
        """``{'pid': PID or None}`` from the zdaemon manager, or None when
        no manager runs (asked through its control socket: ``zc-stack
        status`` asks every service at once, and a ``zdaemon status``
        process per service costs seconds on a busy machine)."""
        status = zdaemon.manager_status(self.path('zdsock'), STATUS_TIMEOUT)
        if status is None:
            return None
        pid = status.get('application')
        return {'pid': pid if isinstance(pid, int) and pid else None}

    def pid(self):
        """The program's pid, or None when it does not run."""
        status = self.status()
        return status and status['pid']
