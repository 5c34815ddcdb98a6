"""Testing WSGI applications in-process: a Browser that finds the
application of the active test layer, the layers, and a middleware that
makes ``addHeader('Authorization', 'Basic user:password')`` work.
"""
import base64
import re

from zc.testbrowser import browser

__all__ = ['AuthorizationMiddleware', 'Browser', 'Layer', 'TestBrowserLayer',
           'auth_header', 'is_wanted_header']

# The application of the layer that is set up (one at a time).
_APP_UNDER_TEST = None

_UNWANTED_HEADERS = ('x-powered-by', 'x-content-type-warning')
_BASIC = re.compile(r'Basic (.*?):(.*)$', re.DOTALL)


class Browser(browser.Browser):
    """A Browser for ``wsgi_app``, or for the application of the active
    ``Layer``."""

    def __init__(self, url=None, wsgi_app=None):
        if wsgi_app is None:
            wsgi_app = _APP_UNDER_TEST
        if wsgi_app is None:
            raise AssertionError(
                'wsgi_app not provided or zc.testbrowser.wsgi.Layer not '
                'setup')
        super().__init__(url, wsgi_app)


def _set_app(app):
    global _APP_UNDER_TEST
    if app is not None and _APP_UNDER_TEST is not None:
        raise AssertionError('Already Setup')
    _APP_UNDER_TEST = app


class Layer:
    """A zope.testrunner layer making the application once for all its
    tests. Subclass it, override ``make_wsgi_app``, and use an instance as
    the layer::

        class AppLayer(zc.testbrowser.wsgi.Layer):
            def make_wsgi_app(self):
                return my_app

        APP_LAYER = AppLayer()
    """

    __bases__ = ()

    def __init__(self, *bases, name=None):
        self.__bases__ = bases
        self.__name__ = name or type(self).__name__

    def make_wsgi_app(self):
        raise NotImplementedError(
            f'{type(self).__name__} must override make_wsgi_app()')

    @staticmethod
    def get_app():
        """The application browsers of the active layer talk to."""
        return _APP_UNDER_TEST

    def setUp(self):
        _set_app(AuthorizationMiddleware(self.make_wsgi_app()))

    def tearDown(self):
        _set_app(None)


class TestBrowserLayer:
    """A mix-in for layers that build (or reset) the application for each
    test, e.g. on a fresh database set up by another layer class. It makes
    the application in ``testSetUp`` and drops it in ``testTearDown``,
    calling the other classes' methods too."""

    def make_wsgi_app(self):
        raise NotImplementedError(
            f'{type(self).__name__} must override make_wsgi_app()')

    def testSetUp(self):
        parent = getattr(super(), 'testSetUp', None)
        if parent is not None:
            parent()
        _set_app(AuthorizationMiddleware(self.make_wsgi_app()))

    def testTearDown(self):
        _set_app(None)
        parent = getattr(super(), 'testTearDown', None)
        if parent is not None:
            parent()

    get_app = staticmethod(Layer.get_app)


class AuthorizationMiddleware:
    """Base64-encodes ``Authorization: Basic user:password`` headers (so
    tests can write them in clear) and drops the response headers only
    test servers add (``X-Powered-By``, ``X-Content-Type-Warning``)."""

    def __init__(self, wsgi_stack):
        self.wsgi_stack = wsgi_stack

    def __call__(self, environ, start_response):
        if 'HTTP_AUTHORIZATION' in environ:
            environ['HTTP_AUTHORIZATION'] = auth_header(
                environ['HTTP_AUTHORIZATION'])

        def wanted_headers_only(status, headers, exc_info=None):
            headers = [h for h in headers if is_wanted_header(h)]
            return start_response(status, headers, exc_info)

        return self.wsgi_stack(environ, wanted_headers_only)


def auth_header(header):
    """'Basic user:password' becomes 'Basic dXNlcjpwYXNzd29yZA=='; any
    other value is returned unchanged."""
    match = _BASIC.match(header)
    if match is None:
        return header
    credentials = f'{match.group(1)}:{match.group(2)}'.encode('utf-8')
    return 'Basic ' + base64.b64encode(credentials).decode('ascii')


def is_wanted_header(header):
    """False for the (name, value) pairs AuthorizationMiddleware drops."""
    return header[0].lower() not in _UNWANTED_HEADERS
