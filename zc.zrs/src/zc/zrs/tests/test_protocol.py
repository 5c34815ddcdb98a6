"""The wire format: its building blocks, and an encode → decode round trip
of real transactions."""
import os
import pickle
import tempfile
import unittest

import transaction
import ZODB
import ZODB.blob
import ZODB.FileStorage
from persistent.mapping import PersistentMapping
from ZODB.utils import z64

from zc.zrs import filescan
from zc.zrs import protocol


class DecoderTests(unittest.TestCase):

    def setUp(self):
        self.decoder = protocol.Decoder()

    def test_messages_as_the_original_sends_them(self):
        tid = b'\x04\r7u?&\x0f3'
        for message in (('T', (tid, ' ', b'user', b'note', {'x': 1})),
                        ('S', (b'\0' * 8, tid, '', None)),
                        ('B', (b'\0' * 8, tid, '', tid, 3)),
                        ('C', (b'\x01' * 16,))):
            self.assertEqual(self.decoder.loads(protocol.dumps(message)),
                             message)

    def test_globals_are_refused(self):
        class Evil:
            def __reduce__(self):
                return (print, ('owned',))
        payload = pickle.dumps(('T', (Evil(),) * 5), 1)
        with self.assertRaisesRegex(protocol.InputError,
                                    'refusing global .*print'):
            self.decoder.loads(payload)

    def test_malformed_messages(self):
        for payload in (b'garbage', protocol.dumps(('X', ())),
                        protocol.dumps(('S', (1, 2))),
                        protocol.dumps(('C', (b'x',))) + b'trailing'):
            with self.assertRaises(protocol.InputError):
                self.decoder.loads(payload)

    def test_record_and_checksum_messages_decode_as_unpickled(self):
        # Most of a stream: S messages without a data_txn and C messages,
        # which the decoder parses from their bytes. Every byte value, in
        # every position, comes back as the unpickler reads it.
        for value in range(256):
            oid = bytes([value]) * 4 + bytes([255 - value, 0, 128, value])
            tid = bytes([value, 200]) * 4
            for message in (('S', (oid, tid, '', None)),
                            ('S', (oid, tid, '', tid)),
                            ('C', (oid + tid,))):
                payload = protocol.dumps(message)
                self.assertEqual(self.decoder.loads(payload), message)
                self.assertEqual(
                    pickle.loads(payload, encoding='bytes'), message)

    def test_the_layout_of_record_and_checksum_messages(self):
        # What the decoder expects of them, opcode by opcode (anything else
        # goes to the unpickler).
        self.assertEqual(
            protocol.dumps(('S', (b'\0' * 7 + b'\x01', b'\xff' * 8, '',
                                  None))),
            b'(X\x01\x00\x00\x00Sq\x00(c_codecs\nencode\nq\x01'
            b'(X\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01q\x02'
            b'X\x06\x00\x00\x00latin1q\x03tq\x04Rq\x05'
            b'h\x01(X\x10\x00\x00\x00' + '\xff'.encode() * 8 + b'q\x06'
            b'h\x03tq\x07Rq\x08X\x00\x00\x00\x00q\tNtq\ntq\x0b.')
        self.assertEqual(
            protocol.dumps(('C', (b'd' * 16,))),
            b'(X\x01\x00\x00\x00Cq\x00(c_codecs\nencode\nq\x01'
            b'(X\x10\x00\x00\x00' + b'd' * 16 + b'q\x02'
            b'X\x06\x00\x00\x00latin1q\x03tq\x04Rq\x05tq\x06tq\x07.')

    def test_built_messages_are_the_pickles(self):
        # The encoder builds S and C messages (and T messages after the
        # first of a header) from their layout: byte for byte the pickles.
        for value in range(256):
            oid = bytes([value]) * 4 + bytes([255 - value, 0, 128, value])
            tid = bytes([value, 200]) * 4
            self.assertEqual(protocol.record_message(oid, tid, None),
                             protocol.dumps(('S', (oid, tid, '', None))))
            self.assertEqual(protocol.record_message(oid, tid, tid),
                             protocol.dumps(('S', (oid, tid, '', tid))))
            self.assertEqual(protocol.checksum_message(oid + tid),
                             protocol.dumps(('C', (oid + tid,))))
        encoder = protocol.Encoder(z64)
        headers = [(' ', b'', b'', {}), (' ', b'', b'', {}),
                   ('p', b'u', b'u', {}), (' ', b'me', b'note', {'x': [1]}),
                   (' ', b'me', b'note', {'x': [1]}), (' ', b'', b'', {})]
        expected = bytearray()
        checksum = protocol.Checksum(z64)
        for i, (status, user, description, extension) in enumerate(headers):
            txn = filescan.Transaction()
            txn.tid = bytes([i, 0x80 + i]) * 4
            txn.status, txn.user, txn.description = status, user, description
            txn.extension_bytes = (pickle.dumps(extension, 3) if extension
                                   else b'')
            list(encoder.transaction(txn, []))
            for payload in (protocol.dumps(('T', (txn.tid, status, user,
                                                  description, extension))),
                            None):
                if payload is None:
                    payload = protocol.dumps(('C', (checksum.digest(),)))
                checksum.update(payload)
                expected += protocol.frame(payload)
        self.assertEqual(encoder.take(), expected)

    def test_altered_record_messages_are_unpickled_or_refused(self):
        tid = b'\x04\r7u?&\x0f3'
        payload = protocol.dumps(('S', (b'\0' * 8, tid, '', None)))
        for i in range(len(payload)):
            for altered in (payload[:i] + payload[i + 1:],
                            payload[:i] + b'\x00' + payload[i + 1:],
                            payload[:i] + b'X' + payload[i:]):
                try:
                    expected = pickle.loads(altered, encoding='bytes')
                except Exception:
                    expected = None
                try:
                    got = self.decoder.loads(altered)
                except protocol.InputError:
                    got = None
                if got is not None:
                    self.assertEqual(got, expected)

    def test_record_oids_read_from_the_layout_are_the_unpickled(self):
        # The StreamDecoder reads a record's oid knowing the rest of its S
        # message (the transaction's tid): every byte value in every
        # position, and nothing but such a message of that tid.
        for value in range(256):
            oid = bytes([value]) * 4 + bytes([255 - value, 0, 128, value])
            tid = bytes([value, 200]) * 4
            suffix = protocol.record_suffix(tid)
            payload = protocol.dumps(('S', (oid, tid, '', None)))
            self.assertEqual(protocol.record_oid(payload, suffix), oid)
            self.assertEqual(pickle.loads(payload, encoding='bytes'),
                             ('S', (oid, tid, '', None)))
            for other in (protocol.dumps(('S', (oid, tid, '', tid))),
                          protocol.dumps(('S', (oid, oid, '', None))),
                          protocol.dumps(('S', (oid[:7], tid, '', None))),
                          protocol.dumps(('C', (oid + tid,)))):
                self.assertIsNone(protocol.record_oid(other, suffix))
        tid = b'\x04\r7u?&\x0f3'
        suffix = protocol.record_suffix(tid)
        payload = protocol.dumps(('S', (b'\0' * 8, tid, '', None)))
        for i in range(len(payload)):
            for altered in (payload[:i] + payload[i + 1:],
                            payload[:i] + b'\x00' + payload[i + 1:],
                            payload[:i] + b'X' + payload[i:]):
                oid = protocol.record_oid(altered, suffix)
                if oid is not None:
                    self.assertEqual(pickle.loads(altered, encoding='bytes'),
                                     ('S', (oid, tid, '', None)))

    def test_repeated_transaction_headers_decode_as_unpickled(self):
        # After the first T message of a header, only the tid of the next
        # ones with the same part after it is read: what comes back is what
        # the unpickler reads, for every tid, header after header.
        headers = [(' ', b'', b'', {}), (' ', b'', b'', {}),
                   ('p', b'u', b'u', {}), (' ', b'me', b'note', {'x': [1]}),
                   (' ', b'me', b'note', {'x': [1]}), (' ', b'', b'', {})]
        for status, user, description, extension in headers:
            for value in range(256):
                tid = bytes([value, 200 - value % 7]) * 4
                payload = protocol.dumps(('T', (tid, status, user,
                                                description, extension)))
                expected = protocol.transaction_header(
                    pickle.loads(payload, encoding='bytes')[1])
                header = self.decoder.transaction_header(payload)
                self.assertEqual(header, expected)
                header[4]['changed'] = True  # each gets its own extension
        self.assertIsNotNone(self.decoder._header_tail)

    def test_a_header_referring_to_its_tid_is_decoded_each_time(self):
        # The user is the tid's very object: pickled as a reference to it,
        # so the part after the tid means something else with another tid.
        for value in range(3):
            tid = bytes([value + 1]) * 8
            payload = protocol.dumps(('T', (tid, ' ', tid, b'', {})))
            self.assertEqual(self.decoder.transaction_header(payload),
                             (tid, ' ', tid, b'', {}))
        self.assertIsNone(self.decoder._header_tail)

    def test_transaction_header_refuses_other_messages(self):
        tid = b'\x04\r7u?&\x0f3'
        self.decoder.transaction_header(
            protocol.dumps(('T', (tid, ' ', b'', b'', {}))))
        for payload in (protocol.dumps(('C', (b'\x01' * 16,))),
                        protocol.dumps(('T', (b'short', ' ', b'', b'', {}))),
                        protocol.dumps(('T', (tid, 'x', b'', b'', {})))):
            with self.assertRaises(protocol.InputError):
                self.decoder.transaction_header(payload)

    def test_transaction_header_normalizes_python2_strings(self):
        header = protocol.transaction_header(
            ('\x04\r7u?&\x0f3', b' ', 'user', 'note', {b'key': 1}))
        self.assertEqual(header, (b'\x04\r7u?&\x0f3', ' ', b'user',
                                  b'note', {'key': 1}))
        with self.assertRaises(protocol.InputError):
            protocol.transaction_header((b'short', ' ', b'', b'', {}))


