"""The protocol between zdaemon and its daemon manager, both halves.

The control socket: one command per connection.  The client sends a line,
closes its sending side and reads the reply until the manager closes the
connection.  ``status`` replies with ``key=value`` lines, in the order of
:data:`STATUS_KEYS` (zdaemon 5's).

The start report: ``zdaemon start`` passes the manager it launches a pipe
(its descriptor in the environment variable :data:`START_REPORT_FD`), on
which the manager writes ``KIND TEXT`` lines: ``note`` when the program
exits and is restarted, ``exit`` with the reason when the manager gives up
because of the program.  So start can say why, as it happens.
"""
import ast
import os
import socket

#: Seconds to wait for a manager's reply; it answers at once unless hung.
REPLY_TIMEOUT = 10.0

#: A command longer than this is refused.
MAX_COMMAND = 10000

#: The keys of the status reply, in order.
STATUS_KEYS = ('status', 'now', 'should_be_up', 'delay', 'backoff',
               'lasttime', 'application', 'testing', 'manager',
               'backofflimit', 'filename', 'args')

#: Values given as Python literals (a string, a list of strings).
_LITERALS = ('filename', 'args')
_FLOATS = ('now', 'delay', 'lasttime')

#: The environment variable that names the start report's pipe.
START_REPORT_FD = 'ZDAEMON_START_REPORT_FD'


def send_command(sockname, command, timeout=REPLY_TIMEOUT):
    """Send ``command`` to the manager at ``sockname`` and return its reply,
    or None when no manager answers there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(sockname)
        sock.sendall(command.encode() + b'\n')
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            data = sock.recv(4096)
            if not data:
                break
            chunks.append(data)
    except OSError:
        return None
    finally:
        sock.close()
    return b''.join(chunks).decode(errors='replace')


def manager_status(sockname, timeout=REPLY_TIMEOUT):
    """The status of the manager at ``sockname`` as a dict of typed values
    (``application`` is the program's pid, 0 when it is not running), or
    None when no manager answers there."""
    reply = send_command(sockname, 'status', timeout)
    return parse_status(reply) if reply else None


def format_status(fields):
    """The ``status`` reply for ``fields``, a dict with the STATUS_KEYS."""
    return ''.join(
        f'{key}={fields[key]!r}\n' if key in _LITERALS
        else f'{key}={fields[key]}\n' for key in STATUS_KEYS)


def parse_status(reply):
    """The manager's ``status`` reply as a dict of typed values."""
    status = {}
    for line in reply.splitlines():
        key, sep, value = line.partition('=')
        if not sep:
            continue
        if key in _LITERALS:
            try:
                status[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                status[key] = value
        elif key in _FLOATS:
            status[key] = float(value)
        elif key == 'status':
            status[key] = value
        else:
            try:
                status[key] = int(value)
            except ValueError:
                status[key] = value
    return status


def write_report(fd, kind, text):
    """Write a line of the start report; nobody may be listening any more."""
    try:
        os.write(fd, f'{kind} {text}\n'.encode())
    except OSError:
        pass


def read_report(data):
    """The complete lines of a start report (bytes) as (kind, text)."""
    lines = data.decode(errors='replace').split('\n')[:-1]
    return [tuple((line.split(' ', 1) + [''])[:2]) for line in lines]
