"""The zrs2.0 / zrs2.1 / zrs2.2 replication wire protocol.

Every message is a 4-byte big-endian length followed by that many payload
bytes; a zero-length message is a keep-alive. The secondary opens with two
messages (the protocol id and the 8-byte tid it has last), then sends only
keep-alives. The primary answers with transactions, each one being:

- a protocol-1 pickle of ``('T', (tid, status, user, description, ext))``;
- per data record a pickle of ``('S', (oid, tid, version, data_txn))``
  followed by a raw message with the record (empty: the object's creation
  was undone), or for a blob record ``('B', (oid, tid, version, data_txn,
  nblocks))``, the record and ``nblocks`` raw messages of the blob file;
- a pickle of ``('C', (digest,))``: the MD5 of the start tid and of every
  payload sent before it on this connection.

The pickles are exactly what the original zc.zrs sends on Python 3, so both
generations of primaries and secondaries understand each other.

``zrs2.2`` (ours; zrs2.1 plus fencing and acknowledgements) adds a third
opening message, the highest **epoch** the secondary knows (8 bytes,
big-endian), and the primary's first message is its own epoch: a
secondary refuses a primary older than what it knows, a primary that
meets a newer epoch is stale and fences itself. After the opening, a
zrs2.2 secondary sends the 8-byte tid of each transaction once it is
durable on its disk (an **acknowledgement**; one may stand for several),
which synchronous commit waits for. The epoch message is not part of
the checksum. The original primary closes the connection on an unknown
protocol id without a word: a secondary offering zrs2.2 that is closed
on before the first message falls back to zrs2.1 (``fallback``).

This module is the whole format: framing (``frame``, ``FrameReader``),
the opening (``opening``, the primary's ``Opening`` and the secondary's
``EpochReader``), acknowledgements (``Acknowledgement``), the primary's
``Encoder`` of transactions and the secondary's ``StreamDecoder`` back
into transactions; the rest of zc.zrs moves bytes.
"""
import hashlib
import io
import os
import pickle
import struct
import tempfile

from ZODB.utils import tid_repr

PROTOCOLS = (b'zrs2.0', b'zrs2.1', b'zrs2.2')
#: The protocol that can carry blobs (and what a zrs2.2 secondary with
#: blobs falls back to).
BLOB_PROTOCOL = b'zrs2.1'
#: The protocol with epochs and acknowledgements.
SYNC_PROTOCOL = b'zrs2.2'
#: The protocols that carry blobs.
BLOB_PROTOCOLS = (BLOB_PROTOCOL, SYNC_PROTOCOL)
#: Size of the raw messages a blob file is cut into.
BLOB_BLOCK_SIZE = 1 << 16
#: Nothing a secondary legitimately sends is longer than a tid.
MAX_SECONDARY_MESSAGE = 8

_LENGTH = struct.Struct('>I')
_EPOCH = struct.Struct('>Q')
KEEP_ALIVE = _LENGTH.pack(0)


class InputError(Exception):
    """The peer sent something the protocol does not allow."""


def frame(payload):
    """One message: length prefix and payload."""
    return _LENGTH.pack(len(payload)) + payload


def dumps(message):
    """A control message (T, S, B or C) as the original pickles it."""
    return pickle.dumps(message, 1)


# Control messages only ever hold bytes, str, ints, None, tuples and the
# transaction's extension dict. Protocol-1 pickles of bytes refer to
# _codecs.encode; anything else referring to a global is refused, so a
# peer cannot make the secondary import or call arbitrary code.
_SAFE_GLOBALS = {
    ('_codecs', 'encode'), ('builtins', 'bytes'), ('__builtin__', 'bytes'),
    ('builtins', 'set'), ('__builtin__', 'set'),
    ('builtins', 'frozenset'), ('__builtin__', 'frozenset'),
    ('datetime', 'datetime'), ('datetime', 'date'),
    ('datetime', 'timedelta'), ('datetime', 'timezone'),
}


class _ControlUnpickler(pickle.Unpickler):

    def find_class(self, module, name):
        if (module, name) not in _SAFE_GLOBALS:
            raise InputError(f'refusing global {module}.{name} in a message')
        return super().find_class(module, name)


def fallback(blobs):
    """The protocol a secondary offers a primary that does not speak
    zrs2.2 (what the original secondary offers)."""
    return BLOB_PROTOCOL if blobs else PROTOCOLS[0]


