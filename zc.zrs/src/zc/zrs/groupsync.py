"""Group commit for a secondary's FileStorage: one fsync per batch of
replicated transactions instead of one per transaction, in a thread of its
own.

A FileStorage fsyncs in every ``tpc_finish``. A secondary catching up
applies thousands of transactions in a row, and those fsyncs, not the
network or the parsing, then set its speed; a secondary following a burst
of commits would make each new transaction wait for the previous one's
fsync. So the secondary lets the storage finish without fsync, and a
syncing thread fsyncs the file while the applier goes on: when the
applier is idle (so a caught-up secondary has every transaction on disk,
as before), and at least every MAX_DELAY seconds or MAX_TRANSACTIONS
transactions during a catch-up. What an fsync covers is known when it
starts (what the applier has flushed by then); whatever was asked to wait
for it (the acknowledgements) runs only after it returned.

What an OS crash can cost is the tail of the last batch: the FileStorage
drops a damaged tail when it opens, and the secondary fetches those
transactions again from the primary (a process crash costs nothing: the
data is in the OS's cache). This applies only to a plain ZODB FileStorage,
whose finishing step is exactly the one it was written against; anything
else (a subclass, a relay's Primary) keeps fsyncing every transaction.
"""
import logging
import os
import queue
import threading
import time

from zc.zrs import fsinternals

logger = logging.getLogger('zc.zrs.secondary')

MAX_DELAY = 0.5
MAX_TRANSACTIONS = 1000
#: Bound on waiting for the syncing thread at close.
CLOSE_TIMEOUT = 60


class GroupSync:
    """Controls when the secondary's storage fsyncs. ``deferring`` tells
    whether group commit is on for this storage."""

    def __init__(self, storage):
        self._storage = storage
        self.deferring = fsinternals.can_finish_without_fsync(storage)
        self._unsynced = 0
        self._since = None
        self._requests = queue.Queue()
        self._thread = None
        if self.deferring:
            fsinternals.finish_without_fsync(storage, self._finished)
            self._thread = threading.Thread(
                target=self._run, daemon=True,
                name=f'zc.zrs sync {storage.getName()}')
            self._thread.start()

    def _finished(self):
        if not self._unsynced:
            self._since = time.monotonic()
        self._unsynced += 1

    def applied(self, more_waiting):
        """After each replicated transaction: whether to make what is
        applied durable now (``sync``): unless more are waiting and the
        batch is still young."""
        return (not self._unsynced or not more_waiting
                or self._unsynced >= MAX_TRANSACTIONS
                or time.monotonic() - self._since >= MAX_DELAY)

    def sync(self, then):
        """Make everything applied so far durable, then call ``then()``:
        from the syncing thread, after its fsync, while the applier goes
        on (at once when the storage fsyncs by itself)."""
        if self.deferring:
            self._requests.put((bool(self._unsynced), then))
            self._unsynced = 0
        else:
            then()

    def _run(self):
        """The syncing thread: one fsync for all the requests waiting,
        then their callbacks, in order."""
        failed = False
        while True:
            requests = [self._requests.get()]
            while not self._requests.empty():
                requests.append(self._requests.get())
            stop = None in requests
            requests = [r for r in requests if r is not None]
            if not failed and any(needed for needed, _ in requests):
                try:
                    self._fsync()
                except Exception:
                    # What was written may be lost: nothing applied is
                    # acknowledged as durable from now on.
                    logger.critical('fsync of %s failed; acknowledging '
                                    'nothing more',
                                    self._storage.getName(), exc_info=True)
                    failed = True
            if not failed:
                for _, then in requests:
                    try:
                        then()
                    except Exception:
                        logger.exception('after an fsync')
            if stop:
                return

    def _fsync(self):
        # The applier flushed each transaction as it finished: the fsync
        # needs the file, not its lock (a descriptor of its own, in case
        # the storage's file changes meanwhile).
        with fsinternals.locked_data_file(self._storage) as file:
            fd = os.dup(file.fileno())
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self):
        """Let the syncing thread finish, sync what is pending and give
        the storage its own finishing step back."""
        if self._thread is not None:
            self._requests.put(None)
            self._thread.join(CLOSE_TIMEOUT)
            self._thread = None
        if self._unsynced:
            with fsinternals.locked_data_file(self._storage) as file:
                file.flush()
                os.fsync(file.fileno())
            self._unsynced = 0
        if self.deferring:
            fsinternals.finish_with_fsync(self._storage)
            self.deferring = False
