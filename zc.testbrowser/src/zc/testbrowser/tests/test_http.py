"""The browser over real HTTP, against real loopback servers.

One wsgiref server (zc.testbrowser.testing.Server) runs for the whole
layer, serving the example application plus a request log, so tests can
check what actually went over the wire.
"""
import http.client
import socket
import threading
import unittest
import urllib.error

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
            'Connection: keep-alive',
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
            b'Host: ' + server.url[7:].encode(), b'Connection: keep-alive',
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
