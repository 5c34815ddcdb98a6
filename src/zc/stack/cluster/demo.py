"""The demo application the cluster serves: a guestbook on ZODB.

``GuestBook(db, cluster=None)`` is a WSGI application: ``/`` lists the
entries and has a form to add one (posted to ``/add``, which redirects to
``/?added=KEY``: that page waits, briefly, until the new entry is seen,
since app servers learn of each other's commits asynchronously through
ZEO); ``/status`` shows
the cluster as ``cluster()`` describes it (a list of service dicts as
``status.registered_services`` makes them). The database is a parameter,
so the same application runs on a plain DB in tests and on
``zc.zkzeo.DB`` in the cluster.
"""
import html
import time
import urllib.parse
import uuid

import BTrees.OOBTree
import transaction

#: The root key of the guestbook's entries: an OOBTree whose keys sort by
#: time and whose values are ``(name, message)``.
ROOT_KEY = 'zc.stack.guestbook'
ATTEMPTS = 5
MAX_FIELD = 2000
#: Seconds a page shown after adding waits for the entry to be seen.
ADDED_TIMEOUT = 2.0
POLL = 0.01

PAGE = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
<p><a href="/">Guestbook</a> | <a href="/status">Cluster status</a></p>
{body}
</body></html>
"""

FORM = """\
<form method="post" action="/add">
  <label for="name">Name</label> <input id="name" name="name">
  <label for="message">Message</label> <input id="message" name="message">
  <input type="submit" name="add" value="Add">
</form>
"""


def entries(db, key=None):
    """``[(name, message)]``, oldest first, as ``db`` holds them now, and
    whether the entry ``key`` is among them."""
    tm = transaction.TransactionManager()
    connection = db.open(tm)
    try:
        tm.begin()
        book = connection.root().get(ROOT_KEY)
        if book is None:
            return [], False
        return list(book.values()), key is not None and key in book
    finally:
        tm.abort()
        connection.close()


def add_entry(db, name, message, now=time.time_ns):
    """Store an entry; return its key. Conflicts with other app servers
    are retried."""
    key = f'{now():020d}-{uuid.uuid4().hex[:8]}'
    tm = transaction.TransactionManager()
    connection = db.open(tm)
    try:
        for attempt in tm.attempts(ATTEMPTS):
            with attempt:
                root = connection.root()
                if ROOT_KEY not in root:
                    root[ROOT_KEY] = BTrees.OOBTree.OOBTree()
                root[ROOT_KEY][key] = (name, message)
    finally:
        connection.close()
    return key


class GuestBook:
    """The WSGI application (see the module docstring)."""

    def __init__(self, db, cluster=None, clock=time.monotonic,
                 added_timeout=ADDED_TIMEOUT):
        self.db = db
        self.cluster = cluster
        self.clock = clock
        self.added_timeout = added_timeout

    def __call__(self, environ, start_response):
        method = environ['REQUEST_METHOD']
        path = environ.get('PATH_INFO') or '/'
        if path == '/' and method in ('GET', 'HEAD'):
            added = urllib.parse.parse_qs(
                environ.get('QUERY_STRING', '')).get('added', [None])[0]
            return self._page(start_response, 'Guestbook',
                              self._book(added))
        if path == '/add' and method == 'POST':
            return self._add(environ, start_response)
        if path == '/status' and method in ('GET', 'HEAD'):
            return self._page(start_response, 'Cluster status',
                              self._status())
        if path in ('/', '/add', '/status'):
            return self._answer(start_response, '405 Method Not Allowed',
                                'method not allowed\n', 'text/plain')
        return self._answer(start_response, '404 Not Found',
                            'not found\n', 'text/plain')

    def _book(self, added=None):
        listed, seen = entries(self.db, added)
        deadline = self.clock() + self.added_timeout
        while added and not seen and self.clock() < deadline:
            time.sleep(POLL)
            listed, seen = entries(self.db, added)
        items = ''.join(
            f'<li><b>{html.escape(name)}</b>: {html.escape(message)}</li>\n'
            for name, message in reversed(listed))
        listing = f'<ul id="entries">\n{items}</ul>' if items else (
            '<p id="entries">No entries yet.</p>')
        return FORM + listing

    def _add(self, environ, start_response):
        try:
            size = int(environ.get('CONTENT_LENGTH') or 0)
        except ValueError:
            size = 0
        body = environ['wsgi.input'].read(min(size, 4 * MAX_FIELD))
        form = urllib.parse.parse_qs(body.decode('utf-8', 'replace'))
        name = form.get('name', [''])[0].strip()[:MAX_FIELD]
        message = form.get('message', [''])[0].strip()[:MAX_FIELD]
        if not message:
            return self._answer(start_response, '400 Bad Request',
                                'a message is required\n', 'text/plain')
        key = add_entry(self.db, name or 'anonymous', message)
        start_response('303 See Other', [
            ('Location', '/?added=' + urllib.parse.quote(key)),
            ('Content-Length', '0')])
        return [b'']

    def _status(self):
        if self.cluster is None:
            return '<p>This application does not run in a cluster.</p>'
        rows = ''.join(
            '<tr>' + ''.join(
                f'<td>{html.escape(str(value))}</td>' for value in (
                    service['role'], service['address'],
                    service.get('pid') or '-',
                    service.get('monitor') or '-',
                    _lag(service.get('lag_seconds'))))
            + '</tr>\n'
            for service in self.cluster())
        return ('<table id="services">\n<tr><th>role</th><th>address</th>'
                '<th>pid</th><th>monitor</th><th>replication lag</th></tr>\n'
                f'{rows}</table>')

    def _page(self, start_response, title, body):
        return self._answer(start_response, '200 OK',
                            PAGE.format(title=html.escape(title), body=body),
                            'text/html; charset=utf-8')

    @staticmethod
    def _answer(start_response, status, text, content_type):
        data = text.encode('utf-8')
        start_response(status, [('Content-Type', content_type),
                                ('Content-Length', str(len(data)))])
        return [data]


def _lag(seconds):
    return '-' if seconds is None else f'{seconds:.3f} s'
