"""The browser over real HTTP, against real loopback servers.

One wsgiref server (zc.testbrowser.testing.Server) runs for the whole
layer, serving the example application plus a request log, so tests can
check what actually went over the wire.
"""
import gc
import http.client
import re
import socket
import struct
import threading
import unittest
import urllib.error
import warnings

from zc.testbrowser._wire import read_response
from zc.testbrowser.browser import Browser, RobotExclusionError
from zc.testbrowser.testing import ExampleApp, Server


class RecordingApp:
    """The example application, remembering each request's path."""

    def __init__(self):
        self.app = ExampleApp()
        self.paths = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.paths.append(environ['PATH_INFO'])
        return self.app(environ, start_response)


class ServerLayer:
    """A real HTTP server on 127.0.0.1, shared by the tests of this module.
    """

    @classmethod
    def setUp(cls):
        cls.app = RecordingApp()
        cls.server = Server(cls.app).start()

    @classmethod
    def tearDown(cls):
        cls.server.stop()


class HTTPTests(unittest.TestCase):

    layer = ServerLayer

    def setUp(self):
        self.url = ServerLayer.server.url
        self.paths = ServerLayer.app.paths
        del self.paths[:]
        self.browser = Browser()

    def test_one_request_per_page(self):
        self.browser.open(self.url + '/links')
        self.browser.getLink('plain link').click()
        self.browser.getLink('back to the links').click()
        self.assertEqual(self.paths, ['/links', '/target', '/links'])

    def test_cookies_across_redirects(self):
        self.browser.open(self.url + '/set-cookie?first=1')
        self.browser.open(self.url + '/login')
        self.assertEqual(self.paths, ['/set-cookie', '/login',
                                      '/show-cookies'])
        self.assertEqual(self.browser.url, self.url + '/show-cookies')
        self.assertEqual(self.browser.contents, 'first=1\nsession=abc123\n')
        self.assertEqual(self.browser.cookies['session'], 'abc123')
        self.assertEqual(self.browser.cookies.getinfo('session')['domain'],
                         '127.0.0.1')

    def test_redirect_codes_become_get(self):
        for code in ('301', '302', '303', '307', '308'):
            with self.subTest(code=code):
                self.browser.post(
                    f'{self.url}/redirect?code={code}&to=/echo', 'a=1')
                self.assertEqual(self.browser.url, self.url + '/echo')
                self.assertIn('<pre>GET /echo', self.browser.contents)

    def test_redirect_not_followed(self):
        self.browser.followRedirects = False
        self.browser.open(self.url + '/login')
        self.assertEqual(self.browser.headers['status'], '302 Found')
        self.assertEqual(self.browser.headers['location'], '/show-cookies')
        self.assertEqual(self.paths, ['/login'])
        # The cookie of the redirect response is kept all the same.
        self.assertEqual(self.browser.cookies['session'], 'abc123')

    def test_client_error_raises_after_loading_the_page(self):
        with self.assertRaises(urllib.error.HTTPError) as caught:
            self.browser.open(self.url + '/status/404')
        self.assertEqual(caught.exception.code, 404)
        self.assertEqual(str(caught.exception), 'HTTP Error 404: Not Found')
        self.assertEqual(caught.exception.read(), self.browser.contents
                         .encode())
        self.assertEqual(self.browser.title, 'Not Found')
        self.assertEqual(self.browser.headers['status'], '404 Not Found')

    def test_server_error(self):
        with self.assertRaises(urllib.error.HTTPError) as caught:
            self.browser.open(self.url + '/status/500')
        self.assertEqual(caught.exception.code, 500)
        self.assertIn('Status 500 on purpose', self.browser.contents)

    def test_application_exception_is_a_500_over_http(self):
        # Over the network the exception stays in the server; the client
        # sees the server's error page, whatever handleErrors says.
        self.browser.handleErrors = False
        with self.assertRaises(urllib.error.HTTPError) as caught:
            self.browser.open(self.url + '/error')
        self.assertEqual(caught.exception.code, 500)

    def test_errors_not_raised_when_asked(self):
        self.browser.raiseHttpErrors = False
        self.browser.open(self.url + '/status/403')
        self.assertEqual(self.browser.headers['status'], '403 Forbidden')
        self.browser.open(self.url + '/status/503')
        self.assertEqual(self.browser.title, 'Service Unavailable')

    def test_default_headers_on_the_wire(self):
        self.browser.open(self.url + '/headers')
        port = self.url.rsplit(':', 1)[1]
        self.assertEqual(self.browser.contents.splitlines(), [
            'Connection: close',
            f'Host: 127.0.0.1:{port}',
            'User-Agent: Python-urllib/2.4',
            'X-Zope-Handle-Errors: True',
        ])

    def test_robots_fetched_once_when_asked(self):
        self.browser.checkRobots = True
        self.browser.open(self.url + '/links')
        self.browser.open(self.url + '/target?n=1')
        with self.assertRaises(RobotExclusionError) as caught:
            self.browser.open(self.url + '/private')
        self.assertEqual(caught.exception.code, 403)
        self.assertEqual(self.paths, ['/robots.txt', '/links', '/target'])
        # The browser still shows the last page it could fetch.
        self.assertEqual(self.browser.url, self.url + '/target?n=1')

    def test_form_and_upload_over_http(self):
        self.browser.open(self.url + '/upload')
        self.browser.getControl('File').add_file(
            b'\x00binary\xff', 'application/octet-stream', 'data.bin')
        self.browser.getControl('Upload').click()
        self.assertIn(
            "document: &lt;file 'data.bin' application/octet-stream 8 bytes:"
            " b'\\x00binary\\xff'&gt;", self.browser.contents)
        self.assertEqual(self.paths, ['/upload', '/echo'])

    def test_referer_sent_on_click_not_on_open(self):
        self.browser.open(self.url + '/links')
        self.browser.getLink('plain link').click()
        self.assertIn(f'referred by {self.url}/links', self.browser.contents)
        self.browser.open(self.url + '/target?n=1')
        self.assertIn('referred by (none)', self.browser.contents)

    def test_connection_refused_is_an_error(self):
        server = Server(ExampleApp())
        url = server.url
        server.stop()  # never started: the port is closed now
        with self.assertRaises(ConnectionRefusedError):
            self.browser.open(url + '/')

    def test_timeout(self):
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)  # accepts, never answers
        try:
            self.browser.timeout = 0.5
            with self.assertRaises(TimeoutError):
                self.browser.open(
                    'http://127.0.0.1:%d/' % listener.getsockname()[1])
        finally:
            listener.close()

    def test_any_host_is_allowed_over_http(self):
        # HostNotAllowed only guards in-process applications.
        self.browser.open(self.url.replace('127.0.0.1', 'localhost')
                          + '/where')
        self.assertIn('host localhost', self.browser.contents)