def opening(protocol_id, start_tid, epoch=0):
    """What a secondary sends first: the protocol id, the tid it has
    last, and in zrs2.2 the highest epoch it knows."""
    data = frame(protocol_id) + frame(start_tid)
    if protocol_id == SYNC_PROTOCOL:
        data += frame(_EPOCH.pack(epoch))
    return data


def check_epoch(epoch):
    """ValueError unless ``epoch`` fits the 8 bytes it travels in."""
    if not (isinstance(epoch, int) and 0 <= epoch < 1 << 64):
        raise ValueError(f'epoch must be an integer from 0 to 2**64-1, '
                         f'not {epoch!r}')
    return epoch


def epoch_message(epoch):
    """The primary's first message in zrs2.2: its epoch."""
    return frame(_EPOCH.pack(epoch))


def _epoch(payload):
    if len(payload) != _EPOCH.size:
        raise InputError(f'bad epoch {payload[:20]!r}')
    return _EPOCH.unpack(payload)[0]


class Opening:
    """The primary's reading of a secondary's opening messages.

    ``message(payload)`` takes them one by one and returns True once the
    opening is complete: then ``protocol_id``, ``start_tid`` and (zrs2.2)
    ``epoch`` (None before zrs2.2) are known. InputError for anything the
    protocol does not allow; ``blobs``: the primary has blobs, which
    zrs2.0 cannot carry.
    """

    def __init__(self, blobs):
        self.blobs = blobs
        self.protocol_id = None
        self.start_tid = None
        self.epoch = None

    def message(self, payload):
        if self.protocol_id is None:
            if payload not in PROTOCOLS:
                raise InputError(f'unknown protocol {payload[:20]!r}')
            if self.blobs and payload not in BLOB_PROTOCOLS:
                raise InputError(
                    f'{payload.decode()} cannot replicate blobs')
            self.protocol_id = payload
            return False
        if self.start_tid is None:
            if len(payload) != 8:
                raise InputError(f'bad start tid {payload!r}')
            self.start_tid = payload
            return self.protocol_id != SYNC_PROTOCOL
        self.epoch = _epoch(payload)
        return True


class Acknowledgement:
    """The primary's reading of what a secondary sends after its opening:
    keep-alives, and in zrs2.2 acknowledgements.

    ``message(payload)`` returns the tid acknowledged, or None for a
    keep-alive. An acknowledgement must be newer than the previous one and
    not newer than the last transaction sent (``sent``, a callable).
    """

    def __init__(self, protocol_id, start_tid, sent):
        self.acknowledges = protocol_id == SYNC_PROTOCOL
        self.last = start_tid
        self._sent = sent

    def message(self, payload):
        if not payload:
            return None
        if not self.acknowledges:
            raise InputError('unexpected data after the handshake')
        if len(payload) != 8:
            raise InputError(f'bad acknowledgement {payload[:20]!r}')
        if not self.last < payload <= self._sent():
            raise InputError(
                f'acknowledgement of {tid_repr(payload)}, not after '
                f'{tid_repr(self.last)} and sent')
        self.last = payload
        return payload


def acknowledgement(tid):
    """What a zrs2.2 secondary sends once ``tid`` is durable."""
    return frame(tid)


class EpochReader:
    """The secondary's reading of a zrs2.2 primary's first message.

    ``feed(data)`` returns None until the epoch is complete, then
    ``(epoch, rest)``: the primary's epoch and the bytes after it (the
    transactions, for the StreamDecoder)."""

    def __init__(self):
        self._buffer = b''

    def feed(self, data):
        self._buffer += data
        if len(self._buffer) < 4:
            return None
        size, = _LENGTH.unpack_from(self._buffer)
        if size != _EPOCH.size:
            raise InputError(f'bad epoch message of {size} bytes')
        if len(self._buffer) < 4 + size:
            return None
        epoch = _epoch(self._buffer[4:4 + size])
        return epoch, self._buffer[4 + size:]


