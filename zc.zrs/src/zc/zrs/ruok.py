"""Ask a ZEO server how its storages are doing, with ZEO's ``ruok``
handshake: send the sized message ``ruok``; the server answers with its
protocol message and then one JSON message describing every storage."""
import json
import re
import socket
import struct

from ZODB.TimeStamp import TimeStamp

TIMEOUT = 30


def parse_address(text):
    """``host:port``, ``[v6]:port`` or a unix socket path, as
    ``(family, address)``."""
    match = re.match(r'\[(\S+)\]:(\d+)$', text)
    if match:
        return socket.AF_INET6, (match.group(1), int(match.group(2)))
    match = re.match(r'(\S+):(\d+)$', text)
    if match:
        return socket.AF_INET, (match.group(1), int(match.group(2)))
    return socket.AF_UNIX, text


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
            return json.loads(_message(sock).decode('ascii'))
        except ValueError as exc:
            raise OSError(f'unexpected answer: {exc}') from None


def last_transaction_times(address, timeout=TIMEOUT):
    """``{storage_id: seconds since the epoch}`` of each storage's last
    transaction (None for an empty storage)."""
    result = {}
    for storage_id, info in status(address, timeout).items():
        tid = bytes.fromhex(info['last-transaction'])
        result[storage_id] = (TimeStamp(tid).timeTime() if tid.strip(b'\0')
                              else None)
    return result
