"""zope.server's WSGI HTTP server, made fit to run a site's application:
an application error becomes a 500 response instead of a dropped
connection, and the server can tell which of its connections are busy, so
that a shutdown can let them finish.
"""
import asyncore
import logging

from zope.server.http.wsgihttpserver import WSGIHTTPServer

logger = logging.getLogger(__name__)

ERROR_BODY = b'Internal Server Error\n'


class Server(WSGIHTTPServer):
    """A ``WSGIHTTPServer`` (same arguments) that answers 500 when the
    application raises.

    ``zookeeper`` is the ``zc.zk.ZooKeeper`` session the server is
    registered with, once it is.
    """

    zookeeper = None

    def executeRequest(self, task):
        try:
            super().executeRequest(task)
        except Exception:
            # Runs in a task thread; zope.server would log the error and
            # drop the connection without an answer.
            environ = task.getCGIEnvironment()
            logger.exception('Error in the application at %s %s',
                             environ['REQUEST_METHOD'], environ['PATH_INFO'])
            if task.wroteResponseHeader():
                # Too late for a 500: the response is cut short, so the
                # connection must end for the client to notice.
                task.close_on_finish = 1
                return
            task.setResponseStatus('500', 'Internal Server Error')
            task.accumulated_headers = None
            task.response_headers = {
                'Content-Type': 'text/plain; charset=utf-8',
                'Content-Length': str(len(ERROR_BODY)),
            }
            task.write(ERROR_BODY)

    @property
    def address(self):
        """The ``(host, port)`` the server listens at (the real port)."""
        return self.socket.getsockname()[:2]

    def channels(self):
        """The open client connections of this server."""
        return [channel for channel in list(asyncore.socket_map.values())
                if getattr(channel, 'server', None) is self]

    def close_idle_channels(self):
        """Close the connections with nothing to do: no request being
        read, run or answered. Returns how many are still busy.

        Must run in the thread of the asyncore loop.
        """
        busy = 0
        for channel in self.channels():
            if is_busy(channel):
                busy += 1
            else:
                channel.close()
        return busy


def is_busy(channel):
    """Whether a connection has a request under way: part of one read,
    one queued or running in a task thread, or an answer not yet sent."""
    return bool(channel.running_tasks or not channel.async_mode
                or channel.proto_request is not None
                or channel.outbuf or channel.will_close)
