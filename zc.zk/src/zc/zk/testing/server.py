"""Real Apache ZooKeeper servers for tests, from Debian's ``zookeeper``
package: a standalone server, or a loopback ensemble.

Each server runs ``java ... QuorumPeerMain zoo.cfg`` as a child process in
a temporary directory, on a free port of 127.0.0.1, and is stopped by pid.
The JVM gets a parent-death signal, so a test run that is killed does not
leave servers behind.
"""
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from kazoo.security import make_digest_acl_credential

#: Where Debian's package puts the server. ``ZC_ZK_JAR`` overrides it.
JAR = '/usr/share/java/zookeeper.jar'
#: A logging backend for the server: log4j, configured to write warnings
#: to ``server.log`` in the server's directory.
LOGGING_JARS = ('/usr/share/java/slf4j-log4j12.jar',
                '/usr/share/java/log4j-1.2.jar')
MAIN_CLASS = 'org.apache.zookeeper.server.quorum.QuorumPeerMain'
#: Small heap, fast start: several servers share a 2-core test machine.
JVM_OPTIONS = ('-Xms32m', '-Xmx256m', '-XX:+UseSerialGC',
               '-XX:TieredStopAtLevel=1', '-XX:-UsePerfData')
#: The superuser of test servers (``auth_data=[('digest', SUPERUSER)]``):
#: test clean-up may delete nodes whatever their ACL.
SUPERUSER = 'zc.zk.testing:super'
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
SERVING_MODES = ('standalone', 'leader', 'follower', 'observer')

_PR_SET_PDEATHSIG = 1


class ZooKeeperUnavailable(RuntimeError):
    """A ZooKeeper server could not be started (says why, in one line)."""


def jar():
    return os.environ.get('ZC_ZK_JAR', JAR)


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def stop_process(pid, timeout=STOP_TIMEOUT):
    """Stop process ``pid`` with SIGSTOP (a server that hangs, say) and
    return once every one of its threads is stopped.

    The signal stops a process's threads one after the other, each when
    it next runs: until the last one has stopped, another can still
    receive and answer. A child whose second thread echoed a byte answered
    after ``kill()`` had returned 7 times in 100 on an idle 2-core
    machine (a stopped secondary acknowledged a commit in CI); never once
    this waited."""
    os.kill(pid, signal.SIGSTOP)
    tasks = f'/proc/{pid}/task'
    deadline = time.monotonic() + timeout
    while not all(_thread_state(tasks, task) in ('T', 't', None)
                  for task in os.listdir(tasks)):
        if time.monotonic() > deadline:
            raise TimeoutError(f'process {pid} not stopped after {timeout}'
                               f' s of SIGSTOP')
        time.sleep(0.001)


def _thread_state(tasks, task):
    """A thread's state letter, from /proc (None once it is gone)."""
    try:
        with open(os.path.join(tasks, task, 'stat')) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except FileNotFoundError:
        return None


