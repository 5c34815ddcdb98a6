"""Read committed transactions straight from a FileStorage data file.

The primary streams from the file rather than through the storage's
iterator: it reads with a file descriptor of its own (never holding the
storage's locks while it reads), and never past a position the storage has
already made durable (``limit``). Bytes before that position never change,
so they may be cached; bytes after it may belong to a transaction still
being written (its status byte says 'c' until tpc_finish), which is why no
read, not even a buffered read-ahead, goes beyond it.
"""
import os
import struct

from ZODB._compat import loads
from ZODB.FileStorage.format import DATA_HDR
from ZODB.FileStorage.format import DATA_HDR_LEN
from ZODB.FileStorage.format import TRANS_HDR
from ZODB.FileStorage.format import TRANS_HDR_LEN
from ZODB.TimeStamp import TimeStamp
from ZODB.utils import u64
from ZODB.utils import z64

_TRANS = struct.Struct(TRANS_HDR)
_DATA = struct.Struct(DATA_HDR)
FILE_START = 4  # after the 'FS21' magic
#: How much is read at once (transactions are parsed from this window).
WINDOW = 1 << 20


class CorruptedFile(Exception):
    """The data file does not hold what its headers promise."""


class Transaction:
    """Header fields of one transaction, plus where its records are."""

    __slots__ = ('tid', 'status', 'user', 'description', 'extension_bytes',
                 'pos', 'records_pos', 'end')

    @property
    def extension(self):
        return loads(self.extension_bytes) if self.extension_bytes else {}


class Record:
    """One data record: ``data`` is None for an undone creation;
    ``data_txn`` is the tid of the transaction a backpointer points into."""

    __slots__ = ('oid', 'tid', 'data', 'data_txn')


def _seconds(tid):
    return TimeStamp(tid).timeTime()


class DataFile:
    """A read-only view of one FileStorage data file (one inode: a pack
    replaces the file and then the primary opens a new DataFile)."""

    def __init__(self, path):
        self._fd = os.open(path, os.O_RDONLY)
        self.inode = os.fstat(self._fd).st_ino
        #: Reads stop here: the durable end of the file.
        self.limit = FILE_START
        self._window = b''
        self._window_pos = 0

    def close(self):
        os.close(self._fd)

    def _read_exact(self, pos, size):
        if pos + size > self.limit:
            raise CorruptedFile(f'read of {size} bytes at {pos} goes beyond '
                                f'the committed end {self.limit}')
        offset = pos - self._window_pos
        if offset < 0 or offset + size > len(self._window):
            self._window = os.pread(
                self._fd, max(size, min(WINDOW, self.limit - pos)), pos)
            self._window_pos = pos
            offset = 0
            if len(self._window) < size:
                raise CorruptedFile(f'short read of {size} bytes at {pos}')
        return self._window[offset:offset + size]

    def transaction_at(self, pos):
        """The transaction whose header starts at ``pos``."""
        head = self._read_exact(pos, TRANS_HDR_LEN)
        tid, length, status, ulen, dlen, elen = _TRANS.unpack(head)
        txn = Transaction()
        txn.tid = tid
        txn.status = status.decode('latin-1')
        if txn.status not in ' p':
            raise CorruptedFile(f'transaction at {pos} has status {status!r}')
        variable = self._read_exact(pos + TRANS_HDR_LEN, ulen + dlen + elen)
        txn.user = variable[:ulen]
        txn.description = variable[ulen:ulen + dlen]
        txn.extension_bytes = variable[ulen + dlen:]
        txn.pos = pos
        txn.records_pos = pos + TRANS_HDR_LEN + ulen + dlen + elen
        txn.end = pos + length  # the redundant length starts here
        if txn.end + 8 > self.limit:
            raise CorruptedFile(f'transaction at {pos} goes beyond the '
                                f'committed end {self.limit}')
        return txn

    def next_position(self, txn):
        return txn.end + 8

    def records(self, txn):
        """Yield the data records of ``txn`` in file order."""
        pos = txn.records_pos
        while pos < txn.end:
            head = self._read_exact(pos, DATA_HDR_LEN)
            oid, tid, _prev, tloc, _vlen, plen = _DATA.unpack(head)
            if tloc != txn.pos or tid != txn.tid:
                raise CorruptedFile(f'data record at {pos} does not belong '
                                    f'to the transaction at {txn.pos}')
            record = Record()
            record.oid = oid
            record.tid = tid
            record.data_txn = None
            if plen:
                record.data = self._read_exact(pos + DATA_HDR_LEN, plen)
                pos += DATA_HDR_LEN + plen
            else:
                back = u64(self._read_exact(pos + DATA_HDR_LEN, 8))
                pos += DATA_HDR_LEN + 8
                if back:
                    record.data, record.data_txn = self._follow(back)
                else:
                    record.data = None
            yield record

    def _follow(self, back):
        """Data and the tid of the record a backpointer refers to (the
        tid of the first link, like FileStorage's iterator)."""
        data_txn = None
        while back:
            head = self._read_exact(back, DATA_HDR_LEN)
            _oid, tid, _prev, _tloc, _vlen, plen = _DATA.unpack(head)
            if data_txn is None:
                data_txn = tid
            if plen:
                return self._read_exact(back + DATA_HDR_LEN, plen), data_txn
            back = u64(self._read_exact(back + DATA_HDR_LEN, 8))
        return None, data_txn

    def _last_transaction_before(self, end):
        """Position of the transaction ending at ``end``."""
        length = u64(self._read_exact(end - 8, 8))
        return end - 8 - length

    def last_tid(self, end):
        """The tid of the transaction ending at ``end`` (z64 if none
        does: an empty file)."""
        if end <= FILE_START:
            return z64
        return self._read_exact(self._last_transaction_before(end), 8)

    def has_transaction(self, tid, following):
        """Whether the transaction before position ``following`` (as
        returned by position_after) is ``tid``."""
        if following <= FILE_START:
            return False
        return self.transaction_at(
            self._last_transaction_before(following)).tid == tid

    def position_after(self, tid, end):
        """Position of the first transaction with a tid greater than
        ``tid`` (``end`` if there is none), searching from whichever end
        of the file is nearer in time."""
        if end <= FILE_START:
            return FILE_START
        first = self.transaction_at(FILE_START).tid
        if tid < first:
            return FILE_START
        last_pos = self._last_transaction_before(end)
        last = self.transaction_at(last_pos).tid
        if tid >= last:
            return end
        target = _seconds(tid)
        if target - _seconds(first) < _seconds(last) - target:
            pos = FILE_START
            while pos < end:
                txn = self.transaction_at(pos)
                if txn.tid > tid:
                    return pos
                pos = self.next_position(txn)
            return end
        pos = end
        while pos > FILE_START:
            before = self._last_transaction_before(pos)
            if self.transaction_at(before).tid <= tid:
                return pos
            pos = before
        return FILE_START
