"""Testing support for code using zc.zk (public API).

``setUp(test)`` / ``tearDown(test)`` (doctest or unittest) give a test a
ZooKeeper holding a small tree, reachable as ``KazooClient(connection_string)``
(and so as ``zc.zk.ZooKeeper(connection_string)``), by default
``'zookeeper.example.com:2181'``:

- normally an in-memory fake (``zc.zk.testing.fake``), exposed as the
  global ``ZooKeeper`` (``_allow_connection``, and ``lose_session`` on its
  clients);
- a real server when ``TEST_ZOOKEEPER_CONNECTION`` is set (as the
  ``ZOOKEEPER`` layer does): the test then runs in a node of its own,
  removed afterwards, and ``ZooKeeper`` is None.

``ZOOKEEPER`` / ``ZooKeeperLayer`` (``zc.zk.testing.layer``) run a real
ZooKeeper from Debian's ``zookeeper`` package for a layer's tests
(``RestartableZooKeeperLayer``: one of its own, for tests that restart it);
``zc.zk.testing.server`` starts standalone servers and ensembles;
``stop_process(pid)`` makes one hang (SIGSTOP), and returns once it does.
"""
import os
import time
import unittest.mock
import warnings

import kazoo.client

import zc.zk
from zc.zk.testing._real import RealTest
from zc.zk.testing.fake import FakeClient, FakeServer
from zc.zk.testing.layer import (CONNECTION_VARIABLE, ZOOKEEPER,
                                 RestartableZooKeeperLayer, ZooKeeperLayer)
from zc.zk.testing.server import (Ensemble, Server, ZooKeeperUnavailable,
                                  free_port, stop_process)
from zc.zk.testing.sessions import expire_session

__all__ = [
    'setUp', 'tearDown', 'ZooKeeper', 'DEFAULT_TREE',
    'testing_with_real_zookeeper', 'assert_', 'wait_until',
    'ZOOKEEPER', 'ZooKeeperLayer', 'RestartableZooKeeperLayer', 'Server',
    'Ensemble',
    'ZooKeeperUnavailable', 'free_port', 'stop_process', 'expire_session',
    'FakeServer', 'FakeClient',
]

#: The fake server of the current test; None with a real server.
ZooKeeper = None

DEFAULT_TREE = """
/fooservice
  database = '/databases/foomain'
  threads = 1
  favorite_color = 'red'
  /providers
"""

_STATE = '_zc_zk_testing'


def testing_with_real_zookeeper():
    """The real server tests use (``TEST_ZOOKEEPER_CONNECTION``), or
    None when they use the fake."""
    return os.environ.get(CONNECTION_VARIABLE) or None


def setUp(test, tree=None, connection_string='zookeeper.example.com:2181',
          *, real=None):
    """Give ``test`` a ZooKeeper holding ``tree`` (default
    ``DEFAULT_TREE``) at ``connection_string``.

    ``real`` chooses: True for the real server (which must be set in
    ``TEST_ZOOKEEPER_CONNECTION``), False for the fake, None (default) for
    the real one when that variable is set.
    """
    global ZooKeeper
    hosts = testing_with_real_zookeeper()
    if real is None:
        real = hosts is not None
    elif real and hosts is None:
        raise ZooKeeperUnavailable(
            f'a real ZooKeeper was asked for, but {CONNECTION_VARIABLE} is'
            ' not set')
    tree = DEFAULT_TREE if tree is None else tree
    if real:
        backend = RealTest(hosts, connection_string, tree)
        client_class = backend.client_class
        ZooKeeper = None
    else:
        backend = FakeServer(connection_string)
        client_class = type('KazooClient', (FakeClient,), {
            '__init__': lambda self, *a, **kw: FakeClient.__init__(
                self, backend, *a, **kw)})
        ZooKeeper = backend
        with zc.zk.ZooKeeper(backend.client(connection_string)) as zk:
            zk.client.start()
            zk.create('/zookeeper/quota', makepath=True)
            zk.import_tree(tree)
            zk.client.stop()
    patch = unittest.mock.patch.object(kazoo.client, 'KazooClient',
                                       client_class)
    patch.start()
    state = dict(backend=backend, patch=patch, real=real)
    setattr(test, _STATE, state)
    globs = getattr(test, 'globs', None)
    if globs is not None:
        globs['ZooKeeper'] = ZooKeeper


def tearDown(test):
    """Undo ``setUp``: the real server's test node is removed."""
    global ZooKeeper
    state = getattr(test, _STATE, None)
    if state is None:
        return
    delattr(test, _STATE)
    state['patch'].stop()
    if state['real']:
        state['backend'].close()
    ZooKeeper = None


def assert_(condition, message='', error=True):
    """Fail (or with ``error=False``, print) ``message`` unless
    ``condition`` holds: an assertion that works in doctests."""
    if not condition:
        if error:
            raise AssertionError(message)
        print('assertion failed:', message)


def wait_until(func=None, timeout=9, wait=.01, message=None):
    """Wait until ``func()`` is true (deprecated: use
    ``zope.testing.wait``)."""
    warnings.warn('wait_until is deprecated; use zope.testing.wait',
                  DeprecationWarning, stacklevel=2)
    deadline = time.monotonic() + timeout
    while not func():
        if time.monotonic() > deadline:
            raise AssertionError(message or f'timed out waiting for {func}')
        time.sleep(wait)
