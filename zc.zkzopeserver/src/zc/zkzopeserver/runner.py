"""The life of one server: listen, register in ZooKeeper, serve, and on a
stop leave gracefully.

A stop (SIGTERM, SIGINT, or ``stop()`` from any thread) is carried out
in this order, so that clients are no longer sent new work before the port
closes and no request in flight is lost:

1. the ZooKeeper session is closed, which removes the registration;
2. the listening socket is closed;
3. requests in flight finish (at most ``grace_period`` seconds), and each
   connection is closed once it is idle;
4. the task threads and the monitor server stop.
"""
import asyncore
import contextlib
import logging
import signal
import socket
import threading
import time

import zc.zk
from kazoo.exceptions import NoNodeError
from zope.server.dualmodechannel import the_trigger
from zope.server.taskthreads import ThreadedTaskDispatcher

from zc.zkzopeserver.options import DEFAULT_GRACE_PERIOD, ConfigError
from zc.zkzopeserver.server import Server

logger = logging.getLogger('zc.zkzopeserver')

#: Seconds the loop waits for I/O when nothing wakes it (a stop does).
POLL_TIMEOUT = 30.0
#: Seconds between looks at the connections while draining.
DRAIN_POLL = 0.05
#: Seconds the task threads get to end once the connections are closed.
THREADS_TIMEOUT = 1.0

_WILDCARD_HOSTS = ('', '0.0.0.0', '::')


class Runner:
    """A WSGI server for ``app`` listening at ``host``/``port`` (0: the
    OS picks), registered as ``host:port`` under ``path`` in the
    ZooKeeper at ``zookeeper``, until stopped.

    Creating it connects to ZooKeeper (``zc.zk.FailedConnect`` when it
    cannot), binds (``ConfigError`` when it cannot) and starts the monitor
    server at ``monitor_address`` (a ``zc.monitor`` address) when given;
    when any step fails, what was started is stopped again. ``serve()``
    then registers and serves until ``stop()``.
    """

    def __init__(self, app, zookeeper, path, *, session_timeout=None,
                 name='zc.zkzopeserver', host='', port=0, threads=1,
                 monitor_address=None, grace_period=DEFAULT_GRACE_PERIOD,
                 server_class=Server):
        self.path = path
        self.grace_period = grace_period
        self.server = self.zookeeper = self.monitor = None
        self.dispatcher = ThreadedTaskDispatcher()
        self._stop_requests = 0
        try:
            try:
                self.zookeeper = zc.zk.ZooKeeper(
                    zookeeper, session_timeout=(
                        None if session_timeout is None else session_timeout
                        / 1000))
            except ValueError as error:   # a malformed connection string
                raise ConfigError(f'zookeeper: {error}') from None
            self.dispatcher.setThreadCount(threads)
            try:
                self.server = server_class(app, name, host, port,
                                           task_dispatcher=self.dispatcher)
            except OSError as error:
                raise ConfigError(f'cannot listen at {host}:{port}:'
                                  f' {error.strerror or error}') from None
            # zope.server keeps the port it was given; the environment
            # (SERVER_PORT) must show the one the OS chose.
            self.server.port = self.server.address[1]
            self._host = host
            self._properties = {}
            if monitor_address is not None:
                monitor = self._start_monitor(monitor_address, host)
                if monitor is not None:
                    self._properties['monitor'] = monitor
        except BaseException:
            self.close()
            raise

    def _start_monitor(self, address, host):
        from zc.monitor import Listener
        from zc.monitor.address import format_address
        from zc.monitor.listener import open_or_warn
        try:
            self.monitor = open_or_warn('monitor', Listener, address)
        except OSError as error:
            raise ConfigError(
                f'cannot start the monitor at {format_address(address)}:'
                f' {error.strerror or error}') from None
        if self.monitor is None:
            return None
        bound = self.monitor.address
        if isinstance(bound, tuple) and bound[0] in _WILDCARD_HOSTS:
            # Tell clients an address they can connect to.
            bound = (host or socket.getfqdn(), bound[1])
        logger.info('Monitor listening at %s', format_address(bound))
        return format_address(bound)

    def _register(self):
        host, port = self._host, self.server.port
        try:
            self.zookeeper.resolve(self.path)
        except NoNodeError:
            self.zookeeper.create_recursive(self.path, b'',
                                            zc.zk.OPEN_ACL_UNSAFE)
            logger.info('Created %s in ZooKeeper', self.path)
        self.zookeeper.register(self.path, (host, port), **self._properties)
        self.server.zookeeper = self.zookeeper
        logger.info('Registered %s:%s under %s', host, port, self.path)

    # Serving

    def serve(self, on_serving=None):
        """Register, serve until ``stop()`` (or SIGTERM or SIGINT, when
        nobody else handles them), then shut down gracefully.
        ``on_serving`` is called once the server serves.

        The signal handlers come first: a stop asked for while
        registering is honoured as soon as the registration is made.
        """
        with _signal_handlers(self.stop):
            self._register()
            host, port = self.server.address
            logger.info('Serving on %s:%s', host, port)
            if on_serving is not None:
                on_serving()
            while not self._stop_requests:
                asyncore.poll(POLL_TIMEOUT)
            self._shut_down()

    def stop(self, *signal_args):
        """Ask the server to stop, from any thread or a signal handler.

        A second request cuts the grace period short.
        """
        self._stop_requests += 1
        the_trigger.pull_trigger()  # wake the loop now

    def _shut_down(self):
        host, port = self.server.address
        self._close_zookeeper()
        logger.info('Unregistered %s:%s from %s', host, port, self.path)
        self.server.close()  # no new connections
        deadline = time.monotonic() + self.grace_period
        while self.server.close_idle_channels():
            if time.monotonic() >= deadline or self._stop_requests > 1:
                logger.warning('Stopping with requests unfinished after the'
                               ' grace period (%ss)', self.grace_period)
                break
            asyncore.poll(DRAIN_POLL)
        logger.info('Stopped serving on %s:%s', host, port)

    # Clean-up

    def _close_zookeeper(self):
        if self.zookeeper is not None:
            try:
                self.zookeeper.close()
            except Exception:
                logger.exception('Could not close the ZooKeeper session')

    def close(self):
        """Stop everything at once (``serve()`` does it gracefully).
        Idempotent. Connections still running a request are left to the
        process's exit."""
        self._close_zookeeper()
        if self.server is not None:
            self.server.close()
            for channel in self.server.channels():
                if channel.async_mode:
                    channel.close()
        self.dispatcher.shutdown(cancel_pending=True,
                                 timeout=THREADS_TIMEOUT)
        if self.monitor is not None:
            self.monitor.close()


#: The signals that stop the server gracefully, with the handler each
#: must still have (nobody else handles it) for ours to be installed.
_STOP_SIGNALS = {signal.SIGTERM: signal.SIG_DFL,
                 signal.SIGINT: signal.default_int_handler}


@contextlib.contextmanager
def _signal_handlers(stop):
    """Make SIGTERM and SIGINT (Ctrl-C) call ``stop`` while serving,
    unless the host program handles them already, or we are not in the
    main thread (where Python cannot set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    installed = {}
    for signum, default in _STOP_SIGNALS.items():
        if signal.getsignal(signum) == default:
            signal.signal(signum, stop)
            installed[signum] = default
    if signal.SIGTERM in installed:
        logger.info('Installed SIGTERM handler')
    try:
        yield
    finally:
        for signum, default in installed.items():
            signal.signal(signum, default)
