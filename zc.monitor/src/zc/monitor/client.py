"""``zc-monitor``: talk to a monitor server without telnet or nc.

    zc-monitor ADDRESS COMMAND [ARG ...]   one command, print its answer
    zc-monitor ADDRESS                     interactive: lines from stdin

``query`` does the first for Python code.
"""
import argparse
import codecs
import os
import selectors
import socket
import sys

from zc.monitor.address import LOOPBACK, format_address, parse_address

#: Seconds to wait for a connection and, in one-shot use, for the answer.
TIMEOUT = 30.0


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


def _copy_answer(sock, out):
    decoder = codecs.getincrementaldecoder('utf-8')('replace')
    while data := sock.recv(65536):
        out.write(decoder.decode(data))
        out.flush()
    out.write(decoder.decode(b'', final=True))


def _converse(sock, stdin_fd, out):
    """Interactive: pass stdin to the server and its answers to ``out``
    until the server closes (after ``quit``, or the end of stdin)."""
    sock.settimeout(None)
    sock.sendall(b'interactive\n')
    decoder = codecs.getincrementaldecoder('utf-8')('replace')
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        selector.register(stdin_fd, selectors.EVENT_READ)
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
                    'answer. Without a command, start an interactive '
                    'session: each line of standard input is a command, '
                    'until "quit" or the end of input.')
    parser.add_argument(
        'address', type=_address, metavar='ADDRESS',
        help='HOST:PORT, PORT (on 127.0.0.1) or the path of a Unix socket')
    parser.add_argument('command', nargs='?', metavar='COMMAND',
                        help='the command, e.g. "help"')
    parser.add_argument('args', nargs=argparse.REMAINDER, metavar='ARG',
                        help="the command's arguments")
    parser.add_argument(
        '-t', '--timeout', type=float, default=TIMEOUT, metavar='SECONDS',
        help=f'give up connecting, or waiting for an answer, after this '
             f'many seconds (default {TIMEOUT:g})')
    return parser


def main(args=None):
    options = _parser().parse_args(args)
    address = options.address
    if isinstance(address, int):
        address = LOOPBACK, address
    where = format_address(address)
    try:
        sock = connect(address, options.timeout)
    except OSError as error:
        print(f'zc-monitor: cannot connect to {where}: '
              f'{error.strerror or error}', file=sys.stderr)
        return 1
    with sock:
        try:
            if options.command is None:
                _converse(sock, sys.stdin.fileno(), sys.stdout)
            else:
                _send_line(sock, ' '.join([options.command, *options.args]))
                _copy_answer(sock, sys.stdout)
        except TimeoutError:
            print(f'zc-monitor: no answer from {where} within '
                  f'{options.timeout:g} seconds', file=sys.stderr)
            return 1
        except OSError as error:
            print(f'zc-monitor: connection to {where} failed: '
                  f'{error.strerror or error}', file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
