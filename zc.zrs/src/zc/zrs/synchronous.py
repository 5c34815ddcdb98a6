"""Synchronous commit: how far a primary's secondaries acknowledged, and
the gate its commits pass.

A zrs2.2 secondary acknowledges transactions once they are durable on its
disk. ``Acknowledgements`` keeps the newest tid each connected secondary
acknowledged (the tid it started from counts: it has it). With
``required`` N > 0, a committing thread waits in ``finish(tid)`` until N
secondaries acknowledged its tid, at most ``timeout`` seconds. On timeout,
with ``fallback`` ``fail`` it raises NotAcknowledged, and the gate stays
closed (``check()``, at tpc_begin, raises) until N secondaries are in sync
again; with ``async`` the commit returns and commits stop waiting (one
WARNING) until N secondaries are in sync again (one INFO).

``fence()`` closes the gate (Fenced) and fails the waiting commits
(NotAcknowledged), whatever N: the primary may no longer be the primary.
``drain()`` (a planned switchover) closes the gate too, but lets the
commits already past it finish (or fail) as usual, and waits until they
did: then the primary's last transaction is final, and the switchover
can wait until the new primary has it.
"""
import logging
import threading
import time

from ZODB.utils import tid_repr
from ZODB.utils import z64

from zc.zrs.interfaces import Fenced
from zc.zrs.interfaces import NotAcknowledged

logger = logging.getLogger('zc.zrs.primary')

FALLBACKS = ('fail', 'async')


def check_settings(synchronous, timeout, fallback):
    """ValueError (one line) for settings that make no sense."""
    if not isinstance(synchronous, int) or synchronous < 0:
        raise ValueError(f'synchronous must be a number of secondaries '
                         f'(0 or more), not {synchronous!r}')
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f'synchronous-timeout must be more than 0 '
                         f'seconds, not {timeout!r}')
    if fallback not in FALLBACKS:
        raise ValueError(f'synchronous-fallback must be fail or async, '
                         f'not {fallback!r}')


def _secondaries(n):
    return f'{n} secondar{"y" if n == 1 else "ies"}'


