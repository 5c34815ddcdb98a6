"""A command-line monitor server to run inside any long-running process.

``start(address)`` serves one-line text commands at a TCP or Unix socket
address from a daemon thread; commands are plug-ins (see
``zc.monitor.interfaces``). The documentation is README.rst in this package.
"""
import logging

from zc.monitor.address import parse_address
from zc.monitor.basics import help, interactive, quit
from zc.monitor.interfaces import IMetricsProvider, IMonitorPlugin
from zc.monitor.listener import Listener, open_or_warn
from zc.monitor.plugins import register
from zc.monitor.protocol import (INTERACTIVE_MARKER, MORE_MARKER,
                                 QUIT_MARKER, Server)

__all__ = [
    'start', 'stop', 'register', 'register_basics', 'parse_address',
    'Listener', 'Server', 'IMonitorPlugin', 'IMetricsProvider',
    'INTERACTIVE_MARKER', 'QUIT_MARKER', 'MORE_MARKER',
    'help', 'interactive', 'quit', 'last_listener',
]

logger = logging.getLogger(__name__)

#: The listener the last successful ``start()`` created.
last_listener = None
#: Listeners created by ``start()``, which ``stop()`` closes.
_started = []


def start(address, **options):
    """Start a monitor server at ``address``; return the bound address.

    ``address`` is an int (a TCP port on 127.0.0.1; 0 picks a free one), a
    ``(host, port)`` tuple (host ``''`` listens on every interface) or a str
    (a Unix socket path, created 0600). ``options`` are those of
    ``Listener``. If another server has the address, a warning is logged
    and False returned; other socket errors are raised.
    """
    global last_listener
    listener = open_or_warn('monitor', Listener, address, **options)
    if listener is None:
        return False
    last_listener = listener
    _started.append(listener)
    logger.info('Monitor listening at %s', listener.address)
    return listener.address


def stop():
    """Stop the monitor servers ``start()`` started and free their
    addresses."""
    global last_listener
    while _started:
        _started.pop().close()
    last_listener = None


def register_basics():
    """Register ``help``, ``interactive`` and ``quit`` as utilities.

    They are found through zc.monitor's own entry points anyway; this is
    for code written for the original zc.monitor, and registrations made
    here take precedence like any utility.
    """
    for command in (help, interactive, quit):
        register(command)
