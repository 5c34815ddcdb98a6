"""The tiny site both browsers walk in benchmarks/testbrowser_pages.py.

Plain WSGI and the standard library only, so the same file serves
zc.testbrowser and the zope.testbrowser peer (in its own venv), in-process
and, run as a script, over real HTTP, by one of two servers:

    python testbrowser_app.py serve wsgiref  # prints its port; stops at
    python testbrowser_app.py serve lean     # stdin EOF

``wsgiref`` is the standard library's reference server (threaded request
handling, ``http.server``'s header parsing through the ``email``
package): about 180 us of CPU per request on this machine, as much as a
fast client's whole page. ``lean`` (``LeanServer``) is a small real
HTTP/1.1 server on a real socket, one thread and ``selectors``, with
keep-alive for clients that keep their connection: it answers the same
pages with a fraction of that CPU, so that a benchmark against it
measures the clients rather than the server.
"""
import io
import selectors
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import wsgiref.simple_server

PAGE = '''<!DOCTYPE html>
<html><head><title>Page {n}</title></head>
<body><h1>Page {n}</h1>
<p>Some text, a <a href="/page/{prev}">previous page</a> and the
<a href="/page/{next}">next page</a>.</p>
<ul>{items}</ul>
</body></html>'''

ITEMS = ''.join(f'<li><a href="/item/{i}">Item {i}</a></li>'
                for i in range(10))

COUNTS = {'requests': 0, 'robots': 0, 'connections': 0}
_lock = threading.Lock()


def app(environ, start_response):
    path = environ.get('PATH_INFO', '/')
    if path == '/__counts':
        # And the CPU time this process has used (the server's share of
        # each page, over HTTP).
        body = (f'{COUNTS["requests"]} {COUNTS["robots"]} '
                f'{time.process_time()} {COUNTS["connections"]}').encode()
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', str(len(body)))])
        return [body]
    with _lock:
        COUNTS['requests'] += 1
        if path == '/robots.txt':
            COUNTS['robots'] += 1
    if path == '/robots.txt':
        body = b'User-agent: *\nDisallow:\n'
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', str(len(body)))])
        return [body]
    try:
        n = int(path.rsplit('/', 1)[-1])
    except ValueError:
        n = 0
    body = PAGE.format(n=n, prev=max(n - 1, 0), next=n + 1,
                       items=ITEMS).encode()
    start_response('200 OK', [('Content-Type', 'text/html; charset=utf-8'),
                              ('Content-Length', str(len(body)))])
    return [body]


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def setup(self):
        with _lock:
            COUNTS['connections'] += 1
        super().setup()

    def log_message(self, *args):
        pass


