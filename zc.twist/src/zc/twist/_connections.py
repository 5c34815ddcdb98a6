"""Opening connections from the reactor without exhausting the pool.

ZODB keeps ``pool_size`` connections ready (7 by default); opening more only
logs a warning, but it means someone is holding connections (threads, or
coroutines waiting on I/O with a connection open). A reactor-side caller
then backs off a little before opening one anyway.
"""
import random

import transaction
from twisted.internet.defer import Deferred

from zc.twist._failures import Failure

#: Each wait for a free connection grows by this much ...
BACKOFF_STEP = 0.0625
#: ... plus a random amount under this, so waiters do not wake together.
BACKOFF_JITTER = 0.05
#: Once the backoff reaches this, a connection is opened regardless.
OPEN_REGARDLESS_AT = 0.5


def default_reactor():
    """The global reactor, imported only when needed, so that importing
    zc.twist never installs a reactor."""
    from twisted.internet import reactor
    return reactor


def availableConnectionCount(db):
    """How many connections ``db`` can open before exceeding its pool size.

    Zero or less means every pooled connection is in use.
    """
    pool = db.pool
    in_use = len(pool.all) - len(pool.available)
    return pool.size - in_use


def open_connection(db, reactor, opened, failed, backoff=0):
    """Open a connection to ``db`` with its own transaction manager, and
    pass it to ``opened``, or the exception to ``failed``. ``reactor``
    None means the global reactor.

    When the pool has no free connection, wait (``reactor.callLater``) with
    a backoff growing by ``BACKOFF_STEP`` plus jitter per try; once it
    reaches ``OPEN_REGARDLESS_AT``, open one anyway. ``opened`` is called
    synchronously when a connection is free at once, and exceptions it
    raises propagate to the caller (or, after a wait, to the reactor).
    """
    if backoff < OPEN_REGARDLESS_AT and availableConnectionCount(db) <= 0:
        backoff += BACKOFF_STEP + random.random() * BACKOFF_JITTER
        if reactor is None:
            reactor = default_reactor()
        reactor.callLater(backoff, open_connection,
                          db, reactor, opened, failed, backoff)
        return
    try:
        connection = db.open(
            transaction_manager=transaction.TransactionManager())
    except Exception as exception:
        failed(exception)
    else:
        opened(connection)


def get_connection(db, deferred=None, backoff=0, reactor=None):
    """A Deferred firing with a new connection to ``db``, opened in a
    pool-aware way (see ``open_connection``), with its own
    ``TransactionManager``. Closing it is the caller's job.

    ``deferred`` is the Deferred to fire (a new one by default), ``backoff``
    the backoff already accumulated, ``reactor`` the reactor to wait
    with (None: the global one).
    """
    if deferred is None:
        deferred = Deferred()
    open_connection(db, reactor, deferred.callback,
                    lambda exception: deferred.errback(Failure(exception)),
                    backoff)
    return deferred
