"""Monitor addresses: parsing them from text and binding listening sockets.

An address is an int (a TCP port on loopback), a ``(host, port)`` tuple
(``''`` meaning every interface) or a str (a Unix socket path).
"""
import errno
import os
import re
import socket
import stat
import tempfile

LOOPBACK = '127.0.0.1'
BACKLOG = 128

_HOST_PORT = re.compile(r'^(?:\[(?P<ipv6>[^\]]*)\]|(?P<host>[^:/]*)):'
                        r'(?P<port>\d+)$')


def parse_address(text):
    """The address written as ``text`` in a config file or command line.

    ``PORT`` gives an int, ``HOST:PORT`` (``[IPv6]:PORT``, or ``:PORT`` for
    every interface) a tuple, anything else a Unix socket path.
    """
    text = text.strip()
    if not text:
        raise ValueError('empty monitor address')
    if text.isdigit():
        return _port(text, text)
    match = _HOST_PORT.match(text)
    if match:
        host = match['ipv6'] if match['ipv6'] is not None else match['host']
        return host, _port(match['port'], text)
    return text


def _port(digits, text):
    port = int(digits)
    if port > 65535:
        raise ValueError(f'port out of range in monitor address {text!r}')
    return port


def format_address(address):
    """``address`` as ``parse_address`` reads it back."""
    if isinstance(address, str):
        return address
    if isinstance(address, int):
        return str(address)
    host, port = address
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'


def bind(address):
    """A listening non-blocking socket at ``address``.

    Returns ``(socket, bound_address)``; the bound address has the real
    port when 0 was asked for, and is a Unix socket path exactly as given.
    Raises OSError (``EADDRINUSE`` when another server has the address).
    """
    if isinstance(address, str):
        sock = _bind_unix(address)
        bound = address
    else:
        if isinstance(address, int):
            address = LOOPBACK, address
        sock = _bind_tcp(*address)
        bound = sock.getsockname()[:2]
    sock.setblocking(False)
    return sock, bound


def _bind_tcp(host, port):
    family, _, _, _, sockaddr = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM,
        flags=socket.AI_PASSIVE)[0]
    return socket.create_server(sockaddr, family=family, backlog=BACKLOG)


def _bind_unix(path):
    """Bind a Unix socket that only the owner can use (0600).

    The socket is bound inside a fresh private directory, made 0600 there
    and renamed into place, so it is never reachable with wider
    permissions. A socket file already at ``path`` is replaced, whether a
    dead process left it or a live one listens there (it keeps its
    connections but can no longer be reached): the newest monitor wins.
    Any other kind of file is left alone (FileExistsError).
    """
    path = os.path.abspath(path)
    _remove_socket(path)
    private = tempfile.mkdtemp(prefix='.', dir=os.path.dirname(path))
    temporary = os.path.join(private, 's')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if _fits(temporary):
            sock.bind(temporary)
            os.chmod(temporary, 0o600)
            os.rename(temporary, path)
        else:
            # Too long to take the detour: bind in place and narrow the
            # permissions at once (the directory is the operator's).
            sock.bind(path)
            os.chmod(path, 0o600)
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        os.rmdir(private)
    return sock


def _fits(path):
    # sockaddr_un.sun_path is 108 bytes on Linux, including the final NUL.
    return len(os.fsencode(path)) < 108


def _remove_socket(path):
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(
            errno.EEXIST, 'exists and is not a socket, not replacing it', path)
    os.unlink(path)


def socket_identity(path):
    """What tells our socket file from one that replaced it later."""
    info = os.lstat(path)
    return info.st_dev, info.st_ino