def serve_wsgiref(stopped):
    server = wsgiref.simple_server.make_server(
        '127.0.0.1', 0, app, handler_class=_QuietHandler)
    server.timeout = 1
    print(server.server_port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stopped()
    server.shutdown()
    server.server_close()


class LeanServer:
    """A small HTTP/1.1 server for one WSGI application: one thread, a
    ``selectors`` loop over the listening socket and the connections.

    It parses the request line and header fields (``Content-Length``
    bodies), calls the application with a PEP 3333 environ, and writes
    the status line, the application's headers and its body in one
    ``sendall``. A connection stays open for the next request unless
    the client sends ``Connection: close`` (or speaks HTTP/1.0 without
    keep-alive) or the application gives no ``Content-Length``.
    """

    MAX_HEAD = 65536
    TIMEOUT = 30    # seconds a client may take to take our response

    def __init__(self, app, host='127.0.0.1', port=0):
        self.app = app
        self.listener = socket.create_server((host, port), backlog=64)
        self.listener.setblocking(False)
        self.host, self.port = self.listener.getsockname()[:2]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.base = {
            'SCRIPT_NAME': '', 'SERVER_NAME': self.host,
            'SERVER_PORT': str(self.port), 'REMOTE_ADDR': host,
            'wsgi.version': (1, 0), 'wsgi.url_scheme': 'http',
            'wsgi.errors': sys.stderr, 'wsgi.multithread': False,
            'wsgi.multiprocess': False, 'wsgi.run_once': False,
        }

    def serve(self, running):
        """Serve while ``running()`` says so (asked at least each second).
        """
        while running():
            for key, _ in self.selector.select(1):
                if key.fileobj is self.listener:
                    self._accept()
                else:
                    self._read(key.fileobj, key.data)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()

    def _accept(self):
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        sock.settimeout(self.TIMEOUT)
        with _lock:
            COUNTS['connections'] += 1
        self.selector.register(sock, selectors.EVENT_READ, bytearray())

    def _close(self, sock):
        self.selector.unregister(sock)
        sock.close()

    def _read(self, sock, buffer):
        try:
            data = sock.recv(65536)
        except OSError:
            data = b''
        if not data:
            return self._close(sock)
        buffer += data
        while True:
            end = buffer.find(b'\r\n\r\n')
            if end < 0:
                if len(buffer) > self.MAX_HEAD:
                    self._reply_error(sock, '431 Request Header Fields '
                                      'Too Large')
                return
            request = self._parse(bytes(buffer[:end]))
            if request is None:
                return self._reply_error(sock, '400 Bad Request')
            environ, length, close = request
            if len(buffer) < end + 4 + length:
                return  # the rest of the body is still to come
            body = bytes(buffer[end + 4:end + 4 + length])
            del buffer[:end + 4 + length]
            environ['wsgi.input'] = io.BytesIO(body)
            try:
                close = self._respond(sock, environ, close)
            except OSError:
                close = True
            if close:
                return self._close(sock)
            if not buffer:
                return

    def _parse(self, head):
        """``(environ, body length, close after?)``, or None if ``head``
        is not an HTTP/1.x request."""
        lines = head.decode('latin-1').split('\r\n')
        parts = lines[0].split(' ')
        if len(parts) != 3 or not parts[2].startswith('HTTP/1.'):
            return None
        method, target, version = parts
        path, _, query = target.partition('?')
        if '%' in path:
            path = urllib.parse.unquote_to_bytes(path).decode('latin-1')
        environ = self.base.copy()
        environ['REQUEST_METHOD'] = method
        environ['PATH_INFO'] = path
        environ['QUERY_STRING'] = query
        environ['SERVER_PROTOCOL'] = version
        for line in lines[1:]:
            name, colon, value = line.partition(':')
            if not colon:
                return None
            key = name.strip().upper().replace('-', '_')
            value = value.strip()
            if key not in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
                key = 'HTTP_' + key
            if key in environ:
                environ[key] += ',' + value
            else:
                environ[key] = value
        try:
            length = int(environ.get('CONTENT_LENGTH') or 0)
        except ValueError:
            return None
        connection = environ.get('HTTP_CONNECTION', '').lower()
        close = ('close' in connection if version == 'HTTP/1.1'
                 else 'keep-alive' not in connection)
        return environ, max(length, 0), close

    def _respond(self, sock, environ, close):
        """Run the application and send its response; whether the
        connection is to be closed after it."""
        started = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]
            return written.append

        written = []
        try:
            result = self.app(environ, start_response)
            try:
                written.extend(result)
            finally:
                if hasattr(result, 'close'):
                    result.close()
        except Exception:
            traceback.print_exc()
            started[:] = ['500 Internal Server Error',
                          [('Content-Length', '0')]]
            written = []
        status, headers = started
        if not any(name.lower() == 'content-length' for name, _ in headers):
            close = True
        lines = [f'HTTP/1.1 {status}']
        lines += [f'{name}: {value}' for name, value in headers]
        if close:
            lines.append('Connection: close')
        lines += ('', '')
        sock.sendall('\r\n'.join(lines).encode('latin-1')
                     + b''.join(written))
        return close

    def _reply_error(self, sock, status):
        try:
            sock.sendall(f'HTTP/1.1 {status}\r\nContent-Length: 0\r\n'
                         'Connection: close\r\n\r\n'.encode())
        except OSError:
            pass
        self._close(sock)


def serve_lean(stopped):
    server = LeanServer(app)
    print(server.port, flush=True)
    done = threading.Event()
    thread = threading.Thread(target=server.serve,
                              args=(lambda: not done.is_set(),))
    thread.start()
    stopped()
    done.set()
    thread.join(30)


SERVERS = {'wsgiref': serve_wsgiref, 'lean': serve_lean}


def main(argv):
    if len(argv) != 2 or argv[0] != 'serve' or argv[1] not in SERVERS:
        sys.exit(f'usage: testbrowser_app.py serve {{{"|".join(SERVERS)}}}')
    # The benchmark closes our stdin to stop us.
    SERVERS[argv[1]](sys.stdin.read)


if __name__ == '__main__':
    main(sys.argv[1:])