def mode(port, host='127.0.0.1', timeout=1.0):
    """The server's ``Mode:`` (``standalone``, ``leader``...) from the
    ``srvr`` four-letter word, or None while it does not serve."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b'srvr')
            reply = b''
            while chunk := s.recv(4096):
                reply += chunk
    except OSError:
        return None
    for line in reply.decode(errors='replace').splitlines():
        if line.startswith('Mode: '):
            return line[len('Mode: '):].strip()
    return None


def _die_with_parent():
    # Runs in the child between fork and exec.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Server:
    """One ZooKeeper server process.

    Its data directory survives ``stop()``/``start()``, as on a real
    machine; ``close()`` stops it and removes the directory.
    ``peers`` (``{id: (election_port, quorum_port)}``) makes it a member of
    an ensemble with id ``server_id``.
    """

    def __init__(self, port=None, directory=None, server_id=None,
                 peers=None, tick_time=500, options=()):
        self.port = port or free_port()
        self.directory = directory or tempfile.mkdtemp(prefix='zc.zk-test-')
        self.server_id = server_id
        self.peers = peers or {}
        self.tick_time = tick_time
        self.options = tuple(options)
        self.process = None
        self._write_configuration()

    @property
    def address(self):
        return f'127.0.0.1:{self.port}'

    @property
    def config_path(self):
        return os.path.join(self.directory, 'zoo.cfg')

    @property
    def log_path(self):
        return os.path.join(self.directory, 'server.log')

    def _write_configuration(self):
        data = os.path.join(self.directory, 'data')
        os.makedirs(data, exist_ok=True)
        lines = [
            f'tickTime={self.tick_time}',
            f'dataDir={data}',
            f'clientPort={self.port}',
            'clientPortAddress=127.0.0.1',
            'admin.enableServer=false',
            '4lw.commands.whitelist=srvr,ruok,stat,envi,cons,mntr',
            # Sessions of 1 s and up, so expiry tests are quick.
            'minSessionTimeout=1000',
            'maxSessionTimeout=60000',
            'preAllocSize=4096',
            'forceSync=no',
            'maxClientCnxns=0',
        ]
        if self.peers:
            lines += ['initLimit=20', 'syncLimit=10']
            lines += [f'server.{i}=127.0.0.1:{quorum}:{election}'
                      for i, (election, quorum) in sorted(self.peers.items())]
            with open(os.path.join(data, 'myid'), 'w') as f:
                f.write(f'{self.server_id}\n')
        lines += self.options
        with open(self.config_path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        with open(os.path.join(self.directory, 'log4j.properties'), 'w') as f:
            f.write('log4j.rootLogger=WARN, FILE\n'
                    'log4j.appender.FILE=org.apache.log4j.FileAppender\n'
                    f'log4j.appender.FILE.File={self.log_path}\n'
                    'log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n'
                    'log4j.appender.FILE.layout.ConversionPattern='
                    '%d{ISO8601} %-5p %m%n\n')

    def command(self):
        if not os.path.exists(jar()):
            raise ZooKeeperUnavailable(
                f'ZooKeeper is not installed ({jar()} is missing): run'
                " 'make test' as root, or 'apt-get install zookeeper'")
        java = shutil.which('java')
        if java is None:
            raise ZooKeeperUnavailable(
                "ZooKeeper needs java, which is not on PATH: 'apt-get install"
                " zookeeper' installs it")
        classpath = ':'.join([jar(), *(j for j in LOGGING_JARS
                                       if os.path.exists(j))])
        properties = os.path.join(self.directory, 'log4j.properties')
        superdigest = make_digest_acl_credential(*SUPERUSER.split(':'))
        return [java, *JVM_OPTIONS, f'-Dlog4j.configuration=file:{properties}',
                '-Dzookeeper.DigestAuthenticationProvider.superDigest='
                + superdigest,
                '-cp', classpath, MAIN_CLASS, self.config_path]

    def launch(self):
        """Start the JVM without waiting for it to serve."""
        if self.running:
            return
        with open(os.path.join(self.directory, 'stdout.log'), 'ab') as out:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    def start(self, timeout=START_TIMEOUT):
        """Start the server and wait until it serves clients."""
        self.launch()
        self.wait_serving(timeout)
        return self

    def wait_serving(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ZooKeeperUnavailable(
                    f'ZooKeeper on {self.address} exited with status'
                    f' {self.process.returncode}: {self._last_log_line()}')
            if mode(self.port) in SERVING_MODES:
                return
            time.sleep(0.05)
        raise ZooKeeperUnavailable(
            f'ZooKeeper on {self.address} was not serving after {timeout}s:'
            f' {self._last_log_line()}')

    def _last_log_line(self):
        for name in (self.log_path, os.path.join(self.directory,
                                                 'stdout.log')):
            try:
                with open(name, errors='replace') as f:
                    lines = [line.strip() for line in f if line.strip()]
            except OSError:
                continue
            if lines:
                return lines[-1]
        return f'no log (see {self.directory})'

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, kill=False):
        """Stop the server (SIGTERM, or SIGKILL with ``kill``); its data
        stays for the next ``start()``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill
                                     else signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self.process = None

    def close(self):
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()


class Ensemble:
    """``size`` servers on loopback forming one ZooKeeper ensemble."""

    def __init__(self, size=3, tick_time=500):
        self.directory = tempfile.mkdtemp(prefix='zc.zk-ensemble-')
        peers = {i: (free_port(), free_port()) for i in range(1, size + 1)}
        self.members = [
            Server(server_id=i, peers=peers, tick_time=tick_time,
                   directory=os.path.join(self.directory, str(i)))
            for i in peers]

    @property
    def hosts(self):
        """The connection string naming every member."""
        return ','.join(member.address for member in self.members)

    def start(self, timeout=START_TIMEOUT):
        for member in self.members:
            member.launch()
        for member in self.members:
            member.wait_serving(timeout)
        return self

    def leader(self):
        for member in self.members:
            if member.running and mode(member.port) == 'leader':
                return member
        return None

    def close(self):
        for member in self.members:
            member.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()
