"""Group commit for a secondary's FileStorage: one fsync per batch of
replicated transactions instead of one per transaction.

A FileStorage fsyncs in every ``tpc_finish``. A secondary catching up
applies thousands of transactions in a row, and those fsyncs, not the
network or the parsing, then set its speed. While more received
transactions wait to be applied, the secondary lets the storage finish
without fsync and syncs the file itself: when it goes idle (so a caught-up
secondary has every transaction on disk, as before), and at least every
MAX_DELAY seconds or MAX_TRANSACTIONS transactions during a catch-up.

What an OS crash can cost is the tail of the last batch: the FileStorage
drops a damaged tail when it opens, and the secondary fetches those
transactions again from the primary (a process crash costs nothing: the
data is in the OS's cache). This applies only to a plain ZODB FileStorage,
whose finishing step is exactly the one it was written against; anything
else (a subclass, a relay's Primary) keeps fsyncing every transaction.
"""
import os
import time

from zc.zrs import fsinternals

MAX_DELAY = 0.5
MAX_TRANSACTIONS = 1000


class GroupSync:
    """Controls when the secondary's storage fsyncs. ``deferring`` tells
    whether group commit is on for this storage."""

    def __init__(self, storage):
        self._storage = storage
        self.deferring = fsinternals.can_finish_without_fsync(storage)
        self._unsynced = 0
        self._since = None
        if self.deferring:
            fsinternals.finish_without_fsync(storage, self._finished)

    def _finished(self):
        if not self._unsynced:
            self._since = time.monotonic()
        self._unsynced += 1

    def applied(self, more_waiting):
        """After each replicated transaction: sync unless more are waiting
        (and the batch is still young). Whether everything applied is
        durable now (what a secondary may acknowledge)."""
        if not self._unsynced:
            return True
        if (not more_waiting or self._unsynced >= MAX_TRANSACTIONS
                or time.monotonic() - self._since >= MAX_DELAY):
            self.sync()
            return True
        return False

    def sync(self):
        if self._unsynced:
            with fsinternals.locked_data_file(self._storage) as file:
                file.flush()
                os.fsync(file.fileno())
            self._unsynced = 0

    def close(self):
        """Sync what is pending and give the storage its own finishing
        step back."""
        self.sync()
        if self.deferring:
            fsinternals.finish_with_fsync(self._storage)
            self.deferring = False
