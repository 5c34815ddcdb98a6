"""``Partial``: call persistent objects from the reactor, transactionally."""
import inspect
import logging
import sys

import transaction.interfaces
import ZODB.POSException
from twisted.internet import defer
from twisted.python import failure as twisted_failure

from zc.twist._connections import default_reactor
from zc.twist._connections import open_connection
from zc.twist._failures import Failure
from zc.twist._failures import sanitize
from zc.twist._references import Reference
from zc.twist.interfaces import IDeferredReference

logger = logging.getLogger(__name__)

#: Errors that are not turned into a failed Deferred only: after the
#: errback they are raised again (out of ``Partial.__call__``, or into the
#: reactor, which logs them). ConflictErrors and other transaction errors,
#: though POSErrors, are retried instead.
EXPLOSIVE_ERRORS = (SystemExit, KeyboardInterrupt,
                    ZODB.POSException.POSError)


def _is_client_disconnected(exception):
    """Whether ``exception`` is ZEO's ``ClientDisconnected``.

    zc.twist does not require ZEO and never imports it: a ClientDisconnected
    can only have been raised if ``ZEO.Exceptions`` was imported already.
    """
    exceptions = sys.modules.get('ZEO.Exceptions')
    return (exceptions is not None
            and isinstance(exception, exceptions.ClientDisconnected))


def _is_reference(obj):
    return IDeferredReference.providedBy(obj)


def _resolve(obj, connection):
    return obj(connection) if _is_reference(obj) else obj


def _database(references):
    """The database to open connections to: that of the first reference.
    The others must be in the same multi-database."""
    db = references[0].db
    for reference in references[1:]:
        other = reference.db
        if other is not db and db.databases.get(
                other.database_name) is not other:
            raise ValueError(
                f'{reference!r} is in database {other.database_name!r},'
                f' which is not part of the multi-database of'
                f' {references[0]!r}: a Partial can only use one database'
                f' or one multi-database')
    return db


class Partial:
    """A call of a persistent object's method, or of anything with
    persistent arguments, made in a transaction of its own.

    ``Partial(call, *args, **kwargs)`` remembers where the persistent
    objects among ``call``, ``args`` and ``kwargs`` live (see
    ``Reference``). Calling it, in the reactor's thread, with more
    arguments (appended to ``args``; keywords override ``kwargs``) opens a
    connection, loads the objects there, calls, commits, and returns a
    Deferred with the result. Transaction errors (conflicts) are retried
    with a new connection up to ``max_transaction_errors`` times; a
    disconnected ZEO client is retried forever with a growing backoff.

    With nothing persistent, the call is made directly and its result
    returned as is.

    The class attributes below are the defaults; set them on an instance to
    change one Partial.
    """

    #: Transaction errors tolerated in one call (None: retry forever).
    max_transaction_errors = 5
    #: Seconds to wait before the first retry after ClientDisconnected ...
    initial_backoff = 5
    #: ... more seconds for each further retry ...
    backoff_increment = 5
    #: ... but never more than this.
    max_backoff = 60

    def __init__(self, call, *args, **kwargs):
        self.call = Reference(call)
        self.args = tuple(map(Reference, args))
        self.kwargs = {name: Reference(value)
                       for name, value in kwargs.items()}
        self._reactor = None
        self._invocation = None

    def setReactor(self, reactor):
        """Use ``reactor`` (for instance a ``twisted.internet.task.Clock``)
        to schedule retries. Returns the Partial, to chain calls."""
        self._reactor = reactor
        return self

    def getReactor(self):
        """The reactor set with ``setReactor``, else the global one."""
        if self._reactor is None:
            return default_reactor()
        return self._reactor

    # The counters describe the latest call of this Partial.

    @property
    def attempt_count(self):
        """Attempts made (connections used) by the latest call."""
        return 0 if self._invocation is None else (
            self._invocation.attempt_count)

    @property
    def transaction_error_count(self):
        """Transaction errors met by the latest call."""
        return 0 if self._invocation is None else (
            self._invocation.transaction_error_count)

    @property
    def backoff(self):
        """The latest call's current ClientDisconnected backoff, None if it
        has not been disconnected."""
        return None if self._invocation is None else (
            self._invocation.backoff)

    def __call__(self, *more_args, **more_kwargs):
        args = self.args + tuple(map(Reference, more_args))
        kwargs = dict(self.kwargs)
        kwargs.update((name, Reference(value))
                      for name, value in more_kwargs.items())
        references = [obj for obj in (self.call, *args, *kwargs.values())
                      if _is_reference(obj)]
        if not references:
            result = self.call(*args, **kwargs)
            if inspect.iscoroutine(result):
                return defer.ensureDeferred(result)
            return result
        self._invocation = _Invocation(
            self, _database(references), args, kwargs)
        return self._invocation.start()

    def __await__(self):
        """``await partial`` calls it without more arguments."""
        return defer.maybeDeferred(self).__await__()

    def __repr__(self):
        return f'<{type(self).__name__} {self.call!r}>'


