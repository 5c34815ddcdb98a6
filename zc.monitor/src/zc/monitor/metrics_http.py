"""The ``metrics`` command's output over HTTP, for Prometheus to scrape.

Prometheus speaks HTTP, not the monitor's line protocol, so this small
server answers ``GET /metrics`` from a daemon thread of its own.
"""
import http.server
import logging
import socket
import threading
import time

from zc.monitor import metrics

logger = logging.getLogger(__name__)

#: Seconds a scraper may take to send its request.
TIMEOUT = 30


class _Handler(http.server.BaseHTTPRequestHandler):

    timeout = TIMEOUT
    server_version = 'zc.monitor'

    def do_GET(self):
        if self.path.split('?', 1)[0] != '/metrics':
            self.send_error(404, 'Only /metrics is here')
            return
        body = metrics.render(metrics.collect()).encode('utf-8')
        self.send_response(200)
        self.send_header('Content-Type', metrics.CONTENT_TYPE)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        logger.debug('%s %s', self.address_string(), format % args)


class _HTTPServer(http.server.ThreadingHTTPServer):
    """Answers each request in a daemon thread (a hung scraper must not
    keep the process from exiting), which ``close`` still waits for."""

    daemon_threads = True

    def __init__(self, address, family):
        self.address_family = family  # the base class binds with it
        self.requests = set()
        super().__init__(address, _Handler)

    def process_request_thread(self, request, client_address):
        thread = threading.current_thread()
        self.requests.add(thread)
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.requests.discard(thread)


class MetricsServer:
    """Serve ``GET /metrics`` at ``address`` until ``close()``.

    ``address`` is a port (on 127.0.0.1) or a ``(host, port)`` tuple; port
    0 picks a free port, which ``address`` then tells.
    """

    def __init__(self, address):
        if isinstance(address, str):
            raise ValueError(
                f'the metrics HTTP endpoint needs a TCP address, not the '
                f'path {address!r}')
        if isinstance(address, int):
            address = '127.0.0.1', address
        host, port = address
        family = socket.getaddrinfo(host or None, port,
                                    type=socket.SOCK_STREAM,
                                    flags=socket.AI_PASSIVE)[0][0]
        self._server = _HTTPServer((host, port), family)
        self.address = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={'poll_interval': 0.5},
            name=f'zc.monitor metrics {host}:{self.address[1]}', daemon=True)
        self._thread.start()

    def close(self, timeout=10):
        """Stop serving and free the address."""
        self._server.shutdown()
        self._server.server_close()
        deadline = time.monotonic() + timeout
        for thread in [self._thread, *self._server.requests]:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
