"""Getting a response for a request: straight from a WSGI application in
the same process, or over real HTTP.

A transport knows nothing about pages, cookies or redirects; the Browser
does all that, identically for both. It only turns one ``Request`` into
one ``Response``.
"""
import http.client
import io
import select
import socket
import sys
import urllib.parse

from zc.testbrowser._errors import HostNotAllowed
from zc.testbrowser._wire import (
    NoResponse, connection_options, exchange, request_bytes)

#: Hosts an in-process application answers for (and their subdomains).
ALLOWED_HOSTS = ('localhost', '127.0.0.1', 'example.com', 'example.net',
                 'example.org')


class Request:
    """What the browser sends: ``url`` has no fragment; ``headers`` is a
    list of (name, value) pairs."""

    __slots__ = ('method', 'url', 'headers', 'body')

    def __init__(self, method, url, headers, body=None):
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body


class Response:
    """What came back: ``headers`` is a list of (name, value) pairs in the
    order the server sent them."""

    __slots__ = ('url', 'status', 'reason', 'headers', 'body')

    def __init__(self, url, status, reason, headers, body):
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        """The first value of header ``name`` (case-insensitive), or None.
        """
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def message(self):
        """The headers as an ``http.client.HTTPMessage`` (what
        ``browser.headers`` shows), after a synthetic ``Status`` field."""
        message = http.client.HTTPMessage()
        message['Status'] = f'{self.status} {self.reason}'
        for name, value in self.headers:
            message[name] = value
        return message

    def header_values(self, name):
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]


def host_allowed(host):
    host = host.lower()
    return any(host == allowed or host.endswith('.' + allowed)
               for allowed in ALLOWED_HOSTS)


