"""``zc-monitor``: talk to a monitor server without telnet or nc.

    zc-monitor ADDRESS COMMAND [ARG ...]   one command, print its answer
    zc-monitor ADDRESS                     interactive: lines from stdin

The script opens every conversation with ``interactive``: a monitor's
answer to it shows that the address is a monitor and not, say, a ZEO or
replication port. It exits with status 1 when the server answers with an
error (an unknown command, wrong arguments, a failed command), which it
prints on stderr. ``ask`` does the same for Python code; ``query`` sends
one line as any client may and returns whatever comes back.
"""
import argparse
import codecs
import math
import os
import selectors
import socket
import sys
import time

from zc.monitor.address import LOOPBACK, format_address, parse_address
from zc.monitor.protocol import INTERACTIVE_BANNER, is_error

#: Seconds to wait for a connection and, in one-shot use, for the answer.
TIMEOUT = 30.0

_BANNER = INTERACTIVE_BANNER.encode()


class NotAMonitor(Exception):
    """The server at an address does not talk like a monitor."""


def connect(address, timeout=TIMEOUT):
    """A socket connected to the monitor at ``address`` (as ``start``
    takes it; a host of ``''`` means this machine)."""
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
        return sock
    if isinstance(address, int):
        address = LOOPBACK, address
    host, port = address
    return socket.create_connection((host or LOOPBACK, port), timeout)


def query(address, line, timeout=TIMEOUT):
    """Send one command line; return the whole answer as text."""
    chunks = []
    with connect(address, timeout) as sock:
        _send_line(sock, line)
        while data := sock.recv(65536):
            chunks.append(data)
    return b''.join(chunks).decode('utf-8', 'replace')


def _send_line(sock, line):
    sock.sendall(line.encode('utf-8') + b'\n')
    # No more input: the server answers the line, and closes even if the
    # command asked for more lines.
    sock.shutdown(socket.SHUT_WR)


def _where(address):
    if isinstance(address, int):
        address = LOOPBACK, address
    return format_address(address)


def _open_conversation(sock, where, deadline, timeout):
    """Read the answer to the ``interactive`` line sent first, by
    ``deadline``; return what came after it. Raise ``NotAMonitor`` or
    TimeoutError."""
    data = b''
    while len(data) < len(_BANNER):
        try:
            chunk = _recv(sock, deadline)
        except TimeoutError:
            raise TimeoutError(
                f'no answer from {where} within {timeout:g} seconds: not a'
                f' monitor, or a very busy one') from None
        if not chunk:
            raise NotAMonitor(f'{where} is not a monitor (it closed the'
                              f' connection without answering)')
        data += chunk
        if not _BANNER.startswith(data[:len(_BANNER)]):
            raise NotAMonitor(f'{where} is not a monitor (it answered'
                              f' {data[:40]!r})')
    return data[len(_BANNER):]


def _recv(sock, deadline):
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    return sock.recv(65536)


def ask(address, line, timeout=TIMEOUT):
    """Send one command line to the monitor at ``address``; return its
    whole answer as text. Raises ``NotAMonitor``, TimeoutError (no answer
    within ``timeout`` seconds) and OSError (cannot connect)."""
    deadline = time.monotonic() + timeout
    with connect(address, timeout) as sock:
        return _ask(sock, _where(address), line, deadline, timeout)


def _ask(sock, where, line, deadline, timeout):
    # In interactive mode the line gets the answer it gets one-shot; the
    # end of our input ends the conversation afterwards.
    sock.sendall(b'interactive\n' + line.encode('utf-8') + b'\n')
    sock.shutdown(socket.SHUT_WR)
    chunks = [_open_conversation(sock, where, deadline, timeout)]
    try:
        while chunk := _recv(sock, deadline):
            chunks.append(chunk)
    except TimeoutError:
        raise TimeoutError(f'no answer from {where} within {timeout:g}'
                           f' seconds') from None
    return b''.join(chunks).decode('utf-8', 'replace')


def _converse(sock, where, deadline, timeout, stdin_fd, out):
    """Interactive: pass stdin to the server and its answers to ``out``
    until the server closes (after ``quit``, or the end of stdin)."""
    sock.sendall(b'interactive\n')
    rest = _open_conversation(sock, where, deadline, timeout)
    sock.settimeout(None)  # the operator takes their time
    decoder = codecs.getincrementaldecoder('utf-8')('replace')
    out.write(INTERACTIVE_BANNER + decoder.decode(rest))
    out.flush()
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        try:
            selector.register(stdin_fd, selectors.EVENT_READ)
        except PermissionError:
            # A regular file or /dev/null, which are always readable.
            while data := os.read(stdin_fd, 65536):
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        while True:
            for key, _ in selector.select():
                if key.fileobj is sock:
                    data = sock.recv(65536)
                    if not data:
                        out.write(decoder.decode(b'', final=True))
                        return
                    out.write(decoder.decode(data))
                    out.flush()
                else:
                    data = os.read(stdin_fd, 65536)
                    if data:
                        sock.sendall(data)
                    else:
                        selector.unregister(stdin_fd)
                        sock.shutdown(socket.SHUT_WR)


def _address(text):
    try:
        return parse_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def _parser():
    parser = argparse.ArgumentParser(
        prog='zc-monitor',
        usage='%(prog)s [-h] [-t SECONDS] ADDRESS [COMMAND [ARG ...]]',
        description='Send a command to a zc.monitor server and print the '
                    'answer; exit with status 1 if the answer is an error. '
                    'Without a command, start an interactive session: each '
                    'line of standard input is a command, until "quit" or '
                    'the end of input.')
    parser.add_argument(
        'address', type=_address, nargs='?', metavar='ADDRESS',
        help='HOST:PORT, PORT (on 127.0.0.1) or the path of a Unix socket')
    parser.add_argument('command', nargs='?', metavar='COMMAND',
                        help='the command, e.g. "help" (optional)')
    parser.add_argument('args', nargs=argparse.REMAINDER, metavar='ARG',
                        help="the command's arguments (optional)")
    parser.add_argument(
        '-t', '--timeout', type=float, default=TIMEOUT, metavar='SECONDS',
        help=f'give up connecting, or waiting for an answer, after this '
             f'many seconds (default {TIMEOUT:g})')
    return parser


def _fail(message, status=1):
    print(f'zc-monitor: {message}', file=sys.stderr)
    return status


def main(args=None):
    parser = _parser()
    options = parser.parse_args(args)
    if options.address is None:
        parser.error('the following argument is required: ADDRESS')
    if not (math.isfinite(options.timeout) and options.timeout > 0):
        return _fail(f'the timeout must be a positive number of seconds,'
                     f' not {options.timeout:g}', 2)
    if options.command is not None and not options.command.strip():
        return _fail('the command is empty', 2)
    where = _where(options.address)
    deadline = time.monotonic() + options.timeout
    try:
        sock = connect(options.address, options.timeout)
    except OSError as error:
        return _fail(f'cannot connect to {where}: {error.strerror or error}')
    with sock:
        try:
            if options.command is None:
                _converse(sock, where, deadline, options.timeout,
                          sys.stdin.fileno(), sys.stdout)
                return 0
            answer = _ask(sock, where,
                          ' '.join([options.command, *options.args]),
                          deadline, options.timeout)
        except (NotAMonitor, TimeoutError) as error:
            return _fail(error)
        except OSError as error:
            return _fail(f'connection to {where} failed: '
                         f'{error.strerror or error}')
    if is_error(options.command, answer):
        sys.stderr.write(answer)
        return 1
    sys.stdout.write(answer)
    return 0


if __name__ == '__main__':
    sys.exit(main())
