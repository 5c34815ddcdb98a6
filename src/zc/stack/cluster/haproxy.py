"""HAProxy, the cluster's front door: its configuration file and its
runtime API.

The configuration has one frontend on a stable port and one backend of
server *slots*, all in maintenance at first; while HAProxy runs, a slot
is given an app server's address and made ready, or put back in
maintenance, through the runtime API on its admin socket, so the backend
follows the app servers' registrations without a reload (see
``balancer``).

Slots rather than servers added and deleted at run time (``add server``,
``del server``): HAProxy 2.6 keeps no idle connection to a server added
at run time, so every request would open a new connection to an app
server, which measured two to three times slower than keeping them.
"""
import os
import shutil
import socket
import subprocess

#: Seconds to wait for HAProxy's answer on the admin socket.
TIMEOUT = 5.0
BACKEND = 'apps'
#: How many app servers the front door can send requests to.
SLOTS = 64
#: The address of a slot never given one.
UNUSED = '127.0.0.1:1'

CONFIGURATION = """\
# Written by zc-stack: the backend's servers are managed at run time
# through the admin socket, from the app registrations in ZooKeeper.
global
    stats socket {socket} mode 600 level admin
    stats timeout 10s
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout queue 10s
    # A server that died before its registration vanished refuses the
    # connection: try another one instead of failing the request.
    retries 3
    option redispatch 1
    option dontlognull

frontend front
    bind {host}:{port}
    default_backend {backend}

backend {backend}
    balance roundrobin
    server-template app 1-{slots} {unused} disabled
"""


class HAProxyError(RuntimeError):
    """HAProxy refused a command or could not be reached (one line)."""


def executable():
    """The ``haproxy`` program (``$ZC_STACK_HAPROXY`` overrides it), or
    None when it is not installed."""
    if 'ZC_STACK_HAPROXY' in os.environ:
        candidates = [os.environ['ZC_STACK_HAPROXY']]
    else:
        # Debian puts it in /usr/sbin, which a user's PATH may lack.
        candidates = [shutil.which('haproxy'), '/usr/sbin/haproxy']
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def configuration(socket_path, port, host='127.0.0.1', backend=BACKEND,
                  slots=SLOTS):
    """The text of HAProxy's configuration file."""
    return CONFIGURATION.format(socket=socket_path, host=host, port=port,
                                backend=backend, slots=slots, unused=UNUSED)


def check_configuration(path, program=None):
    """Raise HAProxyError with HAProxy's reason if the file is invalid."""
    done = subprocess.run([program or executable(), '-c', '-q', '-f', path],
                          capture_output=True, text=True, timeout=30)
    if done.returncode:
        lines = (done.stderr.strip() or done.stdout.strip()
                 or 'no reason given').splitlines()
        raise HAProxyError(f'invalid HAProxy configuration {path}:'
                           f' {lines[-1]}')


class Runtime:
    """HAProxy's runtime API on the admin socket at ``socket_path``.

    Only what the front door needs: list the slots of a backend, give one
    an address, make it ready or put it in maintenance. Each call is one
    connection, as HAProxy's non-interactive mode expects.
    """

    def __init__(self, socket_path, backend=BACKEND, timeout=TIMEOUT):
        self.socket_path = socket_path
        self.backend = backend
        self.timeout = timeout

    def command(self, line):
        """Send one command; return HAProxy's answer (stripped)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.socket_path)
                sock.sendall(line.encode() + b'\n')
                chunks = []
                while data := sock.recv(65536):
                    chunks.append(data)
        except OSError as error:
            raise HAProxyError(f'HAProxy does not answer on'
                               f' {self.socket_path}: {error}') from None
        return b''.join(chunks).decode(errors='replace').strip()

    def _table(self, command):
        """The rows of a command answering with a ``#`` header line."""
        answer = self.command(command)
        lines = answer.splitlines()
        heading = next((line for line in lines if line.startswith('#')), None)
        if heading is None:
            raise HAProxyError(f'unexpected answer to {command}:'
                               f' {answer[:200]!r}')
        separator = ',' if ',' in heading else None
        header = heading.lstrip('# ').split(separator)
        rows = []
        for line in lines:
            fields = line.split(separator)
            if not line.startswith('#') and len(fields) >= len(header):
                rows.append(dict(zip(header, fields)))
        return rows

    def servers(self):
        """``{name: {'address': 'host:port', 'ready': bool, 'sessions':
        int}}`` for the slots of the backend; ``ready`` is false in
        maintenance, ``sessions`` counts the requests in progress."""
        sessions = {row['svname']: int(row['scur'] or 0)
                    for row in self._table('show stat')
                    if row['pxname'] == self.backend}
        servers = {}
        for row in self._table(f'show servers state {self.backend}'):
            # srv_admin_state is a bit field; bits 0 and 1: maintenance
            # forced by the configuration or the runtime API.
            admin = int(row['srv_admin_state'])
            servers[row['srv_name']] = {
                'address': f"{row['srv_addr']}:{row['srv_port']}",
                'ready': not admin & 0x03,
                'sessions': sessions.get(row['srv_name'], 0),
            }
        return servers

    def _expect(self, line, *answers):
        answer = self.command(line)
        if not any(answer.startswith(a) for a in answers):
            raise HAProxyError(f'HAProxy refused {line!r}: {answer}')

    def assign(self, name, address):
        """Give slot ``name`` the address ``host:port`` and make it
        ready."""
        host, port = address.rsplit(':', 1)
        self._expect(f'set server {self.backend}/{name} addr {host}'
                     f' port {port}', 'IP changed', 'no need to change',
                     'port changed', '')
        self.ready(name)

    def ready(self, name):
        self._expect(f'set server {self.backend}/{name} state ready', '')

    def drain(self, name):
        """Stop sending new requests to the server (those in progress
        finish): HAProxy's maintenance state."""
        self._expect(f'set server {self.backend}/{name} state maint', '')
