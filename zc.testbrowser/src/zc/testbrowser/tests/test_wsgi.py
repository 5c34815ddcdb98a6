"""zc.testbrowser.wsgi layers under zope.testrunner, as users set them up.
"""
import unittest

import zc.testbrowser.wsgi
from zc.testbrowser.testing import demo_app


class DemoLayer(zc.testbrowser.wsgi.Layer):

    def make_wsgi_app(self):
        return demo_app


DEMO_LAYER = DemoLayer(name='DemoLayer')


class LayerTests(unittest.TestCase):

    layer = DEMO_LAYER

    def test_browser_finds_the_layer_application(self):
        browser = zc.testbrowser.wsgi.Browser('http://localhost/here')
        self.assertEqual(browser.contents, 'Hello world!\nGET /here\n')

    def test_explicit_application_wins(self):
        def other(environ, start_response):
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [b'other']
        browser = zc.testbrowser.wsgi.Browser('http://localhost/',
                                              wsgi_app=other)
        self.assertEqual(browser.contents, 'other')

    def test_get_app_is_the_wrapped_application(self):
        app = DEMO_LAYER.get_app()
        self.assertIsInstance(app, zc.testbrowser.wsgi.AuthorizationMiddleware)
        self.assertIs(app.wsgi_stack, demo_app)


class Database:
    """Stands for a layer class (as test frameworks define them) that gives
    every test a fresh database."""

    __bases__ = ()

    def __init__(self, name):
        self.__name__ = name

    def setUp(self):
        pass

    def tearDown(self):
        pass

    def testSetUp(self):
        self.database = {'visits': 0}

    def testTearDown(self):
        del self.database


class PerTestLayer(zc.testbrowser.wsgi.TestBrowserLayer, Database):

    def make_wsgi_app(self):
        database = self.database

        def app(environ, start_response):
            database['visits'] += 1
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [str(database['visits']).encode()]
        return app


PER_TEST_LAYER = PerTestLayer('PerTestLayer')


class PerTestLayerTests(unittest.TestCase):
    """Each test gets a new application over a new database: both tests
    see a first visit."""

    layer = PER_TEST_LAYER

    def test_first(self):
        browser = zc.testbrowser.wsgi.Browser('http://localhost/')
        browser.open('http://localhost/')
        self.assertEqual(browser.contents, '2')

    def test_second(self):
        browser = zc.testbrowser.wsgi.Browser('http://localhost/')
        self.assertEqual(browser.contents, '1')


class MiddlewareTests(unittest.TestCase):

    def test_auth_header(self):
        auth_header = zc.testbrowser.wsgi.auth_header
        self.assertEqual(auth_header('Basic user:pass:word'),
                         'Basic dXNlcjpwYXNzOndvcmQ=')
        self.assertEqual(auth_header('Basic dXNlcjpwYXNz'),
                         'Basic dXNlcjpwYXNz')
        self.assertEqual(auth_header('Bearer abc'), 'Bearer abc')

    def test_headers_are_filtered(self):
        def app(environ, start_response):
            start_response('200 OK', [('X-Powered-By', 'Zope'),
                                      ('x-content-type-warning', 'guessed'),
                                      ('Content-Type', 'text/plain')])
            return [environ['HTTP_AUTHORIZATION'].encode()]
        browser = zc.testbrowser.wsgi.Browser(
            wsgi_app=zc.testbrowser.wsgi.AuthorizationMiddleware(app))
        browser.addHeader('Authorization', 'Basic a:b')
        browser.open('http://localhost/')
        self.assertEqual(browser.contents, 'Basic YTpi')
        self.assertEqual(browser.headers.items(), [
            ('Status', '200 OK'), ('Content-Type', 'text/plain')])

    def test_no_application(self):
        with self.assertRaisesRegex(AssertionError, 'Layer not setup'):
            zc.testbrowser.wsgi.Browser()

    def test_unimplemented_make_wsgi_app(self):
        with self.assertRaises(NotImplementedError):
            zc.testbrowser.wsgi.Layer().setUp()
