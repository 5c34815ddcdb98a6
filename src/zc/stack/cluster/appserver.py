"""The demo application as the cluster's app servers run it
(``zkzopeserver zc.stack.cluster.appserver:application ...``).

Its database is the cluster's primary, found in ZooKeeper through
zc.zkzeo; its ``/status`` page reads the cluster's registrations. Both
are opened on the first request, from the environment zc-stack gives the
process: ``ZC_STACK_ZOOKEEPER`` (the connection string), ``ZC_STACK_PATH``
(the cluster's ZooKeeper path) and ``ZC_STACK_DATABASE``.
"""
import os
import threading

import zc.zk

from zc.stack.cluster.demo import GuestBook
from zc.stack.cluster.registry import Layout
from zc.stack.cluster.status import registered_services


class Application:
    """A WSGI application that builds the guestbook on first use."""

    def __init__(self, environ=os.environ):
        self.environ = environ
        self._lock = threading.Lock()
        self._app = None

    def _build(self):
        import zc.zkzeo  # only the cluster's app servers need it
        connection = self.environ['ZC_STACK_ZOOKEEPER']
        layout = Layout(self.environ['ZC_STACK_PATH'],
                        self.environ['ZC_STACK_DATABASE'])
        zk = zc.zk.ZooKeeper(connection, wait=True)
        db = zc.zkzeo.DB(connection, layout.primary)
        zookeeper = dict(role='zookeeper', address=connection, pid=None,
                         monitor=None, lag_seconds=None)
        return GuestBook(db, cluster=lambda: [zookeeper]
                         + registered_services(zk, layout))

    def __call__(self, environ, start_response):
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._build()
        return self._app(environ, start_response)


application = Application()
