"""The ZEO server (runzeo) a high-availability node is served by: the
address it bound (known only once runzeo has created its server, after
opening the storages) and disconnecting its clients when the node stops
being the primary (zkzeo clients then follow the new primary's
registration instead of writing to a secondary)."""
import concurrent.futures
import logging
import socket

logger = logging.getLogger(__name__)

#: Bound on waiting for the ZEO server's event loop.
CALL_TIMEOUT = 10
_ANY_HOST = ('', '0.0.0.0', '::')


class ZEOServer:
    """``runzeo``: the ``ZEO.runzeo.ZEOServer`` opening the node's storage,
    which it serves as ``storage_id``."""

    def __init__(self, runzeo, storage_id):
        self._runzeo = runzeo
        self._storage_id = storage_id

    def _server(self):
        return getattr(self._runzeo, 'server', None)

    def address(self):
        """``(host, port)`` the server listens on, or None before it
        does (a blank host is this machine's name)."""
        server = self._server()
        acceptor = getattr(server, 'acceptor', None)
        address = getattr(acceptor, 'addr', None)
        if not isinstance(address, tuple) or not address[1]:
            return None
        host, port = address[:2]
        if host in _ANY_HOST:
            host = socket.gethostname()
        return host, port

    def disconnect_clients(self):
        """Close the connections of the clients of our storage (they
        reconnect, and find it read-only)."""
        server = self._server()
        acceptor = getattr(server, 'acceptor', None)
        if acceptor is None:
            return
        done = concurrent.futures.Future()

        def disconnect():
            try:
                for zeo_storage in list(server.zeo_storages_by_storage_id.get(
                        self._storage_id, ())):
                    zeo_storage.connection.close()
            finally:
                done.set_result(None)
        loop = acceptor.event_loop
        if loop.is_closed():
            return
        loop.call_soon_threadsafe(disconnect)
        try:
            done.result(CALL_TIMEOUT)
        except concurrent.futures.TimeoutError:
            logger.error('could not disconnect the ZEO clients within %s '
                         'seconds', CALL_TIMEOUT)
