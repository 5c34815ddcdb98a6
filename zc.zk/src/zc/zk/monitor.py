"""zc.monitor commands for zc.zk, and helpers for health checks.

``servers`` is a zc.monitor command (entry point group ``zc.monitor``):
a plain function of the monitor connection and the command's words, so
zc.zk does not need zc.monitor installed.

- ``servers`` prints, as a JSON list, the nodes this process registered
  (those ``notify`` saw: subscribe it to ``RegisteringServer`` events,
  e.g. with ``monitor.zcml`` or ``zope.event.subscribers``);
- ``servers PATH`` prints the addresses registered under ``PATH``,
  separated by spaces, read through this process's ZooKeeper session
  (else ``$ZC_ZK_CONNECTION_STRING``). When ZooKeeper does not answer
  within ``TIMEOUT`` seconds, it says so in one line (and logs one line).
"""
import json
import logging
import queue
import socket
import sys
import threading
import time
import weakref

from kazoo.exceptions import NoNodeError

import zc.zk
from zc.zk._paths import join

CHECK_TIMEOUT = 5.0
#: Seconds ``servers PATH`` may take to reach ZooKeeper.
TIMEOUT = 5.0

logger = logging.getLogger(__name__)
#: kazoo's messages about the sessions ``servers`` opens: it logs once per
#: connection attempt, so an unreachable ZooKeeper would flood the host's
#: log; ``servers`` logs one line itself instead.
_QUIET = logging.Logger('zc.zk.monitor.kazoo', logging.CRITICAL + 1)


class _Registrations:
    """The servers this process registered, as ``notify`` saw them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._nodes = []
        self._zookeeper = None

    def add(self, event):
        with self._lock:
            self._nodes.append(join(event.path, event.name))
            if event.zookeeper is not None:
                self._zookeeper = weakref.ref(event.zookeeper)

    def nodes(self):
        with self._lock:
            return list(self._nodes)

    def zookeeper(self):
        """The last registering session, while it is open."""
        zk = self._zookeeper and self._zookeeper()
        return None if zk is None or zk.closed else zk

    def clear(self):
        with self._lock:
            self._nodes = []
            self._zookeeper = None


registrations = _Registrations()


def notify(event):
    """Subscriber: remember servers being registered."""
    if isinstance(event, zc.zk.RegisteringServer):
        registrations.add(event)


def servers(connection, path=None):
    """zc.monitor command ``servers [PATH]`` (see the module doc)."""
    if path is None:
        connection.write(json.dumps(registrations.nodes()) + '\n')
        return
    try:
        addresses = _addresses(path)
    except NoNodeError:
        connection.write(f'no such node: {path}\n')
        return
    except _Unreachable as error:
        logger.warning('servers %s: %s', path, error)
        connection.write(f'{error}\n')
        return
    connection.write(' '.join(sorted(addresses)) + '\n')


class _Unreachable(Exception):
    """ZooKeeper did not answer within ``TIMEOUT``."""


def _addresses(path):
    """The names of the children of ``path`` (resolved through links),
    read within ``TIMEOUT`` seconds through this process's session if it
    has one, else through a session of its own."""
    deadline = time.monotonic() + TIMEOUT
    zk = registrations.zookeeper()
    if zk is None:
        try:
            with zc.zk.ZooKeeper(connect_timeout=TIMEOUT,
                                 kazoo_logger=_QUIET) as zk:
                return _children(zk, path, deadline)
        except zc.zk.FailedConnect as error:
            raise _Unreachable(f"can't connect to ZooKeeper at {error}"
                               f' within {TIMEOUT:g} seconds') from None
    if not zk.client.connected:
        raise _Unreachable(f'not connected to ZooKeeper at'
                           f' {zk.connection_string}')
    return _children(zk, path, deadline)


def _children(zk, path, deadline):
    # kazoo's blocking calls wait for a connection however long it takes:
    # a lookup that outlives its time limit is abandoned instead (it ends
    # when the session reconnects or closes).
    result = queue.SimpleQueue()

    def lookup():
        try:
            result.put((True, zk.get_children(zk.resolve(path))))
        except Exception as error:
            result.put((False, error))
    threading.Thread(target=lookup, daemon=True,
                     name=f'zc.zk servers {path}').start()
    try:
        ok, value = result.get(timeout=max(0, deadline - time.monotonic()))
    except queue.Empty:
        raise _Unreachable(f'no answer from ZooKeeper at'
                           f' {zk.connection_string} within {TIMEOUT:g}'
                           f' seconds') from None
    if not ok:
        raise value
    return value


def get_addr(connection_string, path):
    """The address (``host:port``) of a server registered at ``path``, or
    None."""
    with zc.zk.ZooKeeper(connection_string) as zk:
        addresses = sorted(zk.get_children(zk.resolve(path)))
    return addresses[0] if addresses else None


def check(connection_string, path):
    """Exit with status 1 unless a server is registered at ``path`` and
    accepts connections (for health checks and zdaemon ``start-test``)."""
    address = get_addr(connection_string, path)
    if address is None:
        print(f'no server registered at {path}', file=sys.stderr)
        sys.exit(1)
    host, port = zc.zk.parse_addr(address)
    try:
        socket.create_connection((host, port), CHECK_TIMEOUT).close()
    except OSError as error:
        print(f'{address} (registered at {path}) does not accept'
              f' connections: {error.strerror or error}', file=sys.stderr)
        sys.exit(1)
