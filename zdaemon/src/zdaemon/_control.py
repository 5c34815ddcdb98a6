"""The client side of the daemon manager's control socket.

One command per connection: the client sends a line, closes its sending
side and reads the reply until the manager closes the connection.
"""
import ast
import socket

#: Seconds to wait for a manager's reply; it answers at once unless hung.
REPLY_TIMEOUT = 10.0


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


def parse_status(reply):
    """The manager's ``status`` reply as a dict of typed values."""
    status = {}
    for line in reply.splitlines():
        key, sep, value = line.partition('=')
        if not sep:
            continue
        if key in ('filename', 'args'):
            try:
                status[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                status[key] = value
        elif key in ('now', 'delay', 'lasttime'):
            status[key] = float(value)
        elif key == 'status':
            status[key] = value
        else:
            try:
                status[key] = int(value)
            except ValueError:
                status[key] = value
    return status