class Decoder:
    """Decodes the control messages of one connection.

    The S and C messages, most of a stream, are parsed straight from their
    bytes when they are pickled exactly as zc.zrs primaries pickle them
    (``_fast``); anything else goes through one restricted unpickler that
    reads message after message from a buffer refilled for each (creating
    an unpickler per message costs more than decoding it).
    """

    def __init__(self):
        self._buffer = io.BytesIO()
        self._unpickler = _ControlUnpickler(self._buffer, encoding='bytes')
        # The T message after its tid, and what it decoded to, for the
        # last header seen (commits in a row tend to share their user,
        # description and extension: the Encoder reuses the same bytes).
        self._header_tail = None
        self._header_rest = None

    def transaction_header(self, payload):
        """The normalized ``(tid, status, user, description, extension)``
        of a T message (``transaction_header``); InputError for anything
        else. When the part after the tid is the previous header's, only
        the tid is read."""
        tail = self._header_tail
        if tail is not None and payload.startswith(_T_HEAD) \
                and payload.endswith(tail):
            tid, pos = _latin1(payload, len(_T_HEAD))
            if tid is not None and len(tid) == 8 \
                    and pos + len(tail) == len(payload):
                status, user, description, extension = self._header_rest
                return tid, status, user, description, dict(extension)
        header = self._header(payload)
        self._remember_header(payload, header)
        return header

    def _header(self, payload):
        kind, args = self.loads(payload)
        if kind != 'T':
            raise InputError(f'expected a transaction, got {kind}')
        return transaction_header(args)

    def _remember_header(self, payload, header):
        """Keep the part of ``payload`` after the tid if it means the same
        whatever the tid (checked by decoding it after another tid: a
        pickle's later parts may refer back to the tid's object)."""
        self._header_tail = self._header_rest = None
        if not payload.startswith(_T_HEAD):
            return
        tid, pos = _latin1(payload, len(_T_HEAD))
        if tid is None:
            return
        tail = payload[pos:]
        other = b'\1' * 8 if tid != b'\1' * 8 else b'\2' * 8
        try:
            again = self._header(_T_HEAD + _text_of(other) + tail)
        except InputError:
            return
        if again[0] == other and again[1:] == header[1:]:
            self._header_tail = tail
            self._header_rest = header[1:4] + (dict(header[4]),)

    def loads(self, payload):
        """``(kind, args)`` of a T, S, B or C message; InputError for
        anything else."""
        message = _fast(payload)
        if message is not None:
            return message
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        buffer.write(payload)
        buffer.seek(0)
        try:
            kind, args = self._unpickler.load()
            if buffer.read(1):
                raise ValueError('data after the pickle')
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f'undecodable control message: {exc!r}') from None
        if isinstance(kind, bytes):
            kind = kind.decode('latin-1')
        expected = {'T': 5, 'S': 4, 'B': 5, 'C': 1}.get(kind)
        if expected is None or not isinstance(args, tuple) \
                or len(args) != expected:
            raise InputError(
                f'unexpected message {kind!r} with {args!r:.200}')
        return kind, args


# The protocol-1 pickles of ('S', (oid, tid, '', None)) and ('C',
# (digest,)) around their bytes, each bytes value being a
# _codecs.encode(text, 'latin1') call on its latin-1 text (the opcodes are
# spelled out in the tests).
_ENCODE = b'(c_codecs\nencode\nq\x01(X'
_S_HEAD = b'(X\x01\x00\x00\x00Sq\x00' + _ENCODE
_S_MIDDLE = b'q\x02X\x06\x00\x00\x00latin1q\x03tq\x04Rq\x05h\x01(X'
_S_TAIL = b'q\x06h\x03tq\x07Rq\x08X\x00\x00\x00\x00q\tNtq\ntq\x0b.'
_C_HEAD = b'(X\x01\x00\x00\x00Cq\x00' + _ENCODE
_C_TAIL = b'q\x02X\x06\x00\x00\x00latin1q\x03tq\x04Rq\x05tq\x06tq\x07.'
_T_HEAD = b'(X\x01\x00\x00\x00Tq\x00' + _ENCODE
_TEXT_LENGTH = struct.Struct('<I')


def _text_of(value):
    """The BINUNICODE argument (length and UTF-8) of bytes pickled as
    the latin-1 text they stand for."""
    text = value.decode('latin-1').encode('utf-8')
    return _TEXT_LENGTH.pack(len(text)) + text


def record_message(oid, tid, data_txn):
    """What ``dumps(('S', (oid, tid, '', data_txn)))`` returns, built
    from the layout above when there is no data_txn (most records)."""
    if data_txn is not None or oid is tid:  # one object: a memo reference
        return dumps(('S', (oid, tid, '', data_txn)))
    return b''.join((_S_HEAD, _text_of(oid), _S_MIDDLE, _text_of(tid),
                     _S_TAIL))


