"""WSGI servers on OS-assigned ports, registered in ZooKeeper.

``run`` is the paste server runner (``use = egg:zc.zkzopeserver``); the
``zkzopeserver`` console script (``zc.zkzopeserver.script``) runs it
without paste. The documentation is README.rst in this package.
"""
import threading

from zc.zkzopeserver import options
from zc.zkzopeserver.options import DEFAULT_GRACE_PERIOD, ConfigError
from zc.zkzopeserver.runner import Runner
from zc.zkzopeserver.server import Server

__all__ = ['run', 'ConfigError', 'Runner', 'Server',
           'event_for_testing', 'stop_for_testing', 'server_for_testing']

#: Set while a server started by ``run`` serves (cleared when it stops).
event_for_testing = threading.Event()
#: The ``Server`` the last ``run`` started.
server_for_testing = None
#: Seconds ``stop_for_testing`` waits for the thread it is given.
STOP_TIMEOUT = 60

_running = []


def run(wsgi_app, global_conf, zookeeper, path, session_timeout=None,
        name='zc.zkzopeserver', host='', port=0, threads=1,
        monitor_server=None, zservertracelog=None, loggers=None,
        grace_period=DEFAULT_GRACE_PERIOD):
    """Serve ``wsgi_app`` registered in ZooKeeper until SIGTERM, SIGINT (or
    ``stop_for_testing``), then leave gracefully.

    Values may be strings, as paste passes them: ``zookeeper`` is the
    connection string, ``path`` the node to register under,
    ``session_timeout`` in milliseconds, ``monitor_server`` a zc.monitor
    ``HOST:PORT``, ``loggers`` a level name or ZConfig logging
    configuration (``$$(`` for ``%(``), ``grace_period`` the seconds
    requests in flight get to finish when stopping. Bad values raise
    ``ConfigError``.
    """
    global server_for_testing
    settings = dict(
        zookeeper=options.required('zookeeper', zookeeper),
        path=options.service_path(path),
        session_timeout=(None if session_timeout in (None, '') else
                         options.integer('session_timeout', session_timeout,
                                         minimum=1)),
        name=str(name),
        host=str(host or '').strip(),
        port=options.integer('port', port, maximum=65535),
        threads=options.integer('threads', threads, minimum=1),
        monitor_address=options.monitor_address(monitor_server),
        grace_period=options.seconds('grace_period', grace_period),
    )
    if options.boolean('zservertracelog', zservertracelog):
        raise ConfigError(
            'zservertracelog = true needs zc.zservertracelog, which does not'
            ' exist for Python 3; remove the setting')
    if loggers:
        options.configure_loggers(loggers)
    runner = Runner(wsgi_app, **settings)
    server_for_testing = runner.server
    _running.append(runner)
    try:
        runner.serve(on_serving=event_for_testing.set)
    finally:
        _running.remove(runner)
        event_for_testing.clear()
        runner.close()


def stop_for_testing(thread=None):
    """Stop the servers ``run`` serves (gracefully); then wait for
    ``thread`` (the one calling ``run``) to end, when given."""
    for runner in list(_running):
        runner.stop()
    if thread is not None:
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            raise AssertionError(f'{thread} still runs after a stop')
