"""The server's zc.monitor (``monitor-server``, extra ``monitor``): a
monitor whose ``servers`` command (zc.zk's) lists the nodes this process
registered, which is how ``zkzeo-nagios -M`` tells servers apart."""
import socket

WILDCARD_HOSTS = ('', '0.0.0.0', '::')


class MonitorUnavailable(Exception):
    """The monitor cannot be started (says why, in one line)."""


def start(address):
    """Start a monitor at ``address`` (``(host, port)`` or a Unix socket
    path); return ``(listener, property)``, the property being the TCP
    address to record as ``host:port``, or None for a Unix socket."""
    try:
        import zc.monitor
        import zc.zk.monitor
        import zope.event
    except ImportError as error:
        raise MonitorUnavailable(
            f'monitor-server needs zc.monitor ({error}): install'
            ' zc.zkzeo[monitor]') from None
    if zc.zk.monitor.notify not in zope.event.subscribers:
        zope.event.subscribers.append(zc.zk.monitor.notify)
    try:
        listener = zc.monitor.Listener(address)
    except OSError as error:
        raise MonitorUnavailable(
            f'cannot start the monitor at {address}:'
            f' {error.strerror or error}') from None
    if isinstance(listener.address, str):
        return listener, None
    host, port = listener.address
    if host in WILDCARD_HOSTS:
        host = socket.getfqdn()
    return listener, f'{host}:{port}'