def checksum_message(digest):
    """What ``dumps(('C', (digest,)))`` returns."""
    return _C_HEAD + _text_of(digest) + _C_TAIL


def _fast(payload):
    """``(kind, args)`` of an S message without a data_txn or of a C
    message pickled as zc.zrs pickles them (what the unpickler would
    return), or None: then the unpickler decides."""
    if payload.startswith(_S_HEAD):
        oid, pos = _latin1(payload, len(_S_HEAD))
        if oid is None or not payload.startswith(_S_MIDDLE, pos):
            return None
        tid, pos = _latin1(payload, pos + len(_S_MIDDLE))
        if (tid is None or len(payload) != pos + len(_S_TAIL)
                or not payload.endswith(_S_TAIL)):
            return None
        return 'S', (oid, tid, '', None)
    if payload.startswith(_C_HEAD):
        digest, pos = _latin1(payload, len(_C_HEAD))
        if (digest is None or len(payload) != pos + len(_C_TAIL)
                or not payload.endswith(_C_TAIL)):
            return None
        return 'C', (digest,)
    return None


def _latin1(payload, pos):
    """The bytes a BINUNICODE at ``pos`` stands for once latin-1 encoded,
    and the position after it; None if it is not one."""
    if len(payload) < pos + 4:
        return None, pos
    size, = _TEXT_LENGTH.unpack_from(payload, pos)
    end = pos + 4 + size
    text = payload[pos + 4:end]
    if text.isascii():  # the same in UTF-8 and latin-1
        return bytes(text), end  # (no copy of bytes)
    try:
        return text.decode('utf-8').encode('latin-1'), end
    except UnicodeError:
        return None, pos


def record_oid(payload, suffix):
    """The oid of an S message without a data_txn, read from its layout
    when its part after the oid is ``suffix`` (``record_suffix`` of the
    transaction's tid: the same for all its records); None if it is not
    such a message."""
    if not (payload.startswith(_S_HEAD) and payload.endswith(suffix)):
        return None
    oid, pos = _latin1(payload, len(_S_HEAD))
    if oid is None or len(oid) != 8 or pos + len(suffix) != len(payload):
        return None
    return oid


def record_suffix(tid):
    """What follows the oid in the S messages of transaction ``tid``
    without a data_txn."""
    return _S_MIDDLE + _text_of(tid) + _S_TAIL


def _bytes8(value, what):
    if isinstance(value, str):  # a Python 2 primary's native string
        value = value.encode('latin-1')
    if not isinstance(value, bytes) or len(value) != 8:
        raise InputError(f'bad {what}: {value!r}')
    return value


def _text(value):
    return value.decode('latin-1') if isinstance(value, bytes) else value


def _raw(value):
    return value.encode('utf-8') if isinstance(value, str) else value


def transaction_header(args):
    """Normalized ``(tid, status, user, description, extension)`` of a T
    message."""
    tid, status, user, description, extension = args
    if not isinstance(extension, dict):
        raise InputError(f'bad extension: {extension!r:.200}')
    status = _text(status)
    if status not in (' ', 'p'):
        raise InputError(f'bad transaction status: {status!r}')
    return (_bytes8(tid, 'tid'), status, _raw(user or b''),
            _raw(description or b''),
            {_text(k): v for k, v in extension.items()})


def record_header(args):
    """Normalized ``(oid, tid, data_txn)`` of an S or B message."""
    oid, tid, version, data_txn = args[:4]
    if version:
        raise InputError(f'versions are not supported: {version!r}')
    if data_txn is not None:
        data_txn = _bytes8(data_txn, 'data_txn')
    return _bytes8(oid, 'oid'), _bytes8(tid, 'tid'), data_txn


class Checksum:
    """The running MD5 of a connection, seeded with the start tid
    (``update`` is the hash's own: it is called for every message)."""

    def __init__(self, start_tid):
        self._md5 = hashlib.md5(start_tid)
        self.update = self._md5.update

    def digest(self):
        return self._md5.digest()