class WSGITransport:
    """Calls a WSGI application directly, in this process and thread.

    No WebTest and no lint layer in between: the environ is built once per
    request from the URL and headers, and the application's exceptions
    propagate unchanged (which is what ``handleErrors = False`` is for).
    """

    def __init__(self, app):
        self.app = app
        self._sites = {}

    def _site_environ(self, url, shown):
        """The part of the environ that only depends on the site of
        ``url`` (split), made once per site, when its host is checked."""
        site = (url.scheme, url.netloc)
        environ = self._sites.get(site)
        if environ is None:
            host = url.hostname or ''
            if not host_allowed(host):
                raise HostNotAllowed(
                    f'{shown!r}: an in-process browser only serves '
                    f'{", ".join(ALLOWED_HOSTS)} and their subdomains')
            scheme = url.scheme or 'http'
            environ = self._sites[site] = {
                'SCRIPT_NAME': '',
                'SERVER_NAME': host,
                'SERVER_PORT': str(
                    url.port or (443 if scheme == 'https' else 80)),
                'SERVER_PROTOCOL': 'HTTP/1.1',
                'REMOTE_ADDR': '127.0.0.1',
                'wsgi.version': (1, 0),
                'wsgi.url_scheme': scheme,
                'wsgi.errors': sys.stderr,
                'wsgi.multithread': False,
                'wsgi.multiprocess': False,
                'wsgi.run_once': False,
            }
        return environ

    def send(self, request, handle_errors, timeout=None):
        url = urllib.parse.urlsplit(request.url)
        environ = self._site_environ(url, request.url).copy()
        path = url.path or '/'
        if '%' in path or not path.isascii():
            # PEP 3333: PATH_INFO holds the unquoted bytes, as latin-1.
            path = urllib.parse.unquote_to_bytes(path).decode('latin-1')
        body = request.body
        environ['REQUEST_METHOD'] = request.method
        environ['PATH_INFO'] = path
        environ['QUERY_STRING'] = url.query
        environ['wsgi.input'] = io.BytesIO(body or b'')
        if body is not None:
            # A GET has no body and so no length (PEP 3333 leaves it out).
            environ['CONTENT_LENGTH'] = str(len(body))
        for name, value in request.headers:
            key = name.upper().replace('-', '_')
            if key == 'CONTENT_TYPE':
                environ['CONTENT_TYPE'] = value
                continue
            if key == 'CONTENT_LENGTH':
                continue
            key = 'HTTP_' + key
            if key in environ:
                environ[key] += ',' + value
            else:
                environ[key] = value
        if not handle_errors:
            environ['wsgi.handleErrors'] = False
            environ['paste.throw_errors'] = True
            environ['x-wsgiorg.throw_errors'] = True
        started = []
        written = []

        def start_response(status, headers, exc_info=None):
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append

        result = self.app(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    written.append(chunk)
        finally:
            close = getattr(result, 'close', None)
            if close is not None:
                close()
        if not started:
            raise AssertionError(
                f'the WSGI application {self.app!r} returned without calling '
                'start_response')
        status, headers = started
        code, _, reason = status.partition(' ')
        return Response(request.url, int(code), reason, list(headers),
                        b''.join(written))


class HTTPTransport:
    """Real HTTP/1.1 over persistent connections, as browsers keep them:
    after a response that allows it (``_wire.read_response``), the
    connection waits, one per site, for the browser's next request
    there. A server may close an idle connection at any time: a kept
    connection with something to read (its end, or bytes nobody asked
    for) is given up before use, and a request that gets no answer at all
    on a reused connection (closed just then) goes again, once, on a new
    one (browsers do the same). A connection that failed, or a
    request or response that says ``Connection: close``, is not reused.

    Why: the kernel's work of opening and closing a loopback connection
    (connect, accept, two FIN exchanges) was a large part of the client's
    CPU per page, about 70 us of 170 (measured for issue 19, see CHANGES).

    ``http.client`` connects (TLS included) to a host name; an IP
    address is connected to directly (``_connect``). The request and
    response themselves are ``_wire``'s.
    """

    def __init__(self):
        self._idle = {}  # (scheme, netloc): a connected socket

    def send(self, request, handle_errors, timeout=60):
        url = urllib.parse.urlsplit(request.url)
        target = url.path or '/'
        if url.query:
            target += '?' + url.query
        headers = request.headers
        body = request.body
        if body is not None or request.method in ('POST', 'PUT'):
            headers = headers + [('Content-Length', str(len(body or b'')))]
        data = request_bytes(request.method, target, headers, body)
        site = (url.scheme, url.netloc)
        sock = self._idle.pop(site, None)
        if sock is not None and not _still_idle(sock):
            sock.close()
            sock = None
        reply = None
        if sock is not None:
            try:
                reply = _exchange(sock, data, request.method, timeout)
            except NoResponse:
                pass  # closed just then: once more, on a new connection
        if reply is None:
            sock = _connect(url, timeout)
            reply = _exchange(sock, data, request.method, timeout)
        status, reason, headers, body, persistent = reply
        if persistent and not _asks_to_close(request.headers):
            self._idle[site] = sock
        else:
            sock.close()
        return Response(request.url, status, reason, headers, body)

    def close(self):
        """Close the idle connections (also when the browser goes away,
        so that none is left to the garbage collector's warning)."""
        while self._idle:
            self._idle.popitem()[1].close()

    __del__ = close


def _still_idle(sock):
    """Whether a kept connection is open and silent. A server that closed
    it has left an end of file to read, and one that wrote to it unasked
    (a ``408 Request Timeout`` before closing, say) has left bytes that
    would pass for the answer to our next request."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return not poller.poll(0)


def _exchange(sock, data, method, timeout):
    """``_wire.exchange`` on ``sock``, which is closed if that fails."""
    try:
        sock.settimeout(timeout)
        return exchange(sock, data, method)
    except BaseException:
        sock.close()
        raise


def _asks_to_close(headers):
    return any(name.lower() == 'connection'
               and 'close' in connection_options(value)
               for name, value in headers)


def _connect(url, timeout):
    """A socket connected to the server of ``url`` (split).

    A plain-HTTP URL whose host is an IP address (most test servers) is
    connected to without ``http.client``: ``socket.create_connection``
    resolves even an address through ``getaddrinfo`` and Python's IDNA
    codec, about 20 us of the client's CPU per request, a tenth of all
    it spends on a page (measured for issue 19). A host name, and TLS,
    go through ``http.client`` as before: resolution, every address
    tried, its host checks and errors.
    """
    host, port = url.hostname, url.port
    if url.scheme != 'https' and host:
        family = _address_family(host)
        if family is not None:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect((host, port or 80))
            except BaseException:
                sock.close()
                raise
            return sock
    if url.scheme == 'https':
        connection = http.client.HTTPSConnection(host, port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.connect()
    return connection.sock


def _address_family(host):
    """``AF_INET`` or ``AF_INET6`` if ``host`` is an IP address, else None.
    """
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return family
    return None
