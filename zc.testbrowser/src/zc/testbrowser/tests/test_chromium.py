"""The Chromium backend at the edges the README doesn't walk through.

These tests need Debian's chromium package: without it the layer's set-up
fails with BrowserStartError saying what to install (they are not
skipped)."""
import os
import socket
import tempfile
import unittest
import urllib.error

from zc.testbrowser import chromium
from zc.testbrowser.browser import Browser
from zc.testbrowser.interfaces import ExpiredError


class Pages:
    """A WSGI app serving ``self.pages[path]`` and recording requests."""

    def __init__(self, pages):
        self.pages = pages
        self.requests = []

    def __call__(self, environ, start_response):
        path = environ['PATH_INFO']
        length = int(environ.get('CONTENT_LENGTH') or 0)
        self.requests.append((environ['REQUEST_METHOD'], path,
                              environ['wsgi.input'].read(length), environ))
        status, content_type, body = self.pages.get(
            path, ('404 Not Found', 'text/html', '<title>Missing</title>'))
        start_response(status, [('Content-Type', content_type)])
        return [body.encode('utf-8')]


def html(body):
    return ('200 OK', 'text/html; charset=utf-8',
            f'<!DOCTYPE html><html><head><title>T</title></head>'
            f'<body>{body}</body></html>')


class StartTests(unittest.TestCase):

    def test_missing_chromium_names_the_debian_package(self):
        with tempfile.TemporaryDirectory() as tmp:
            process = chromium._Process(os.path.join(tmp, 'chromium'))
            with self.assertRaises(chromium.BrowserStartError) as caught:
                process.start()
        self.assertIn("install Debian's 'chromium' package",
                      str(caught.exception))

    def test_unknown_backend(self):
        with self.assertRaises(ValueError) as caught:
            Browser(backend='firefox')
        self.assertIn("'fast', 'chromium'", str(caught.exception))


class ChromiumTests(unittest.TestCase):

    layer = chromium.Layer

    def browser(self, pages, path='/'):
        self.app = Pages(pages)
        browser = Browser(f'http://localhost{path}', wsgi_app=self.app,
                          backend='chromium')
        self.addCleanup(browser.close)
        return browser

    def test_set_values_fire_the_events_scripts_listen_to(self):
        browser = self.browser({'/': html('''
            <select name="s" onchange="document.title = this.value">
              <option>a</option><option>b</option></select>
            <input name="t" oninput="document.title = this.value">''')})
        browser.getControl(name='s').value = ['b']
        self.assertEqual(browser.title, 'b')
        browser.getControl(name='t').value = 'typed'
        self.assertEqual(browser.title, 'typed')

    def test_controls_expire_with_their_document_only(self):
        browser = self.browser({
            '/': html('<input name="a"><a href="/next">next</a>'
                      '<button type="button" onclick="document.body.append('
                      "document.createElement('hr'))\">grow</button>"),
            '/next': html('<p>next</p>')})
        field = browser.getControl(name='a')
        browser.getControl('grow').click()  # the DOM changes, same document
        field.value = 'still mine'
        self.assertEqual(browser.getControl(name='a').value, 'still mine')
        browser.getLink('next').click()
        with self.assertRaises(ExpiredError):
            field.value = 'gone'

    def test_http_error_after_the_page_is_loaded(self):
        browser = self.browser({'/': html('<a href="/nowhere">x</a>')})
        with self.assertRaises(urllib.error.HTTPError) as caught:
            browser.getLink('x').click()
        self.assertEqual(caught.exception.code, 404)
        self.assertEqual(browser.headers['status'], '404 Not Found')
        self.assertEqual(browser.title, 'Missing')
        browser.goBack()
        self.assertEqual(browser.url, 'http://localhost/')

    def test_post_and_added_headers(self):
        browser = self.browser({'/': html(''), '/api': html('done')})
        browser.addHeader('X-Test', 'yes')
        browser.post('http://localhost/api', '{"a": 1}', 'application/json')
        method, path, body, environ = self.app.requests[-1]
        self.assertEqual((method, path, body),
                         ('POST', '/api', b'{"a": 1}'))
        self.assertEqual(environ['CONTENT_TYPE'], 'application/json')
        self.assertEqual(environ['HTTP_X_TEST'], 'yes')

    def test_cookies_by_path(self):
        browser = self.browser({'/inner/page': html('')}, '/inner/page')
        browser.cookies.create('p', 'inner', path='/inner')
        browser.cookies.create('p', 'root', path='/')
        self.assertEqual(str(browser.cookies), 'p=inner; p=root')
        self.assertEqual(browser.cookies.keys(), ['p'])
        del browser.cookies['p']
        self.assertEqual(browser.cookies.header, 'p=root')
        browser.reload()
        self.assertEqual(self.app.requests[-1][3]['HTTP_COOKIE'], 'p=root')
        self.assertEqual(
            browser.cookies.forURL('http://example.com/').header, '')

    def test_unreachable_server_is_a_url_error(self):
        with socket.socket() as closed:
            closed.bind(('127.0.0.1', 0))
            port = closed.getsockname()[1]
        browser = Browser(backend='chromium')
        self.addCleanup(browser.close)
        with self.assertRaises(urllib.error.URLError) as caught:
            browser.open(f'http://127.0.0.1:{port}/')
        self.assertIn('net::ERR_CONNECTION_REFUSED', str(caught.exception))

    def test_navigation_started_by_a_script(self):
        browser = self.browser({
            '/': html('<script>setTimeout('
                      "() => location.href = '/next', 100)</script>"),
            '/next': html('<p id="arrived"><a href="/">home</a></p>')})
        browser.waitFor('#arrived', timeout=10)
        self.assertEqual(browser.url, 'http://localhost/next')
        self.assertEqual(browser.getLink('home').url, 'http://localhost/')
        self.assertEqual([r[1] for r in self.app.requests], ['/', '/next'])
