"""``zc.zk.testing.setUp`` against a real server: each test runs in a node
of its own, and ``KazooClient(connection_string)`` connects there.

Watch callbacks of a real client run in kazoo's callback thread, after the
change that fired them has returned. So that tests (doctests above all)
see their effects at once, as with the fake, the clients made here wait
after each change until every client of the test has received and handled
the notifications it caused, then sleep ``TEST_ZOOKEEPER_SLEEP`` seconds
(default 0.01) for good measure.
"""
import os
import threading
import time
import uuid

import kazoo.client
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import Callback, KazooState

from zc.zk.testing.layer import connect, delete_tree
from zc.zk.testing.sessions import expire_session

SETTLE_TIMEOUT = 10.0
RECOVERY_TIMEOUT = 30.0


class _Settling:
    """An asynchronous result whose ``get()`` also waits for watches."""

    def __init__(self, result, settle):
        self._result = result
        self._settle = settle

    def get(self, *args, **kw):
        value = self._result.get(*args, **kw)
        self._settle()
        return value

    def __getattr__(self, name):
        return getattr(self._result, name)


class RealTest:
    """One test's chroot on a real server, and the client class that
    connects there."""

    def __init__(self, hosts, connection_string, tree_text):
        servers, _, base = hosts.partition('/')
        self.servers = servers
        self.root = (f'/{base}' if base else '') + (
            f'/zc.zk.testing.test-root{uuid.uuid4().hex}')
        self.connection_string = connection_string
        self.sleep = float(os.environ.get('TEST_ZOOKEEPER_SLEEP', 0.01))
        self.clients = []
        self._admin = connect(servers)
        self._admin.ensure_path(self.root)
        self._admin.ensure_path(self.root + '/zookeeper/quota')
        self.client_class = type('KazooClient', (_TestClient,),
                                 {'_test': self})
        if tree_text:
            import zc.zk
            with zc.zk.ZooKeeper(connect(servers + self.root)) as zk:
                zk.import_tree(tree_text)
                zk.client.stop()
                zk.client.close()

    def close(self):
        clients, self.clients = self.clients, []
        for client in clients:
            client.stop()
            client.close()
        delete_tree(self._admin, self.root)
        self._admin.stop()
        self._admin.close()

    def settle(self):
        """Wait until every connected client of the test has handled the
        notifications the last change sent it."""
        current = threading.current_thread()
        clients = [c for c in self.clients if c.connected]
        if any(current in c.handler._workers for c in clients):
            return  # a callback making changes: waiting would deadlock
        for client in clients:
            handled = threading.Event()
            try:
                # Notifications precede replies on a connection, and
                # callbacks run in order: once this marker runs, the
                # callbacks of earlier notifications have run.
                client.sync('/')
                client.handler.dispatch_callback(
                    Callback('watch', handled.set, ()))
            except Exception:
                continue    # disconnected meanwhile: nothing to wait for
            handled.wait(SETTLE_TIMEOUT)
        time.sleep(self.sleep)


class _TestClient(kazoo.client.KazooClient):
    """A kazoo client for one test: the test's connection string leads to
    its chroot; any other one is unreachable."""

    _test = None

    def __init__(self, hosts='127.0.0.1:2181', *args, **kw):
        test = self._test
        servers, _, chroot = hosts.partition('/')
        self._reachable = servers == test.connection_string
        if self._reachable:
            hosts = test.servers + test.root + (f'/{chroot}' if chroot
                                                else '')
        super().__init__(hosts, *args, **kw)
        self._spawned = None
        spawn = self.handler.spawn

        def tracked_spawn(func, *args, **kw):
            thread = spawn(func, *args, **kw)
            if self._spawned is not None:
                self._spawned.append(thread)
            return thread
        self.handler.spawn = tracked_spawn
        test.clients.append(self)

    def start(self, timeout=15):
        if not self._reachable:
            raise KazooTimeoutError('Connection time-out')
        super().start(timeout)

    def start_async(self):
        if not self._reachable:
            return self.handler.event_object()  # never set
        return super().start_async()

    def lose_session(self, func=None):
        """Have the server expire this client's session, call ``func``,
        and return once the client is connected on a new session and its
        listeners' recovery work is done."""
        connected = threading.Event()

        def on_state(state):
            if state == KazooState.CONNECTED:
                connected.set()
                return True
        self._spawned = []
        try:
            self.add_listener(on_state)
            expire_session(self, self._test.servers)
            if func is not None:
                func()
            if not connected.wait(RECOVERY_TIMEOUT):
                raise AssertionError('no new session after expiry')
            for thread in self._spawned:
                thread.join(RECOVERY_TIMEOUT)
        finally:
            self._spawned = None
            self.remove_listener(on_state)
        self._test.settle()

    def stop(self):
        super().stop()
        # Closing the session deleted its ephemeral nodes.
        if self in self._test.clients:
            self._test.settle()

    # kazoo's blocking calls are made of these.

    def transaction(self):
        transaction = super().transaction()
        commit_async = transaction.commit_async
        transaction.commit_async = lambda: _Settling(commit_async(),
                                                     self._test.settle)
        return transaction

    def create_async(self, *args, **kw):
        return _Settling(super().create_async(*args, **kw), self._test.settle)

    def set_async(self, *args, **kw):
        return _Settling(super().set_async(*args, **kw), self._test.settle)

    def delete_async(self, *args, **kw):
        return _Settling(super().delete_async(*args, **kw), self._test.settle)

    def set_acls_async(self, *args, **kw):
        return _Settling(super().set_acls_async(*args, **kw),
                         self._test.settle)
