"""The wire format's building blocks."""
import pickle
import unittest

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

    def test_too_long_is_refused_from_the_length(self):
        reader = protocol.FrameReader(max_size=8)
        with self.assertRaisesRegex(protocol.InputError, 'too long'):
            reader.feed(b'\0\0\0\x09')

