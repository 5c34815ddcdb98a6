"""Delegation shared by the Primary and Secondary storage wrappers."""
import logging

import zope.interface
from ZODB.utils import tid_repr

from zc.zrs import fsinternals

logger = logging.getLogger(__name__)


#: Storage methods called on every load or commit: bound once, so calls
#: skip the __getattr__ fallback.
_HOT_METHODS = (
    'load', 'loadBefore', 'loadSerial', 'prefetch', 'store', 'restore',
    'storeBlob', 'restoreBlob', 'loadBlob', 'openCommittedBlobFile',
    'temporaryDirectory', 'new_oid', 'tpc_begin', 'tpc_vote', 'tpc_abort',
    'tpc_transaction', 'lastTransaction', 'getTid', 'sortKey', 'getName',
    'checkCurrentSerialInTransaction', 'isReadOnly', 'supportsUndo')


class StorageWrapper:
    """Looks like the wrapped storage: every attribute it does not define
    itself comes from the base, and it provides the base's interfaces (so
    ZODB and ZEO see blob support, restore, iteration... when the base has
    them)."""

    def __init__(self, storage):
        self._storage = storage
        zope.interface.directlyProvides(
            self, zope.interface.providedBy(storage))
        for name in _HOT_METHODS:
            if not hasattr(type(self), name):
                method = getattr(storage, name, None)
                if method is not None:
                    setattr(self, name, method)

    def __getattr__(self, name):
        if name == '_storage':
            raise AttributeError(name)
        return getattr(self._storage, name)

    def __len__(self):
        return len(self._storage)

    def __repr__(self):
        return f'<{self.__class__.__name__} for {self._storage!r}>'


def open_storage(storage):
    """A storage given as a file name is a FileStorage. A FileStorage's
    last transaction is the last one its file holds: after a crash in the
    middle of a commit, ZODB reports the cut one (see
    fsinternals.correct_last_tid), and a secondary would start after
    it."""
    if isinstance(storage, str):
        import ZODB.FileStorage
        storage = ZODB.FileStorage.FileStorage(storage)
    reported = fsinternals.correct_last_tid(storage)
    if reported is not None:
        logger.warning('%s reported %s as its last transaction, which its '
                       'file does not hold (cut off as incomplete after a '
                       'crash): its last is %s',
                       storage.getName(), tid_repr(reported),
                       tid_repr(storage.lastTransaction()))
    return storage


def parse_address(addr):
    """``(host, port)`` for TCP, or a unix socket path."""
    if isinstance(addr, str):
        return addr
    host, port = addr
    return host, int(port)
