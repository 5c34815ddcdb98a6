"""zc.monitor commands for zc.zk, and helpers for health checks.

``servers`` is a zc.monitor command (entry point group ``zc.monitor``):
a plain function of the monitor connection and the command's words, so
zc.zk does not need zc.monitor installed.

- ``servers`` prints, as a JSON list, the nodes this process registered
  (those ``notify`` saw: subscribe it to ``RegisteringServer`` events,
  e.g. with ``monitor.zcml`` or ``zope.event.subscribers``);
- ``servers PATH`` prints the addresses registered under ``PATH``,
  separated by spaces, read through this process's ZooKeeper session
  (else ``$ZC_ZK_CONNECTION_STRING``).
"""
import json
import socket
import sys
import threading
import weakref

import zc.zk
from zc.zk._client import join

CHECK_TIMEOUT = 5.0


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
    zk = registrations.zookeeper()
    if zk is not None:
        addresses = zk.get_children(zk.resolve(path))
    else:
        with zc.zk.ZooKeeper() as zk:
            addresses = zk.get_children(zk.resolve(path))
    connection.write(' '.join(sorted(addresses)) + '\n')


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