class Acknowledgements:
    """What a primary knows of its secondaries' acknowledgements (updated
    from the zc.zrs loop) and the gate of its commits (committing
    threads).

    ``last_tid`` is the storage's last transaction when it starts;
    ``announce()`` is called (from the loop) once a transaction whose
    commit failed with NotAcknowledged is acknowledged after all, so that
    clients that were not told of it can be (see Primary)."""

    def __init__(self, required=0, timeout=5.0, fallback='fail',
                 last_tid=z64, announce=lambda: None):
        check_settings(required, timeout, fallback)
        self.required = required
        self.timeout = timeout
        self.fallback = fallback
        self.fenced = None  # the reason, while fenced
        self._failing = False  # fenced: waiting commits fail
        self._committing = set()  # transactions past the gate
        self._announce = announce
        self._condition = threading.Condition()
        self._acknowledged_by = {}  # secondary -> newest tid it has
        self._committed = last_tid  # the newest local commit
        self._behind = False  # a commit timed out; not in sync since
        self._unannounced = None  # newest tid of a failed commit

    # From the loop.

    def acknowledge(self, secondary, tid):
        """``secondary`` (any hashable) has everything up to ``tid``."""
        announce = False
        with self._condition:
            self._acknowledged_by[secondary] = tid
            self._condition.notify_all()
            newest = self._acknowledged()
            if newest is None:
                return
            if self._behind and newest >= self._committed:
                self._behind = False
                logger.info('%s in sync again: synchronous commit resumes',
                            _secondaries(self.required))
            if self._unannounced is not None and newest >= self._unannounced:
                self._unannounced = None
                announce = True
        if announce:
            self._announce()

    def disconnected(self, secondary):
        with self._condition:
            self._acknowledged_by.pop(secondary, None)
            self._condition.notify_all()  # "all connected" may be there

    # From any thread.

    def acknowledged(self, count=None):
        """The newest tid that ``count`` secondaries have durably (default:
        ``required``, or all connected ones if 0); None if fewer are
        connected, or none."""
        with self._condition:
            return self._acknowledged(count)

    def _acknowledged(self, count=None):
        tids = sorted(self._acknowledged_by.values(), reverse=True)
        needed = count or self.required or len(tids)
        if not tids or len(tids) < needed:
            return None
        return tids[needed - 1]

    def wait(self, tid, timeout, count=None):
        """Whether ``tid`` is acknowledged (see ``acknowledged``) within
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while not self._has(tid, count):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def _has(self, tid, count=None):
        newest = self._acknowledged(count)
        return newest is not None and newest >= tid

    def fence(self, reason):
        with self._condition:
            self.fenced = reason
            self._failing = True
            self._condition.notify_all()
        logger.warning('primary fenced: %s', reason)

    def drain(self, reason, timeout):
        """Close the gate, and return whether every commit past it ended
        (finished or failed) within ``timeout`` seconds. The gate stays
        closed until ``unfence()``."""
        deadline = time.monotonic() + timeout
        with self._condition:
            if self.fenced is None:
                self.fenced = reason
            logger.warning('primary fenced: %s', reason)
            while self._committing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def close(self):
        """The primary closes: commits waiting for acknowledgements give up
        (and new ones are refused)."""
        with self._condition:
            self.fenced = 'the primary is closed'
            self._failing = True
            self._condition.notify_all()

    def unfence(self):
        with self._condition:
            was, self.fenced = self.fenced, None
            self._failing = False
        if was is not None:
            logger.info('primary no longer fenced (was: %s)', was)

    # From committing threads.

    def check(self):
        """Raise if commits are refused."""
        reason = self.fenced
        if reason is not None:
            raise Fenced(f'the primary is fenced: {reason}')
        if self._behind and self.fallback == 'fail':
            raise NotAcknowledged(
                f'commit refused: synchronous commit waits for '
                f'{_secondaries(self.required)} to be in sync again')

    def begin(self, transaction):
        """At tpc_begin: raise if commits are refused, else count
        ``transaction`` as past the gate until ``ended(transaction)``
        (checked and counted at once: ``drain()`` misses no commit)."""
        with self._condition:
            self.check()
            self._committing.add(id(transaction))

    def ended(self, transaction):
        """``transaction`` finished or was aborted (or never began)."""
        with self._condition:
            if id(transaction) in self._committing:
                self._committing.discard(id(transaction))
                self._condition.notify_all()

    def finish(self, tid):
        """After ``tid`` committed locally: return once it is acknowledged
        (or, with fallback async, degraded); raise NotAcknowledged if it
        cannot be."""
        with self._condition:
            if tid > self._committed:
                self._committed = tid
            if not self.required:
                return
            if self._failing:
                raise self._fenced_error(tid)
            if self._behind and self.fallback == 'async':
                return  # degraded: until in sync again
            deadline = time.monotonic() + self.timeout
            while not self._failing and not self._has(tid):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            else:
                if not self._failing:
                    return
                raise self._fenced_error(tid)
            self._behind = True
            if self.fallback == 'async':
                logger.warning(
                    'synchronous commit degraded to asynchronous: %s did '
                    'not acknowledge %s within %g seconds',
                    _secondaries(self.required), tid_repr(tid), self.timeout)
                return
            self._unannounced = tid
            logger.warning(
                '%s did not acknowledge %s within %g seconds: commits are '
                'refused until they are in sync', _secondaries(self.required),
                tid_repr(tid), self.timeout)
            needed = _secondaries(self.required)
            raise NotAcknowledged(
                f'{tid_repr(tid)} committed here but {needed} did not '
                f'acknowledge it within {self.timeout:g} seconds')

    def _fenced_error(self, tid):
        """What a commit raises when the primary is fenced before it is
        acknowledged."""
        self._unannounced = tid
        return NotAcknowledged(
            f'{tid_repr(tid)} committed here but not acknowledged: the '
            f'primary is fenced: {self.fenced}')
