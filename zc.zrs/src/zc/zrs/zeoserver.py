"""The ZEO server (runzeo) a high-availability node is served by: the
address it bound (known only once runzeo has created its server, after
opening the storages) and disconnecting its clients when the node stops
being the primary (zkzeo clients then follow the new primary's
registration instead of writing to a secondary), aborting what ZEO would
leave half-done: their transactions, and one whose ``tpc_finish`` failed
(not acknowledged)."""
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

    def _call_soon(self, function):
        """Have the ZEO server's thread run ``function(storage_server)``;
        False (and nothing runs) before the server exists or once it
        stopped."""
        server = self._server()
        acceptor = getattr(server, 'acceptor', None)
        if acceptor is None or acceptor.event_loop.is_closed():
            return False
        acceptor.event_loop.call_soon_threadsafe(function, server)
        return True

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
        """Abort the transactions of the clients of our storage and close
        their connections (they reconnect, and find it read-only). From
        any thread but the ZEO server's."""
        done = concurrent.futures.Future()

        def disconnect(server):
            try:
                _forget_clients(self._zeo_storages(server))
            finally:
                done.set_result(None)
        if not self._call_soon(disconnect):
            return
        try:
            done.result(CALL_TIMEOUT)
        except concurrent.futures.TimeoutError:
            logger.error('could not disconnect the ZEO clients within %s '
                         'seconds', CALL_TIMEOUT)

    def abort_failed_commit(self, transaction):
        """Abort ``transaction`` in the ZEO server once its failed
        ``tpc_finish`` (NotAcknowledged) has been answered: a ZEO client
        sends no ``tpc_abort`` after a failed ``tpc_finish``, and ZEO
        would keep its commit lock, so every other client's vote would
        wait for ever. Called from the ZEO server's thread."""
        def abort(server):
            for zeo_storage in self._zeo_storages(server):
                if zeo_storage.transaction is transaction:
                    _abort(zeo_storage)
        self._call_soon(abort)

    def forget_clients(self):
        """Abort the transactions of our storage's clients, forget them
        and close their connections, in one callback of the ZEO server's
        thread (see _AbortingDB). Schedules it from any thread."""
        def forget(server):
            _forget_clients(self._zeo_storages(server))
        self._call_soon(forget)

    def database(self, db):
        """What the node gives its roles for the ZEO server's ``db``."""
        return _AbortingDB(db, self)

    def _zeo_storages(self, server):
        return list(server.zeo_storages_by_storage_id.get(self._storage_id,
                                                          ()))


def _forget_clients(zeo_storages):
    """What ZEO does when a client goes away, for clients whose connection
    the server closes (ZEO does nothing then): abort the transaction and
    forget the client, so that no invalidation is written to its closed
    connection (Python 3.13's transports answer that with a TypeError),
    and close the connection if it is not closed yet."""
    for zeo_storage in zeo_storages:
        zeo_storage.notify_disconnected()
        zeo_storage.connection.close()


def _abort(zeo_storage):
    """Abort a client's transaction in the ZEO server: ZEO does it when a
    client goes away, but not when the server closes the connection (or
    after a failed ``tpc_finish``), and the commit lock would stay taken."""
    transaction = zeo_storage.transaction
    if transaction is not None:
        zeo_storage.tpc_abort(transaction.id)


class _AbortingDB:
    """The ZEO server's database as a node's storages see it. Having the
    clients drop their caches (``invalidateCache``) closes their
    connections as ZEO does, and also aborts their transactions, which
    ZEO would leave holding the commit lock, and forgets them (see
    _forget_clients)."""

    def __init__(self, db, server):
        self._db = db
        self._server = server

    def invalidateCache(self):  # noqa: N802 (the storage API's name)
        # ZEO's own rebuilds the invalidation queue, then schedules closing
        # each client's connection, a callback each. Forgetting the clients
        # after those left a gap: a vote that waited for the commit lock
        # ran in between and was answered on its closed connection (Python
        # 3.13's transports raise TypeError there, which asyncio logs as
        # an ERROR). So the queue is rebuilt as ZEO does, and one callback
        # aborts, forgets and closes every client.
        server, storage_id = self._db.server, self._db.storage_id
        server._setup_invq(storage_id, server.storages[storage_id])
        self._server.forget_clients()

    def __getattr__(self, name):
        return getattr(self._db, name)