class CannedServer:
    """Answers one connection on a loopback port with ``response`` (bytes,
    sent ``piece`` bytes at a time), then closes it; ``request`` is what
    the browser sent, up to the end of its header block."""

    def __init__(self, response, piece=None):
        self.response = response
        self.piece = piece or len(response) or 1
        self.request = b''
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.listener.settimeout(10)
        self.url = 'http://127.0.0.1:%d' % self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self):
        connection, _ = self.listener.accept()
        with connection:
            connection.settimeout(10)
            while b'\r\n\r\n' not in self.request:
                data = connection.recv(65536)
                if not data:
                    break
                self.request += data
            for start in range(0, len(self.response), self.piece):
                connection.sendall(self.response[start:start + self.piece])

    def close(self):
        self.thread.join(10)
        self.listener.close()


class WireTests(unittest.TestCase):
    """What servers may send that the example application never does:
    the browser reads each the way http.client did."""

    def fetch(self, response, piece=None, path='/'):
        server = CannedServer(response, piece)
        self.addCleanup(server.close)
        browser = Browser()
        browser.open(server.url + path)
        return browser

    def test_chunked_body_with_extension_and_trailer(self):
        browser = self.fetch(
            b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n'
            b'Transfer-Encoding: chunked\r\n\r\n'
            b'5;name=value\r\nHello\r\n7\r\n, world\r\n0\r\n'
            b'Trailer-Field: x\r\n\r\n', piece=3)
        self.assertEqual(browser.contents, 'Hello, world')

    def test_body_without_length_ends_with_the_connection(self):
        browser = self.fetch(
            b'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n'
            b'all of it', piece=4)
        self.assertEqual(browser.contents, 'all of it')

    def test_body_stops_at_content_length(self):
        browser = self.fetch(
            b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n'
            b'Content-Length: 4\r\n\r\nfour and more')
        self.assertEqual(browser.contents, 'four')

    def test_no_content_has_no_body(self):
        browser = self.fetch(
            b'HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n'
            b'ignored')
        self.assertEqual(browser.headers['Status'], '204 No Content')
        self.assertEqual(browser.contents, '')

    def test_interim_response_is_skipped(self):
        browser = self.fetch(
            b'HTTP/1.1 100 Continue\r\n\r\n'
            b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n'
            b'Content-Length: 2\r\n\r\nok')
        self.assertEqual(browser.headers['Status'], '200 OK')
        self.assertEqual(browser.contents, 'ok')

    def test_headers_keep_their_order_and_folded_lines(self):
        browser = self.fetch(
            b'HTTP/1.1 200 OK\nContent-Type: text/plain\n'
            b'X-Folded: one\n\ttwo\nX-Spaced:   value\n'
            b'Content-Length: 0\n\n', piece=5)
        self.assertEqual(
            list(browser.headers.items()),
            [('Status', '200 OK'), ('Content-Type', 'text/plain'),
             ('X-Folded', 'one\n\ttwo'), ('X-Spaced', 'value'),
             ('Content-Length', '0')])

    def test_status_without_reason(self):
        browser = self.fetch(
            b'HTTP/1.1 200\r\nContent-Type: text/plain\r\n'
            b'Content-Length: 2\r\n\r\nok')
        self.assertEqual(browser.headers['Status'], '200 ')

    def test_request_goes_out_as_given(self):
        server = CannedServer(b'HTTP/1.1 204 No Content\r\n\r\n')
        self.addCleanup(server.close)
        browser = Browser()
        browser.post(server.url + '/form?a=1', 'x=1')
        server.thread.join(10)
        head = server.request.split(b'\r\n')
        self.assertEqual(head[0], b'POST /form?a=1 HTTP/1.1')
        self.assertEqual(head[1:6], [
            b'Host: ' + server.url[7:].encode(), b'Connection: close',
            b'User-Agent: Python-urllib/2.4',
            b'Content-Type: application/x-www-form-urlencoded',
            b'X-zope-handle-errors: True'])
        self.assertIn(b'Content-Length: 3', head)

    def test_garbage_status_line(self):
        with self.assertRaises(http.client.BadStatusLine):
            self.fetch(b'SMTP ready\r\n\r\n')

    def test_closed_without_response(self):
        with self.assertRaises(http.client.RemoteDisconnected):
            self.fetch(b'')

    def test_body_shorter_than_its_length(self):
        with self.assertRaises(http.client.IncompleteRead):
            self.fetch(b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort')

    def test_control_characters_in_the_url(self):
        with self.assertRaises(http.client.InvalidURL):
            Browser().open('http://127.0.0.1:9/a b')

    def test_non_ascii_url(self):
        with self.assertRaises(UnicodeEncodeError):
            Browser().open('http://127.0.0.1:9/\u00e9')

    def test_newline_in_a_header_value(self):
        browser = Browser()
        browser.addHeader('X-Bad', 'one\r\nX-Injected: two')
        with self.assertRaisesRegex(ValueError, 'Invalid header value'):
            browser.open('http://127.0.0.1:9/')


    def test_which_responses_leave_the_connection_open(self):
        cases = [
            (b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', True),
            (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
             b'2\r\nok\r\n0\r\n\r\n', True),
            (b'HTTP/1.1 204 No Content\r\n\r\n', True),
            (b'HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n'
             b'Content-Length: 2\r\n\r\nok', False),
            (b'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', False),
            (b'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n'
             b'Content-Length: 2\r\n\r\nok', True),
            # Bytes after the response: the next answer can't be trusted.
            (b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokay', False),
            (b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n',
             False),
        ]
        for response, persistent in cases:
            with self.subTest(response=response):
                ours, theirs = socket.socketpair()
                with ours, theirs:
                    ours.settimeout(10)
                    theirs.sendall(response)
                    self.assertEqual(
                        read_response(ours, 'GET')[4], persistent)
        # A body that ends with the connection never leaves it open.
        ours, theirs = socket.socketpair()
        with ours:
            ours.settimeout(10)
            with theirs:
                theirs.sendall(b'HTTP/1.1 200 OK\r\n\r\nto the end')
            self.assertEqual(read_response(ours, 'GET')[3:],
                             (b'to the end', False))

class KeepAliveServer:
    """A real HTTP server on a loopback port, a thread per connection,
    that keeps each connection open whatever its responses say, so a test
    sees which connections the browser chose to reuse.

    ``connections`` holds, per connection accepted, the request lines it
    answered. Each response has status line version ``version`` and the
    extra ``headers``. With ``idle``, the server closes a connection that
    waited that many seconds for its next request (with a reset instead
    of a FIN if ``reset``, after sending ``last_words``) and sets
    ``closed_idle``. With ``drop_after``, a connection that answered
    that many requests is closed on the next one, unanswered (recorded
    as "dropped: " and its request line). Connections after the first
    ``answered`` ones are closed at once, without an answer. A request
    for ``/slow`` is answered after a second.
    """

    WAIT = 10  # seconds any socket of ours waits, at most

    def __init__(self, version='HTTP/1.1', headers=(), idle=None,
                 reset=False, last_words=b'', drop_after=None,
                 answered=None):
        self.version = version
        self.headers = headers
        self.idle = idle
        self.reset = reset
        self.last_words = last_words
        self.drop_after = drop_after
        self.answered = answered
        self.connections = []
        self.closed_idle = threading.Event()
        self.client_closed = threading.Event()
        self._open = []
        self._stopped = threading.Event()
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.listener.settimeout(0.1)
        self.url = 'http://127.0.0.1:%d' % self.listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self):
        while not self._stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            requests = []
            self.connections.append(requests)
            if (self.answered is not None
                    and len(self.connections) > self.answered):
                connection.close()
                continue
            self._open.append(connection)
            thread = threading.Thread(
                target=self._serve, args=(connection, requests), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection, requests):
        with connection:
            buffer = b''
            while not self._stopped.is_set():
                connection.settimeout(
                    self.idle if self.idle and requests else self.WAIT)
                try:
                    data = connection.recv(65536)
                except TimeoutError:
                    if self.idle and requests:
                        self._close_idle(connection)
                    return
                except OSError:
                    return
                if not data:
                    self.client_closed.set()
                    return
                buffer += data
                while b'\r\n\r\n' in buffer:
                    head, _, buffer = buffer.partition(b'\r\n\r\n')
                    line = head.split(b'\r\n', 1)[0].decode('latin-1')
                    found = re.search(rb'(?i)\r\ncontent-length: *(\d+)',
                                      head)
                    buffer = buffer[int(found.group(1)) if found else 0:]
                    if len(requests) == self.drop_after:
                        requests.append('dropped: ' + line)
                        return
                    requests.append(line)
                    if line.split()[1] == '/slow':
                        self._stopped.wait(1)
                    try:
                        connection.sendall(self._response(line.split()[1]))
                    except OSError:
                        return  # the browser gave up waiting

    def _response(self, path):
        body = (f'<html><head><title>{path}</title></head><body>'
                f'<a href="/next">next</a></body></html>').encode()
        lines = [f'{self.version} 200 OK', 'Content-Type: text/html',
                 f'Content-Length: {len(body)}']
        lines += [f'{name}: {value}' for name, value in self.headers]
        return '\r\n'.join(lines + ['', '']).encode() + body

    def _close_idle(self, connection):
        if self.last_words:
            connection.sendall(self.last_words)
        if self.reset:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack('ii', 1, 0))
        connection.close()
        self.closed_idle.set()

    def close(self):
        self._stopped.set()
        for connection in self._open:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closed already
        for thread in self._threads:
            thread.join(self.WAIT)
        self.listener.close()


class KeepAliveTests(unittest.TestCase):
    """Persistent connections, as a browser keeps them: reused while the
    server allows it, given up when it says so or closes them, never
    reused after an error."""

    def browser(self):
        """A browser that asks for persistent connections (by default it
        says ``Connection: close``, as zope.testbrowser does)."""
        browser = Browser()
        browser.addHeader('Connection', 'keep-alive')
        return browser

    def serve(self, **options):
        server = KeepAliveServer(**options)
        self.addCleanup(server.close)
        return server

    def walk(self, server, browser=None):
        """Open a page, click its link, open another: three requests."""
        browser = browser or self.browser()
        browser.open(server.url + '/first')
        browser.getLink('next').click()
        browser.open(server.url + '/last')
        self.assertEqual(browser.title, '/last')
        return browser

    def test_pages_share_one_connection(self):
        server = self.serve()
        browser = self.walk(server)
        self.assertEqual(server.connections, [[
            'GET /first HTTP/1.1', 'GET /next HTTP/1.1',
            'GET /last HTTP/1.1']])
        # The connection is left open for the next request, and the
        # browser closes it when it goes away, without a ResourceWarning.
        self.assertFalse(server.client_closed.is_set())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            del browser
            gc.collect()
        self.assertEqual(caught, [])
        self.assertTrue(server.client_closed.wait(KeepAliveServer.WAIT))

    def test_a_connection_closed_while_idle_is_replaced(self):
        for reset in (False, True):
            with self.subTest(reset=reset):
                server = self.serve(idle=0.05, reset=reset)
                browser = self.browser()
                browser.open(server.url + '/first')
                self.assertTrue(
                    server.closed_idle.wait(KeepAliveServer.WAIT))
                browser.getLink('next').click()
                self.assertEqual(browser.title, '/next')
                # The request went once more on a new connection; the
                # closed one never answered anything.
                self.assertEqual(server.connections, [
                    ['GET /first HTTP/1.1'], ['GET /next HTTP/1.1']])

    def test_what_a_server_wrote_before_closing_is_no_answer(self):
        # Some servers say 408 Request Timeout before closing an idle
        # connection: the browser must not take it for the next answer.
        server = self.serve(idle=0.05, last_words=(
            b'HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n'
            b'Connection: close\r\n\r\n'))
        browser = self.browser()
        browser.open(server.url + '/first')
        self.assertTrue(server.closed_idle.wait(KeepAliveServer.WAIT))
        browser.getLink('next').click()
        self.assertEqual(browser.headers['Status'], '200 OK')
        self.assertEqual(browser.title, '/next')
        self.assertEqual(server.connections, [
            ['GET /first HTTP/1.1'], ['GET /next HTTP/1.1']])

    def test_a_request_the_server_closed_on_is_sent_again(self):
        # The server closes the connection as the request arrives (it
        # decided to, just before): the browser saw nothing to read, sent
        # the request, got no answer, and sends it again on a new
        # connection; a POST too, as browsers do.
        server = self.serve(drop_after=1)
        browser = self.browser()
        browser.open(server.url + '/first')
        browser.getLink('next').click()
        self.assertEqual(browser.title, '/next')
        browser.post(server.url + '/form', 'a=1')
        self.assertEqual(browser.title, '/form')
        self.assertEqual(server.connections, [
            ['GET /first HTTP/1.1', 'dropped: GET /next HTTP/1.1'],
            ['GET /next HTTP/1.1', 'dropped: POST /form HTTP/1.1'],
            ['POST /form HTTP/1.1']])

    def test_sent_again_only_once(self):
        server = self.serve(drop_after=1, answered=1)
        browser = self.browser()
        browser.open(server.url + '/first')
        with self.assertRaises(http.client.RemoteDisconnected):
            browser.open(server.url + '/second')
        self.assertEqual(server.connections, [
            ['GET /first HTTP/1.1', 'dropped: GET /second HTTP/1.1'], []])

    def test_a_response_saying_close_is_the_last_on_its_connection(self):
        server = self.serve(headers=[('Connection', 'close')])
        self.walk(server)
        self.assertEqual(len(server.connections), 3)

    def test_http_1_0_closes_unless_it_says_keep_alive(self):
        server = self.serve(version='HTTP/1.0')
        self.walk(server)
        self.assertEqual(len(server.connections), 3)
        server = self.serve(version='HTTP/1.0',
                            headers=[('Connection', 'Keep-Alive')])
        self.walk(server)
        self.assertEqual(len(server.connections), 1)

    def test_a_request_saying_close_is_the_last_on_its_connection(self):
        server = self.serve()
        browser = self.browser()
        browser.addHeader('Connection', 'close')
        self.walk(server, browser)
        self.assertEqual(len(server.connections), 3)

    def test_by_default_each_request_has_a_connection_of_its_own(self):
        server = self.serve()
        self.walk(server, Browser())
        self.assertEqual(len(server.connections), 3)

    def test_no_reuse_after_an_error(self):
        # The late answer to /slow must not be taken for the next page's.
        server = self.serve()
        browser = self.browser()
        browser.open(server.url + '/first')
        browser.timeout = 0.2
        with self.assertRaises(TimeoutError):
            browser.open(server.url + '/slow')
        browser.open(server.url + '/last')
        self.assertEqual(browser.title, '/last')
        self.assertEqual(server.connections, [
            ['GET /first HTTP/1.1', 'GET /slow HTTP/1.1'],
            ['GET /last HTTP/1.1']])

    def test_one_connection_per_site(self):
        first, second = self.serve(), self.serve()
        browser = self.browser()
        for _ in range(2):
            browser.open(first.url + '/a')
            browser.open(second.url + '/b')
        self.assertEqual(first.connections,
                         [['GET /a HTTP/1.1', 'GET /a HTTP/1.1']])
        self.assertEqual(second.connections,
                         [['GET /b HTTP/1.1', 'GET /b HTTP/1.1']])

