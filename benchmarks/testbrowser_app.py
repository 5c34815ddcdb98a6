"""The tiny site both browsers walk in benchmarks/testbrowser_pages.py.

Plain WSGI and the standard library only, so the same file serves
zc.testbrowser and the zope.testbrowser peer (in its own venv), in-process
and, run as a script, over real HTTP:

    python testbrowser_app.py serve   # prints its port; stops at stdin EOF
"""
import sys
import threading
import time
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

COUNTS = {'requests': 0, 'robots': 0}
_lock = threading.Lock()


def app(environ, start_response):
    path = environ.get('PATH_INFO', '/')
    if path == '/__counts':
        # And the CPU time this process has used (the server's share of
        # each page, over HTTP).
        body = (f'{COUNTS["requests"]} {COUNTS["robots"]} '
                f'{time.process_time()}').encode()
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
    def log_message(self, *args):
        pass


def serve():
    server = wsgiref.simple_server.make_server(
        '127.0.0.1', 0, app, handler_class=_QuietHandler)
    server.timeout = 1
    print(server.server_port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # the benchmark closes our stdin to stop us
    server.shutdown()
    server.server_close()


if __name__ == '__main__' and sys.argv[1:] == ['serve']:
    serve()