class FrameReader:
    """Splits a byte stream into message payloads.

    ``max_size`` bounds the messages accepted, checked as soon as the length
    prefix arrives (a primary must not buffer a huge message from a
    secondary before refusing it).
    """

    def __init__(self, max_size=None):
        self._buffer = bytearray()
        self._max_size = max_size
        self._needed = 0  # bytes the buffer holds before a message is whole

    def feed(self, data):
        """Add bytes; return the list of complete payloads (each copied
        once, straight from ``data`` when nothing was left over; a message
        arriving in pieces is only gathered until it is whole)."""
        buffer = self._buffer
        if buffer:
            buffer += data
            if len(buffer) < self._needed:
                return []
            with memoryview(buffer) as view:
                messages, pos = self._split(view, bytes)
            del buffer[:pos]
        else:
            messages, pos = self._split(data, None)
            if pos < len(data):
                with memoryview(data) as view:
                    buffer += view[pos:]
        self._needed = (4 + _LENGTH.unpack_from(buffer)[0]
                        if len(buffer) >= 4 else 4)
        return messages

    def _split(self, data, copy):
        """The whole messages at the start of ``data`` (each passed through
        ``copy`` unless None) and where the rest starts."""
        messages = []
        append = messages.append
        unpack = _LENGTH.unpack_from
        max_size = self._max_size
        pos = 0
        end = len(data)
        while end - pos >= 4:
            size, = unpack(data, pos)
            if max_size is not None and size > max_size:
                raise InputError(f'message of {size} bytes is too long')
            stop = pos + 4 + size
            if stop > end:
                break
            payload = data[pos + 4:stop]
            append(payload if copy is None else copy(payload))
            pos = stop
        return messages, pos