class _Invocation:
    """One call of a Partial: its Deferred, its attempts, its retries."""

    def __init__(self, partial, db, args, kwargs):
        self.partial = partial
        self.db = db
        self.args = args
        self.kwargs = kwargs
        self.deferred = defer.Deferred(self._cancel)
        self.attempt_count = 0
        self.transaction_error_count = 0
        self.backoff = None
        self._returned = False   # has the caller got the Deferred?
        self._delayed = None     # a scheduled retry
        self._awaiting = None    # a coroutine still running, as a Deferred

    def start(self):
        self._connect()
        self._returned = True
        return self.deferred

    def _connect(self):
        self._delayed = None
        open_connection(self.db, self.partial._reactor,
                        self._attempt, self._failed_to_connect)

    def _failed_to_connect(self, exception):
        self._failed(None, exception)

    def _attempt(self, connection):
        if self.deferred.called:  # cancelled while waiting for the pool
            connection.close()
            return
        self.attempt_count += 1
        try:
            connection.transaction_manager.begin()
            call = _resolve(self.partial.call, connection)
            args = [_resolve(arg, connection) for arg in self.args]
            kwargs = {name: _resolve(value, connection)
                      for name, value in self.kwargs.items()}
            result = call(*args, **kwargs)
        except BaseException as exception:
            self._failed(connection, exception)
            return
        if inspect.iscoroutine(result):
            # The coroutine works with the objects across reactor turns;
            # commit once it is done.
            self._awaiting = defer.ensureDeferred(result)
            self._awaiting.addCallbacks(
                self._coroutine_done, self._coroutine_failed,
                callbackArgs=(connection,), errbackArgs=(connection,))
        else:
            self._commit(connection, result, reraise=True)

    def _coroutine_done(self, result, connection):
        self._awaiting = None
        self._commit(connection, result, reraise=False)

    def _coroutine_failed(self, failure, connection):
        self._awaiting = None
        self._failed(connection, failure.value, reraise=False)

    def _commit(self, connection, result, reraise):
        if self.deferred.called:  # cancelled while the coroutine ran
            self._abort_and_close(connection)
            return
        try:
            connection.transaction_manager.commit()
        except BaseException as exception:
            self._failed(connection, exception, reraise)
            return
        connection.close()
        self._deliver(result)

    def _deliver(self, result):
        if isinstance(result, twisted_failure.Failure):
            self.deferred.errback(sanitize(result))
        elif isinstance(result, defer.Deferred):
            self._awaiting = result
            result.addCallbacks(self._chained_result, self._chained_failure)
        else:
            self.deferred.callback(result)

    def _chained_result(self, result):
        self._awaiting = None
        if not self.deferred.called:
            self.deferred.callback(result)

    def _chained_failure(self, failure):
        self._awaiting = None
        if not self.deferred.called:
            self.deferred.errback(sanitize(failure))

    def _failed(self, connection, exception, reraise=True):
        self._abort_and_close(connection)
        if self.deferred.called:  # cancelled meanwhile
            return
        if _is_client_disconnected(exception):
            self._retry_after_disconnection(exception)
        elif isinstance(exception, transaction.interfaces.TransactionError):
            self._retry_after_transaction_error(exception)
        elif isinstance(exception, EXPLOSIVE_ERRORS):
            traceback = exception.__traceback__
            if self._returned or not reraise:
                self.deferred.errback(Failure(exception))
            if reraise:
                raise exception.with_traceback(traceback)
        else:
            self.deferred.errback(Failure(exception))

    def _abort_and_close(self, connection):
        if connection is None:
            return
        try:
            connection.transaction_manager.abort()
            connection.close()
        except Exception:
            logger.exception('%r: could not abort and close %r',
                             self.partial, connection)

    def _retry_after_transaction_error(self, exception):
        self.transaction_error_count += 1
        limit = self.partial.max_transaction_errors
        if limit is not None and self.transaction_error_count >= limit:
            logger.warning('%r: giving up after %d transaction errors: %s',
                           self.partial, self.transaction_error_count,
                           _describe(exception))
            self.deferred.errback(Failure(exception))
            return
        logger.info('%r: transaction error %d of %s, retrying: %s',
                    self.partial, self.transaction_error_count,
                    'unlimited' if limit is None else limit,
                    _describe(exception))
        self._retry_after(0)

    def _retry_after_disconnection(self, exception):
        partial = self.partial
        if self.backoff is None:
            backoff = partial.initial_backoff
        else:
            backoff = self.backoff + partial.backoff_increment
        self.backoff = min(backoff, partial.max_backoff)
        logger.warning('%r: database disconnected, retrying in %s seconds:'
                       ' %s', partial, self.backoff, _describe(exception))
        self._retry_after(self.backoff)

    def _retry_after(self, seconds):
        self._delayed = self.partial.getReactor().callLater(
            seconds, self._connect)

    def _cancel(self, deferred):
        """Stop what is pending. The Deferred then fails with
        CancelledError; a running coroutine or chained Deferred is
        cancelled too (its transaction is aborted)."""
        if self._delayed is not None and self._delayed.active():
            self._delayed.cancel()
        self._delayed = None
        if self._awaiting is not None:
            self._awaiting.cancel()


def _describe(exception):
    message = str(exception)
    name = type(exception).__name__
    return f'{name}: {message}' if message else name