class FrameReaderTests(unittest.TestCase):

    def test_messages_split_anywhere(self):
        stream = b''.join(protocol.frame(p) for p in (b'one', b'', b'three'))
        reader = protocol.FrameReader()
        got = []
        for i in range(len(stream)):
            got += reader.feed(stream[i:i + 1])
        self.assertEqual(got, [b'one', b'', b'three'])

    def test_messages_in_chunks_of_any_size(self):
        payloads = [b'x' * n for n in (0, 1, 5, 70000, 3, 200000, 0, 9)]
        stream = b''.join(protocol.frame(p) for p in payloads)
        for size in (1, 3, 4, 7, 4096, 65536, 100003, len(stream)):
            reader = protocol.FrameReader()
            got = []
            for i in range(0, len(stream), size):
                got += reader.feed(stream[i:i + size])
            self.assertEqual(got, payloads, size)
            self.assertTrue(all(type(p) is bytes for p in got))

    def test_too_long_is_refused_from_the_length(self):
        reader = protocol.FrameReader(max_size=8)
        with self.assertRaisesRegex(protocol.InputError, 'too long'):
            reader.feed(b'\0\0\0\x09')



class RoundTripTests(unittest.TestCase):
    """Real FileStorage transactions (blobs, undo, extensions), encoded as
    the primary encodes them and decoded as the secondary decodes them,
    in memory."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self._tmp.cleanup)
        self.path = os.path.join(self._tmp.name, 'data.fs')
        self.storage = ZODB.FileStorage.FileStorage(
            self.path, blob_dir=self.path + '.blobs')
        self.addCleanup(self.storage.close)
        db = ZODB.DB(self.storage)
        with db.transaction('with extension') as conn:
            conn.transaction_manager.get().setExtendedInfo('who', ['me', 1])
            conn.root()['child'] = PersistentMapping(value=1)
        for size in (0, 3 * protocol.BLOB_BLOCK_SIZE + 5):
            with db.transaction() as conn:
                blob = conn.root()[f'blob{size}'] = ZODB.blob.Blob()
                with blob.open('w') as f:
                    f.write(os.urandom(size))
        with db.transaction() as conn:
            conn.root()['grandchild'] = PersistentMapping()
        # A backpointer (the root) and an undone creation (grandchild).
        db.undo(db.undoLog(0, 1)[0]['id'])
        transaction.commit()

    def blob_file(self, record):
        if record.data and ZODB.blob.is_blob_record(record.data):
            return self.storage.loadBlob(record.oid, record.tid)
        return None

    def encoded(self, start_tid=z64):
        encoder = protocol.Encoder(start_tid)
        data_file = filescan.DataFile(self.path)
        self.addCleanup(data_file.close)
        data_file.limit = os.path.getsize(self.path)
        pos = data_file.position_after(start_tid, data_file.limit)
        while pos < data_file.limit:
            txn = data_file.transaction_at(pos)
            for _ in encoder.transaction(txn, data_file.records(txn),
                                         self.blob_file):
                pass
            pos = data_file.next_position(txn)
        return encoder.take()

    def decoded(self, data, start_tid=z64, **kw):
        decoder = protocol.StreamDecoder(start_tid, **kw)
        transactions = []
        for i in range(0, len(data), 1000):  # arbitrary cuts
            transactions += decoder.feed(data[i:i + 1000])
        for transaction_ in transactions:
            self.addCleanup(transaction_.discard)
        return transactions

    def test_what_is_decoded_is_what_the_storage_holds(self):
        received = self.decoded(self.encoded(),
                                blob_directory=self._tmp.name)
        stored = [((t.tid, t.status, t.user, t.description, t.extension),
                   [(r.oid, r.tid, r.data, r.data_txn) for r in t])
                  for t in self.storage.iterator()]
        self.assertEqual(len(received), len(stored))
        kinds = set()
        for got, (header, records) in zip(received, stored):
            self.assertEqual((got.tid, got.status, got.user,
                              got.description, got.extension), header)
            self.assertEqual(
                [(r.oid, r.tid, r.data, r.data_txn) for r in got.records],
                records)
            for record in got.records:
                if record.blob is not None:
                    with open(record.blob, 'rb') as f:
                        with open(self.blob_file(record), 'rb') as original:
                            self.assertEqual(f.read(), original.read())
                    kinds.add('blob')
                elif record.data is None:
                    kinds.add('undone creation')
                elif record.data_txn is not None:
                    kinds.add('backpointer')
        self.assertEqual(kinds, {'blob', 'undone creation', 'backpointer'})
        self.assertEqual(received[1].extension['who'], ['me', 1])  # [0]: root

    def test_a_later_start_sends_only_what_follows(self):
        tids = [t.tid for t in self.storage.iterator()]
        received = self.decoded(self.encoded(tids[2]), tids[2],
                                blob_directory=self._tmp.name)
        self.assertEqual([t.tid for t in received], tids[3:])

    def test_any_changed_byte_is_refused(self):
        data = bytearray(self.encoded())
        data[len(data) // 2] ^= 1
        with self.assertRaises(protocol.InputError):
            self.decoded(bytes(data), blob_directory=self._tmp.name)

    def test_blobs_need_a_directory(self):
        with self.assertRaisesRegex(protocol.InputError, 'no blob storage'):
            self.decoded(self.encoded())
