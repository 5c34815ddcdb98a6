"""HAProxy, the cluster's front door: its configuration file and its
runtime API.

The configuration has one frontend on a stable port and one backend with
no servers at all: servers are added and removed while HAProxy runs,
through the runtime API on its admin socket, so the backend can follow the
app servers' registrations without a reload (see ``balancer``).
"""
import os
import shutil
import socket
import subprocess

#: Seconds to wait for HAProxy's answer on the admin socket.
TIMEOUT = 5.0
BACKEND = 'apps'

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


def configuration(socket_path, port, host='127.0.0.1', backend=BACKEND):
    """The text of HAProxy's configuration file."""
    return CONFIGURATION.format(socket=socket_path, host=host, port=port,
                                backend=backend)


def check_configuration(path, program=None):
    """Raise HAProxyError with HAProxy's reason if the file is invalid."""
    done = subprocess.run([program or executable(), '-c', '-q', '-f', path],
                          capture_output=True, text=True, timeout=30)
    if done.returncode:
        lines = (done.stderr.strip() or done.stdout.strip()
                 or 'no reason given').splitlines()
        raise HAProxyError(f'invalid HAProxy configuration {path}:'
                           f' {lines[-1]}')


def server_name(address):
    """The name of the backend server for ``host:port``: HAProxy names
    cannot contain ``:``."""
    return address.replace(':', '_').replace('[', '').replace(']', '')


class Runtime:
    """HAProxy's runtime API on the admin socket at ``socket_path``.

    Only what the front door needs: list, add, enable, disable and delete
    the servers of a backend. Each call is one connection, as HAProxy's
    non-interactive mode expects.
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

    def servers(self):
        """``{name: {'address': 'host:port', 'ready': bool}}`` for the
        servers of the backend; ``ready`` is false in maintenance."""
        answer = self.command(f'show servers state {self.backend}')
        lines = answer.splitlines()
        header = next((line[1:].split() for line in lines
                       if line.startswith('#')), None)
        if header is None:
            raise HAProxyError(f'unexpected answer to show servers state:'
                               f' {answer[:200]!r}')
        servers = {}
        for line in lines:
            fields = line.split()
            if line.startswith('#') or len(fields) != len(header):
                continue
            row = dict(zip(header, fields))
            # srv_admin_state is a bit field; bit 0 and 1: maintenance
            # forced from the configuration or the runtime API.
            admin = int(row['srv_admin_state'])
            servers[row['srv_name']] = {
                'address': f"{row['srv_addr']}:{row['srv_port']}",
                'ready': not admin & 0x03,
            }
        return servers

    def _expect(self, line, *answers):
        answer = self.command(line)
        if answer not in answers:
            raise HAProxyError(f'HAProxy refused {line!r}: {answer}')

    def add(self, name, address):
        """Add a server for ``host:port`` and send it requests."""
        self._expect(f'add server {self.backend}/{name} {address}',
                     'New server registered.')
        self.ready(name)

    def ready(self, name):
        self._expect(f'set server {self.backend}/{name} state ready', '')

    def drain(self, name):
        """Stop sending new requests to the server (it keeps those it
        has): HAProxy's maintenance state."""
        self._expect(f'set server {self.backend}/{name} state maint', '')

    def delete(self, name):
        """Delete a drained server; False while it still has connections
        (try again later)."""
        answer = self.command(f'del server {self.backend}/{name}')
        if answer == 'Server deleted.':
            return True
        if 'connection' in answer or 'queue' in answer:
            return False
        raise HAProxyError(f'HAProxy refused to delete {name}: {answer}')
