"""The private parts of ZODB's FileStorage that zc.zrs relies on, in one
place.

The primary needs to know how far a FileStorage's data file is durable
(its ``_pos`` and ``_file``, read under its ``_lock``) and the file's name;
it finds the FileStorage under a BlobStorage. A secondary's group commit
(zc.zrs.groupsync) replaces the storage's finishing step
(``_finish_finish``) by one without the fsync. A storage opened after a
crash gets its last tid (``_ltid``) corrected. ZODB does not promise any
of this: ``problems()`` says what a ZODB release changed, and the tests
fail loudly on it (group commit itself just stays off then).
"""
import contextlib
import os
import tempfile

import ZODB.blob
import ZODB.FileStorage
from ZODB.utils import z64

from zc.zrs import filescan

_FileStorage = ZODB.FileStorage.FileStorage
#: The names FileStorage._finish_finish uses: the steps that
#: finish_without_fsync repeats.
FINISH_NAMES = frozenset({
    '_file', 'flush', 'fsync', 'fileno', '_pos', '_nextpos', '_index',
    'update', '_tindex', '_ltid', '_blob_tpc_finish'})
#: The attributes a FileStorage instance has between transactions that
#: this module uses (``_nextpos`` exists only during a commit).
INSTANCE_ATTRIBUTES = ('_lock', '_pos', '_file', '_file_name', '_index',
                       '_tindex', '_ltid', '_blob_tpc_finish')


def filestorage(storage):
    """The FileStorage under ``storage`` (itself, or under a BlobStorage);
    ValueError for anything else."""
    if isinstance(storage, _FileStorage):
        return storage
    if isinstance(storage, ZODB.blob.BlobStorage):
        base = storage._BlobStorage__storage
        if isinstance(base, _FileStorage):
            return base
    raise ValueError('Invalid storage')


def durable_end(fs):
    """``(end, file)``: how far the data file holds durable transactions,
    and the storage's file object for it. FileStorage moves its end only
    once a transaction is flushed and fsynced, and opens a new file object
    on pack, holding the same lock."""
    with fs._lock:
        return fs._pos, fs._file


def data_file_name(fs):
    return fs._file_name


def correct_last_tid(storage):
    """Make the ``lastTransaction()`` of the FileStorage under ``storage``
    (if there is one) the last transaction its data file holds; return
    the tid it reported instead, or None if it was right.

    A process killed after a commit's vote (which writes the transaction,
    marked as in progress) and before its finish leaves an incomplete
    transaction at the end of the data file. A FileStorage opened on it
    moves that transaction aside (``Data.fs.tr0``) but still reports its
    tid as the last one (ZODB's read_index takes the tid before it finds
    the transaction incomplete). A secondary starts after its last tid:
    it would never receive that transaction, and hold every one after
    it. (The file of a storage whose pack dropped its newest transaction,
    left empty, lacks its last tid too: corrected, it says what the
    storage reopened would.)"""
    try:
        fs = filestorage(storage)
    except ValueError:
        return None
    with fs._lock:
        end, reported = fs._pos, fs._ltid
        data_file = filescan.DataFile(fs._file_name)
        try:
            data_file.limit = end
            held = data_file.last_tid(end)
        finally:
            data_file.close()
        if held >= reported:
            return None
        fs._ltid = held
    return reported


def can_finish_without_fsync(storage):
    """Whether ``storage`` is a plain FileStorage whose finishing step is
    exactly the one finish_without_fsync repeats."""
    finish = getattr(type(storage), '_finish_finish', None)
    return (type(storage) is _FileStorage
            and finish is _FileStorage._finish_finish
            and set(finish.__code__.co_names) == FINISH_NAMES)


def finish_without_fsync(storage, finished):
    """Make ``storage`` finish transactions as FileStorage does, but
    without fsync; ``finished()`` is called after each."""
    def finish(tid):
        storage._file.flush()
        storage._pos = storage._nextpos
        storage._index.update(storage._tindex)
        storage._ltid = tid
        storage._blob_tpc_finish()
        finished()
    storage._finish_finish = finish


def finish_with_fsync(storage):
    """Give ``storage`` its own finishing step back."""
    del storage._finish_finish


@contextlib.contextmanager
def locked_data_file(storage):
    """The storage's data file object, while holding its lock (nothing is
    committed meanwhile)."""
    with storage._lock:
        yield storage._file


def truncate_after(path, tid):
    """Cut the FileStorage data file ``path`` (not open) right after its
    transaction ``tid`` (z64: keep none); return the tids removed, oldest
    first. A FileStorage opened on it afterwards holds exactly the
    transactions up to ``tid``: its index file goes too (it would describe
    the removed ones). Blob files of removed transactions stay in the blob
    directory, unreferenced."""
    fs = _FileStorage(path, read_only=True)
    try:
        end = durable_end(fs)[0]
    finally:
        fs.close()
    data_file = filescan.DataFile(path)
    try:
        data_file.limit = end
        keep = (filescan.FILE_START if tid == z64
                else data_file.position_after(tid, end))
        removed = []
        pos = keep
        while pos < end:
            txn = data_file.transaction_at(pos)
            removed.append(txn.tid)
            pos = data_file.next_position(txn)
    finally:
        data_file.close()
    if keep < os.path.getsize(path):
        with open(path, 'r+b') as f:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + '.index')
    return removed


def problems():
    """What the installed ZODB changed of what this module relies on (an
    empty list when nothing)."""
    found = []
    finish = getattr(_FileStorage, '_finish_finish', None)
    if finish is None:
        found.append('FileStorage has no _finish_finish')
    elif set(finish.__code__.co_names) != FINISH_NAMES:
        found.append('FileStorage._finish_finish changed: it uses '
                     f'{sorted(finish.__code__.co_names)}')
    with tempfile.TemporaryDirectory() as directory:
        fs = _FileStorage(os.path.join(directory, 'check.fs'))
        blobs = ZODB.blob.BlobStorage(os.path.join(directory, 'blobs'), fs)
        try:
            found += [f'FileStorage instances lack {name}'
                      for name in INSTANCE_ATTRIBUTES
                      if not hasattr(fs, name)]
            if getattr(blobs, '_BlobStorage__storage', None) is not fs:
                found.append('BlobStorage keeps its base elsewhere')
            if not found and (durable_end(fs)[0] != 4  # after the magic
                              or fs._file.name != data_file_name(fs)):
                found.append('FileStorage._pos or _file mean something '
                             'else')
        finally:
            blobs.close()
    return found
