"""One HTTP/1.1 exchange on a connected socket: the request goes out in a
single write, and the response is read by a small parser of our own,
which also tells whether the connection can carry another request.

Why not ``http.client.HTTPResponse``: it reads the header block through
the ``email`` package, a general MIME parser, and that cost more client
CPU per request (about 80 us) than the kernel's whole loopback TCP
exchange (about 115 us), so it was most of what the browser spends per
page over HTTP (measured for issue 19; see CHANGES). ``http.client`` still
opens the connection (and TLS) and names the errors: ``BadStatusLine``,
``RemoteDisconnected``, ``IncompleteRead``, ``InvalidURL``.
"""
import http.client
import re

_READ_SIZE = 65536
#: Limits as http.client has them: a line, and the header fields.
MAX_LINE = 65536
MAX_HEADERS = 100
#: Where a header block could end: after the first empty line.
_BLANK_LINE = re.compile(rb'\n\r?\n')
#: The most a header block may hold (http.client: 100 lines of up to
#: 64 KiB each).
MAX_HEAD = MAX_LINE * 4
_NO_BODY = frozenset((204, 304))
#: What http.client refuses in a request target (and a header value).
_BAD_TARGET = re.compile('[\x00-\x20\x7f]')
_GOOD_NAME = re.compile(r'[^:\s][^:\r\n]*')
_BAD_VALUE = re.compile(r'\n(?![ \t])|\r(?![ \t\n])')


class NoResponse(http.client.RemoteDisconnected):
    """The connection ended (closed or reset) before the first byte of a
    response. On a kept-alive connection that means the server closed it
    while it was idle, as servers may at any time: the request can go
    again on a new connection."""


def exchange(sock, data, method):
    """Send the request ``data`` on ``sock`` and read the response to it,
    as ``read_response`` does. A connection that fails before any answer
    (while the request is written, or before the response's first byte)
    raises ``NoResponse``."""
    try:
        sock.sendall(data)
    except ConnectionError as error:
        raise NoResponse(
            'Remote end closed connection without response') from error
    return read_response(sock, method)


def request_bytes(method, target, headers, body=None):
    """The request as it goes on the wire: request line, ``headers`` (a
    list of (name, value) pairs, sent in that order) and ``body``."""
    bad = _BAD_TARGET.search(target)
    if bad:
        raise http.client.InvalidURL(
            f"URL can't contain control characters. {target!r} "
            f'(found at least {bad.group()!r})')
    # The request line is ASCII, as http.client has it (a non-ASCII URL
    # raises UnicodeEncodeError); header values are latin-1.
    f'{method} {target}'.encode('ascii')
    lines = [f'{method} {target} HTTP/1.1']
    for name, value in headers:
        value = str(value)
        if not _GOOD_NAME.fullmatch(name):
            raise ValueError(f'Invalid header name {name!r}')
        if _BAD_VALUE.search(value):
            raise ValueError(f'Invalid header value {value!r}')
        lines.append(f'{name}: {value}')
    lines += ('', '')
    head = '\r\n'.join(lines).encode('latin-1')
    return head + body if body else head


