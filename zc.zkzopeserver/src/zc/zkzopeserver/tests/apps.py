"""WSGI applications the tests serve (also in child processes, by name).

``/slow?DIR`` creates ``DIR/started``, then answers only once
``DIR/release`` exists (at most ``SLOW_TIMEOUT`` seconds), so a test
controls exactly when a request is in flight. ``/fail`` raises. Anything
else says hello, with the port the server says it has.
"""
import os
import time

SLOW_TIMEOUT = 60
_POLL = 0.01


def _answer(start_response, body, status='200 OK'):
    body = body.encode()
    start_response(status, [('Content-Type', 'text/plain'),
                            ('Content-Length', str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/fail':
        raise ValueError('the application failed, on purpose')
    if path == '/slow':
        return _slow(environ['QUERY_STRING'], start_response)
    return _answer(start_response,
                   f"Hello from port {environ['SERVER_PORT']}\n")


def _slow(directory, start_response):
    open(os.path.join(directory, 'started'), 'w').close()
    release = os.path.join(directory, 'release')
    deadline = time.monotonic() + SLOW_TIMEOUT
    while not os.path.exists(release):
        if time.monotonic() > deadline:
            return _answer(start_response, 'never released\n',
                           '504 Gateway Timeout')
        time.sleep(_POLL)
    return _answer(start_response, 'slow and done\n')


def hello_factory(global_conf, **local_conf):
    """A paste app factory (``use = call:zc.zkzopeserver.tests.apps:...``)."""
    return app