class Encoder:
    """The primary's side of one connection: frames the messages of
    transactions into ``buffer`` and keeps the running checksum.

    A transaction (``tid``, ``status``, ``user``, ``description``,
    ``extension`` and ``extension_bytes``) comes with its records (``oid``, ``tid``, ``data``,
    ``data_txn``), as zc.zrs.filescan reads them; ``blob_file(record)``
    is the path of a record's blob file, or None.
    """

    def __init__(self, start_tid):
        self._checksum = Checksum(start_tid)
        self.buffer = bytearray()
        # The T message after its tid, for the last header seen (commits
        # in a row tend to share their user, description and extension).
        self._header = self._header_tail = None

    def take(self):
        """The bytes encoded so far (the buffer is emptied)."""
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    def transaction(self, txn, records, blob_file=lambda record: None):
        """Encode one transaction, yielding True after each record and blob
        block: a sender can stop there when ``buffer`` is big enough and go
        on later (a huge transaction never has to sit in memory)."""
        add = self._add
        add(self._transaction_message(txn))
        for record in records:
            path = blob_file(record)
            if path is None:
                add(record_message(record.oid, record.tid, record.data_txn))
                add(record.data or b'')
            else:
                yield from self._blob(record, path)
            yield True
        add(checksum_message(self._checksum.digest()))

    def _transaction_message(self, txn):
        """``dumps(('T', (tid, status, user, description, extension)))``:
        the part after the tid is the previous transaction's if its header
        was the same (``extension_bytes``: the extension as stored)."""
        header = (txn.status, txn.user, txn.description,
                  txn.extension_bytes)
        if header != self._header:
            self._header = header
            self._header_tail = None
            placeholder = bytes(8)
            message = dumps(('T', (placeholder, txn.status, txn.user,
                                   txn.description, txn.extension)))
            head = _T_HEAD + _text_of(placeholder)
            if message.startswith(head):
                self._header_tail = message[len(head):]
        if self._header_tail is None:
            return dumps(('T', (txn.tid, txn.status, txn.user,
                                txn.description, txn.extension)))
        return b''.join((_T_HEAD, _text_of(txn.tid), self._header_tail))

    def _blob(self, record, path):
        with open(path, 'rb') as blob:
            size = os.fstat(blob.fileno()).st_size
            blocks = -(-size // BLOB_BLOCK_SIZE)
            self._add(dumps(('B', (record.oid, record.tid, '',
                                   record.data_txn, blocks))))
            self._add(record.data)
            for _ in range(blocks):
                block = blob.read(BLOB_BLOCK_SIZE)
                if not block:
                    raise OSError(f'blob {path} shrank while being sent')
                self._add(block)
                yield True

    def _add(self, payload):
        self._checksum.update(payload)
        self.buffer += _LENGTH.pack(len(payload))
        self.buffer += payload


class Record:
    """A record as received; ``blob`` is the path of its blob file (a
    temporary file the storage's restoreBlob takes over), or None."""

    __slots__ = ('oid', 'tid', 'data', 'data_txn', 'blob', 'blocks')


class Transaction:
    """A transaction as received, its checksum verified."""

    def __init__(self, header):
        (self.tid, self.status, self.user, self.description,
         self.extension) = header
        self.records = []

    def discard(self):
        """Remove the temporary blob files nobody will restore."""
        for record in self.records:
            if record.blob is not None and os.path.exists(record.blob):
                os.remove(record.blob)


class StreamDecoder:
    """The secondary's side of one connection: bytes in, whole verified
    transactions out (a state machine over the messages).

    ``blob_directory`` is where blob files are received (the storage's
    temporary directory, so restoreBlob can move them); None refuses blob
    records. With ``check_checksums`` false, checksum messages are taken
    on trust (as the original's option allows).
    """

    def __init__(self, start_tid, blob_directory=None, check_checksums=True):
        self.last_tid = start_tid
        self._blob_directory = blob_directory
        self._check_checksums = check_checksums
        self._checksum = Checksum(start_tid)
        self._reader = FrameReader()
        self._decoder = Decoder()
        self._transaction = None
        self._record_suffix = None
        self._record = None
        self._blob_file = None
        self._state = self._expect_transaction
        self._complete = []

    def feed(self, data):
        """The transactions completed (and verified) by ``data``;
        InputError for anything the protocol does not allow."""
        complete = self._complete = []
        for payload in self._reader.feed(data):
            self._state(payload)
            self._checksum.update(payload)
        return complete

    def discard(self):
        """Drop what is partial or not yet taken (its blob files too)."""
        if self._blob_file is not None:
            self._blob_file.close()
            self._blob_file = None
        if self._transaction is not None:
            self._transaction.discard()
            self._transaction = None
        for transaction in self._complete:
            transaction.discard()
        self._complete = []

    # States: each takes the next payload.

    def _expect_transaction(self, payload):
        header = self._decoder.transaction_header(payload)
        if header[0] <= self.last_tid:
            raise InputError(f'transaction {tid_repr(header[0])} is not '
                             f'after {tid_repr(self.last_tid)}')
        self._transaction = Transaction(header)
        self._record_suffix = record_suffix(header[0])
        self._state = self._expect_record

    def _expect_record(self, payload):
        transaction = self._transaction
        oid = record_oid(payload, self._record_suffix)
        if oid is not None:  # most records: nothing more to check
            record = Record()
            record.oid = oid
            record.tid = transaction.tid
            record.data_txn = record.blob = record.blocks = None
            self._record = record
            transaction.records.append(record)
            self._state = self._expect_data
            return
        kind, args = self._decoder.loads(payload)
        if kind == 'C':
            digest, = args
            if self._check_checksums and digest != self._checksum.digest():
                raise InputError('checksum mismatch')
            self._transaction = None
            self.last_tid = transaction.tid
            self._state = self._expect_transaction
            self._complete.append(transaction)
            return
        if kind not in ('S', 'B'):
            raise InputError(f'unexpected {kind} message')
        record = Record()
        record.oid, record.tid, record.data_txn = record_header(args)
        if record.tid != transaction.tid:
            raise InputError(f'record of {tid_repr(record.tid)} in '
                             f'transaction {tid_repr(transaction.tid)}')
        record.blob = None
        record.blocks = None
        if kind == 'B':
            if self._blob_directory is None:
                raise InputError('blob record, but no blob storage')
            record.blocks = args[4]
            if not isinstance(record.blocks, int) or record.blocks < 0:
                raise InputError(f'bad block count {args[4]!r}')
        self._record = record
        transaction.records.append(record)
        self._state = self._expect_data

    def _expect_data(self, payload):
        record = self._record
        record.data = payload or None
        if record.blocks is None:
            self._state = self._expect_record
            return
        # A blob record: its file arrives in blocks, straight into a
        # temporary file, never into memory.
        fd, record.blob = tempfile.mkstemp(suffix='.zrs',
                                           dir=self._blob_directory)
        self._blob_file = os.fdopen(fd, 'wb')
        self._state = self._expect_block
        if not record.blocks:
            self._blob_complete()

    def _expect_block(self, payload):
        self._blob_file.write(payload)
        self._record.blocks -= 1
        if not self._record.blocks:
            self._blob_complete()

    def _blob_complete(self):
        self._blob_file.close()
        self._blob_file = None
        self._state = self._expect_record
