"""Ask a ZEO server how its storages are doing, with ZEO's ``ruok``
handshake: send the sized message ``ruok``; the server answers with its
protocol message and then one JSON message describing every storage."""
import json
import re
import socket
import struct

from ZODB.TimeStamp import TimeStamp

TIMEOUT = 30
#: Far more than any ZEO server's status: anything bigger is not one.
MAX_MESSAGE = 1 << 20


class UnexpectedAnswer(OSError):
    """The server answered, but not as a ZEO server does."""


def parse_address(text):
    """``host:port``, ``[v6]:port`` or a unix socket path, as
    ``(family, address)``; ValueError for a port out of range."""
    for family, pattern in ((socket.AF_INET6, r'\[(\S+)\]:(\d+)$'),
                            (socket.AF_INET, r'(\S+):(\d+)$')):
        match = re.match(pattern, text)
        if match:
            port = int(match.group(2))
            if not 0 < port < 65536:
                raise ValueError(f'bad address {text!r}: port {port} is not '
                                 f'in 1-65535')
            return family, (match.group(1), port)
    return socket.AF_UNIX, text


def address_argument(text):
    """An argparse ``type``: a server address, checked."""
    import argparse
    try:
        parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _receive(sock, size):
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError('connection closed by the server')
        data += chunk
    return bytes(data)


def _message(sock):
    size, = struct.unpack('>I', _receive(sock, 4))
    if size > MAX_MESSAGE:
        raise UnexpectedAnswer(f'unexpected answer: a {size}-byte message')
    return _receive(sock, size)


def status(address, timeout=TIMEOUT):
    """``{storage_id: status dict}`` of the ZEO server at ``address``
    (text, as on command lines). Raises OSError when it cannot be asked."""
    family, target = parse_address(address)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(target)
        sock.sendall(struct.pack('>I', 4) + b'ruok')
        _message(sock)  # the server's protocol version
        try:
            answer = json.loads(_message(sock).decode('ascii'))
        except ValueError as exc:
            raise UnexpectedAnswer(f'unexpected answer: {exc}') from None
    if not isinstance(answer, dict):
        raise UnexpectedAnswer(f'unexpected answer: {answer!r:.60}')
    return answer


def last_transaction_times(address, timeout=TIMEOUT):
    """``{storage_id: seconds since the epoch}`` of each storage's last
    transaction (None for an empty storage)."""
    result = {}
    for storage_id, info in status(address, timeout).items():
        try:
            tid = bytes.fromhex(info['last-transaction'])
            result[storage_id] = (TimeStamp(tid).timeTime()
                                  if tid.strip(b'\0') else None)
        except (TypeError, KeyError, ValueError, AttributeError):
            raise UnexpectedAnswer(
                f'unexpected status of storage {storage_id!r}: '
                f'{info!r:.60}') from None
    return result