class _Reader:
    """Buffered reading from a socket, by line or by length."""

    def __init__(self, sock):
        self._sock = sock
        self._buffer = bytearray()
        self._eof = False
        self.received = False

    def _fill(self):
        if self._eof:
            return False
        try:
            data = self._sock.recv(_READ_SIZE)
        except ConnectionError as error:
            if self.received:
                raise
            raise NoResponse(
                'Remote end closed connection without response') from error
        if not data:
            self._eof = True
            return False
        self.received = True
        self._buffer += data
        return True

    def head(self):
        """The next header block, status line first, as text lines
        without their line ends but for the last character of each (so
        a folded line keeps the line end before it): fewer lines if the
        data ends first, none if there was no data."""
        start = 0
        while True:
            blank = _BLANK_LINE.search(self._buffer, start)
            if blank:
                block = self._take(blank.end())
                break
            if len(self._buffer) > MAX_HEAD:
                raise http.client.LineTooLong('header line')
            start = max(len(self._buffer) - 2, 0)
            if not self._fill():
                block = self._take(len(self._buffer))
                break
        return block.decode('iso-8859-1').split('\n')[:-1]

    def line(self):
        """The next line with its line end (b'' at the end of the data).
        """
        start = 0
        while True:
            end = self._buffer.find(b'\n', start)
            if end >= 0:
                return self._take(end + 1)
            if len(self._buffer) > MAX_LINE:
                raise http.client.LineTooLong('header line')
            start = len(self._buffer)
            if not self._fill():
                return self._take(len(self._buffer))

    def exactly(self, size):
        while len(self._buffer) < size:
            if not self._fill():
                raise http.client.IncompleteRead(
                    self._take(len(self._buffer)), size - len(self._buffer))
        return self._take(size)

    def rest(self):
        while self._fill():
            pass
        return self._take(len(self._buffer))

    def pending(self):
        """Whether bytes were read past what was taken."""
        return bool(self._buffer)

    def _take(self, size):
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def read_response(sock, method):
    """``(status, reason, headers, body, persistent)`` of the response on
    ``sock`` to a ``method`` request; ``headers`` is a list of (name,
    value) pairs. Interim 1xx responses are skipped, as http.client does.

    ``persistent``: whether the connection can carry another request
    (RFC 9112, 9.3): HTTP/1.1 without ``Connection: close``, or HTTP/1.0
    with ``Connection: keep-alive``; and the body's end was known from
    its framing (not the connection's end), with nothing sent after it.
    """
    reader = _Reader(sock)
    while True:
        lines = reader.head()
        if not lines:
            raise (http.client.RemoteDisconnected if reader.received
                   else NoResponse)(
                'Remote end closed connection without response')
        version, status, reason = _status_line(lines[0])
        headers = _header_fields(lines[1:])
        if not (100 <= status < 200) or status == 101:
            break
    fields = {name.lower(): value for name, value in reversed(headers)}
    persistent = status != 101 and _keeps_alive(
        version, fields.get('connection', ''))
    if method == 'HEAD' or status in _NO_BODY or status < 200:
        body = b''
    elif (fields.get('transfer-encoding') or '').strip().lower() == 'chunked':
        body = _chunked_body(reader)
    else:
        try:
            length = int(fields.get('content-length', ''))
        except ValueError:
            length = -1
        if length >= 0:
            body = reader.exactly(length)
        else:
            body = reader.rest()
            persistent = False
    return (status, reason, headers, body,
            persistent and not reader.pending())


def _keeps_alive(version, connection):
    """Whether a response of HTTP ``version`` with the ``Connection``
    header value ``connection`` leaves the connection open."""
    tokens = connection_options(connection)
    if 'close' in tokens:
        return False
    return version not in ('HTTP/1.0', 'HTTP/0.9') or 'keep-alive' in tokens


def connection_options(value):
    """The options of a ``Connection`` header ``value``, in lower case.
    """
    return {option.strip().lower() for option in value.split(',')}


def _status_line(line):
    version, _, rest = line.strip().partition(' ')
    code, _, reason = rest.partition(' ')
    if (not version.startswith('HTTP/') or len(code) != 3
            or not code.isdigit()):
        raise http.client.BadStatusLine(line + '\n')
    return version, int(code), reason.strip()


def _header_fields(lines):
    """The (name, value) pairs of the header ``lines``. A folded
    (continued) line stays in its field's value with the line end before
    it, as http.client shows it."""
    if len(lines) > MAX_HEADERS + 1:
        raise http.client.HTTPException(
            f'got more than {MAX_HEADERS} headers')
    headers = []
    line_end = '\n'
    for line in lines:
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong('header line')
        value = line.rstrip('\r')
        if not value:
            break
        if value[0] in ' \t' and headers:
            name, before = headers[-1]
            headers[-1] = (name, before + line_end + value)
        else:
            name, colon, value = value.partition(':')
            if colon:
                headers.append((name, value.lstrip(' \t')))
        line_end = line[len(line.rstrip('\r')):] + '\n'
    return headers


def _chunked_body(reader):
    parts = []
    while True:
        size_line = reader.line()
        try:
            size = int(size_line.split(b';', 1)[0], 16)
        except ValueError:
            raise http.client.IncompleteRead(b''.join(parts)) from None
        if size == 0:
            break
        parts.append(reader.exactly(size))
        reader.line()  # the CRLF after the chunk
    while reader.line().strip():
        pass  # trailer fields: not shown
    return b''.join(parts)
