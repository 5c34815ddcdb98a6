"""Applications to try the browser on.

``demo_app`` is the smallest useful WSGI application: it echoes the
request. ``ExampleApp`` is the site the README walks through: links, a form
with every kind of control, HTML5 form features, file upload, cookies,
redirects, errors, charsets and robots.txt.
"""
import base64
import email.parser
import email.policy
import html
import socketserver
import threading
import urllib.parse
import wsgiref.simple_server

__all__ = ['ExampleApp', 'Server', 'demo_app']


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    timeout = 30  # seconds an idle connection may wait for a request

    def log_message(self, *args):
        pass  # tests don't want an access log on stderr

    def parse_request(self):
        """Also accept the absolute form of a request target
        (``GET http://localhost/page``), which a browser sends to a proxy:
        the Chromium backend uses the server as its proxy, so a test's
        ``http://localhost/...`` URLs reach it unchanged (RFC 9112, 3.2.2:
        a server must accept that form)."""
        if not super().parse_request():
            return False
        if self.path.startswith(('http://', 'https://')):
            split = urllib.parse.urlsplit(self.path)
            self.path = urllib.parse.urlunsplit(
                ('', '', split.path or '/', split.query, ''))
        return True


class _ThreadingServer(socketserver.ThreadingMixIn,
                       wsgiref.simple_server.WSGIServer):
    """A thread per connection, for a real browser: it opens several at
    once (and keeps some idle), which would stall a server handling one at
    a time. ``server_close`` waits for them (a closed browser has closed
    its connections; an idle one times out)."""


class Server:
    """Serves a WSGI application over real HTTP on a free loopback port,
    from a thread, for tests that need a real server::

        with Server(app) as server:
            browser.open(server.url + '/page')

    With ``threads``, each connection is served in a thread of its own
    (what a real browser needs); otherwise one at a time.
    """

    def __init__(self, app, host='127.0.0.1', threads=False):
        self._server = wsgiref.simple_server.make_server(
            host, 0, app,
            server_class=(_ThreadingServer if threads
                          else wsgiref.simple_server.WSGIServer),
            handler_class=_QuietHandler)
        self._thread = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    def start(self):
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={'poll_interval': 0.1},
            name=f'zc.testbrowser.testing.Server {self.url}', daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def demo_app(environ, start_response):
    """Answer every request with a plain-text description of it."""
    request = _Request(environ)
    lines = ['Hello world!', f'{request.method} {request.path}']
    for name, value in request.fields():
        lines.append(f'{name}: {_show(value)}')
    body = ('\n'.join(lines) + '\n').encode('utf-8')
    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8'),
                              ('Content-Length', str(len(body)))])
    return [body]


class _Upload:
    def __init__(self, filename, content_type, data):
        self.filename = filename
        self.content_type = content_type
        self.data = data


def _show(value):
    if isinstance(value, _Upload):
        return (f'<file {value.filename!r} {value.content_type} '
                f'{len(value.data)} bytes: {value.data[:40]!r}>')
    return value


class _Request:
    """Just enough request parsing for these applications."""

    def __init__(self, environ):
        self.environ = environ
        self.method = environ['REQUEST_METHOD']
        self.path = environ.get('PATH_INFO') or '/'
        self.query = environ.get('QUERY_STRING', '')
        length = int(environ.get('CONTENT_LENGTH') or 0)
        self.body = environ['wsgi.input'].read(length) if length else b''
        self.content_type = environ.get('CONTENT_TYPE', '')
        self.charset = 'utf-8'

    def arg(self, name, default=None):
        return dict(urllib.parse.parse_qsl(self.query)).get(name, default)

    def fields(self):
        """The submitted (name, value) pairs, query string first; values
        are str, or _Upload for files."""
        charset = self.charset
        pairs = urllib.parse.parse_qsl(self.query, keep_blank_values=True,
                                       encoding=charset)
        if self.content_type.startswith('multipart/form-data'):
            pairs += self._multipart()
        elif self.content_type.startswith(
                'application/x-www-form-urlencoded'):
            pairs += urllib.parse.parse_qsl(
                self.body.decode('ascii'), keep_blank_values=True,
                encoding=charset)
        return pairs

    def _multipart(self):
        head = f'Content-Type: {self.content_type}\r\n\r\n'.encode('latin-1')
        message = email.parser.BytesParser(policy=email.policy.HTTP) \
            .parsebytes(head + self.body)
        pairs = []
        for part in message.iter_parts():
            name = part.get_param('name', header='content-disposition')
            filename = part.get_param('filename',
                                      header='content-disposition')
            data = part.get_payload(decode=True) or b''
            if filename is None:
                pairs.append((name, data.decode(self.charset)))
            else:
                pairs.append((name, _Upload(filename,
                                            part.get_content_type(), data)))
        return pairs

    def cookies(self):
        cookie = self.environ.get('HTTP_COOKIE', '')
        pairs = (c.strip().partition('=') for c in cookie.split(';'))
        return [(name, value) for name, _, value in pairs if name]


def _page(title, body):
    return (f'<!DOCTYPE html>\n<html><head><title>{title}</title></head>'
            f'<body>\n{body}\n</body></html>\n')


class ExampleApp:
    """The README's example site. Each ``page_<name>`` method answers
    ``/<name>``; it returns ``(status, headers, body)``."""

    def __call__(self, environ, start_response):
        request = _Request(environ)
        first = request.path.strip('/').split('/')[0] or 'index'
        handler = getattr(self, 'page_' + first.replace('.', '_')
                          .replace('-', '_'), None)
        if handler is None:
            status, headers, body = self.not_found(request)
        else:
            try:
                status, headers, body = handler(request)
            except Exception:
                if environ.get('wsgi.handleErrors', True) is False:
                    raise  # the test wants to see the exception itself
                status, headers, body = (
                    '500 Internal Server Error', [],
                    _page('Error', '<h1>Something broke</h1>'))
        if isinstance(body, str):
            charset = dict(headers).get('X-Charset', 'utf-8')
            headers = [h for h in headers if h[0] != 'X-Charset']
            body = body.encode(charset, 'xmlcharrefreplace')
            if not any(k == 'Content-Type' for k, _ in headers):
                headers.append(('Content-Type',
                                f'text/html; charset={charset}'))
        headers.append(('Content-Length', str(len(body))))
        start_response(status, headers)
        return [body]

    def not_found(self, request):
        return ('404 Not Found', [],
                _page('Not Found', f'<p>Nothing at {html.escape(request.path)}'
                                   '</p>'))

    def page_index(self, request):
        return '200 OK', [], _page('Example site', '''
<h1>Example site</h1>
<ul>
  <li><a href="links">Links</a></li>
  <li><a href="forms">Forms</a></li>
  <li><a href="html5">HTML5 forms</a></li>
  <li><a href="upload">File upload</a></li>
</ul>''')

    def page_links(self, request):
        return '200 OK', [], _page('Links', '''
<p>A <a href="target?n=1">plain link</a>, one whose text
   <a href="target?n=2" id="spread">spreads
     over   lines</a>,
   and <a href="target?n=3" class="more">more</a>
   and <a href="target?n=4">more</a>.</p>
<p><a href="target?n=5#part2">to a fragment</a>
   <a href="/target?n=6"><img src="logo.png" alt="Logo"></a></p>
<img src="map.png" usemap="#map">
<map name="map"><area href="target?n=7" alt="North" shape="rect"
  coords="0,0,10,10"></map>
<a name="anchor-only">not a link</a>''')

    def page_target(self, request):
        referer = request.environ.get('HTTP_REFERER', '(none)')
        return '200 OK', [], _page(
            'Target', f'<p>Target {html.escape(request.arg("n", "?"))}, '
                      f'referred by {html.escape(referer)}</p>'
                      '<a href="links">back to the links</a>')

    def page_base(self, request):
        return '200 OK', [], _page('Base', '''
<base href="http://localhost/links/deeper/">
<a href="target?n=8">relative to the base</a>''')

    def page_echo(self, request):
        """Shows what a form sent, a field per line."""
        request.charset = request.arg('_charset_', 'utf-8')
        lines = [f'{request.method} {request.path}',
                 f'Content-Type: {request.content_type or "(none)"}']
        lines += [f'{name}: {_show(value)}'
                  for name, value in request.fields()]
        return '200 OK', [], _page(
            'Echo',
            '<pre>' + html.escape('\n'.join(lines), quote=False) + '</pre>')

    def page_where(self, request):
        environ = request.environ
        return '200 OK', [('Content-Type', 'text/plain')], (
            f'scheme {environ["wsgi.url_scheme"]}, '
            f'host {environ["SERVER_NAME"]}, port {environ["SERVER_PORT"]}, '
            f'path {request.path}\n')

    def page_headers(self, request):
        lines = sorted(
            f'{k[5:].replace("_", "-").title()}: {v}'
            for k, v in request.environ.items() if k.startswith('HTTP_'))
        body = '\n'.join(lines) + '\n'
        return '200 OK', [('Content-Type', 'text/plain')], body

    def page_forms(self, request):
        return '200 OK', [], _page('Forms', '''
<form id="everything" name="everything" action="echo" method="post">
  <label for="text">Name</label>
  <input id="text" name="text" value="Ada">
  <label>Password <input type="password" name="password"></label>
  <label>E-mail <input type="email" name="email" value="ada@example.com">
  </label>
  <input type="hidden" name="token" value="s3cret">
  <label for="notes">Notes</label>
  <textarea id="notes" name="notes">
First line
second line</textarea>
  <label for="colour">Colour</label>
  <select id="colour" name="colour">
    <option value="r">Red</option>
    <option value="g" selected>Green</option>
    <option value="b">Blue</option>
    <option value="x" disabled>Ultraviolet</option>
  </select>
  <label for="sizes">Sizes</label>
  <select id="sizes" name="sizes" multiple>
    <option>Small</option>
    <option selected>Medium</option>
    <optgroup label="Big ones">
      <option value="L">Large</option>
      <option value="XL" selected>Extra Large</option>
    </optgroup>
  </select>
  <p>Delivery:
    <label><input type="radio" name="delivery" value="post" checked>
      By post</label>
    <label><input type="radio" name="delivery" value="pickup"> Pick-up
    </label>
  </p>
  <p>Extras:
    <label><input type="checkbox" name="extras" value="wrap"> Gift wrap
    </label>
    <label><input type="checkbox" name="extras" value="card" checked>
      Greeting card</label>
  </p>
  <label><input type="checkbox" name="agree"> I agree</label>
  <label>Account <input name="account" value="1234" readonly></label>
  <label>Legacy <input name="legacy" value="old" disabled></label>
  <input type="submit" name="save" value="Save">
  <input type="submit" name="save" value="Save as draft">
  <input type="image" name="map" src="map.png" alt="Click the map">
  <input type="reset" value="Start over">
</form>
<form id="search" action="echo" method="get">
  <label>Search <input name="q"></label>
  <input type="submit" value="Search">
</form>''')

    def page_html5(self, request):
        return '200 OK', [], _page('HTML5 forms', '''
<form id="order" action="echo" method="post"></form>
<table>
  <tr><td><label for="qty">Quantity</label></td>
      <td><input id="qty" type="number" name="qty" value="1"
                 form="order"></td></tr>
</table>
<label>Comment <input name="comment" form="order"></label>
<button form="order" name="go" value="buy" type="submit">Buy
  <b>now</b></button>
<button form="order" type="submit" formaction="echo/preview"
        formmethod="get" name="go" value="preview">Preview</button>
<button form="order" type="button">Does nothing</button>
<input name="loose" value="outside any form">''')

    def page_upload(self, request):
        return '200 OK', [], _page('Upload', '''
<form action="echo" method="post" enctype="multipart/form-data">
  <label>Title <input name="title" value="Report"></label>
  <label>File <input type="file" name="document"></label>
  <label>Pictures <input type="file" name="pictures" multiple></label>
  <input type="submit" value="Upload">
</form>''')

    def page_set_cookie(self, request):
        """Sets the cookies given in the query (``?name=value``)."""
        headers = [('Set-Cookie', f'{name}={value}; Path=/')
                   for name, value in urllib.parse.parse_qsl(request.query)]
        return '200 OK', headers, _page('Cookies set', '<p>Done.</p>')

    def page_show_cookies(self, request):
        lines = [f'{n}={v}' for n, v in request.cookies()] or ['(none)']
        return '200 OK', [('Content-Type', 'text/plain')], \
            '\n'.join(lines) + '\n'

    def page_login(self, request):
        """Sets a session cookie and redirects home."""
        return '302 Found', [
            ('Set-Cookie', 'session=abc123; Path=/; HttpOnly'),
            ('Location', '/show-cookies')], ''

    def page_redirect(self, request):
        code = request.arg('code', '302')
        reasons = {'301': 'Moved Permanently', '302': 'Found',
                   '303': 'See Other', '307': 'Temporary Redirect',
                   '308': 'Permanent Redirect'}
        return f'{code} {reasons[code]}', [
            ('Location', request.arg('to', '/target?n=redirected'))], ''

    def page_loop(self, request):
        return '302 Found', [('Location', '/loop')], ''

    def page_status(self, request):
        code = request.path.rstrip('/').rsplit('/', 1)[-1]
        reasons = {'400': 'Bad Request', '403': 'Forbidden',
                   '404': 'Not Found', '500': 'Internal Server Error',
                   '503': 'Service Unavailable'}
        return f'{code} {reasons[code]}', [], _page(
            reasons[code], f'<p>Status {code} on purpose.</p>')

    def page_error(self, request):
        raise ValueError('the example application failed')

    def page_latin1(self, request):
        """A page in ISO-8859-1 declared in the header, with a form."""
        return '200 OK', [('X-Charset', 'iso-8859-1')], _page(
            'Café', '''<p>Crème brûlée</p>
<form action="echo?_charset_=iso-8859-1" method="post">
  <label>Dish <input name="dish" value="Gâteau"></label></form>''')

    def page_meta_charset(self, request):
        """A page whose charset is only in a <meta> element."""
        body = ('<!DOCTYPE html><html><head><meta charset="windows-1252">'
                '<title>Na\u00efve \u20ac</title></head>'
                '<body><p>Price: 5 \u20ac</p></body></html>')
        return '200 OK', [('Content-Type', 'text/html')], \
            body.encode('windows-1252')

    def page_scripted(self, request):
        """A page that needs JavaScript: a script makes a link and fills in
        a field, a button fetches news with an XMLHttpRequest, and a
        paragraph appears a moment after the page has loaded."""
        return '200 OK', [], _page('Scripted', '''
<div id="links"></div>
<form action="echo" method="post">
  <label>City <input name="city"></label>
  <input type="submit" value="Send">
</form>
<button type="button" id="fetch">Fetch the news</button>
<div id="news"></div>
<script>
document.getElementById('links').innerHTML =
  '<a href="target?n=scripted">made by a script</a>';
document.querySelector('[name=city]').value = 'Fredericksburg';
document.getElementById('fetch').addEventListener('click', () => {
  const request = new XMLHttpRequest();
  request.open('GET', 'news');
  request.onload = () => {
    const headline = document.createElement('p');
    headline.id = 'headline';
    headline.textContent = request.responseText;
    document.getElementById('news').append(headline);
  };
  request.send();
});
setTimeout(() => {
  const late = document.createElement('p');
  late.id = 'late';
  late.textContent = 'Here at last';
  document.body.append(late);
}, 200);
</script>''')

    def page_news(self, request):
        return '200 OK', [('Content-Type', 'text/plain')], 'Extra! Extra!'

    def page_logo_png(self, request):
        return '200 OK', [('Content-Type', 'image/png')], \
            b'\x89PNG\r\n\x1a\nnot really an image'

    def page_robots_txt(self, request):
        return '200 OK', [('Content-Type', 'text/plain')], \
            'User-agent: *\nDisallow: /private\n'

    def page_private(self, request):
        return '200 OK', [], _page('Private', '<p>Robots keep out.</p>')

    def page_secret(self, request):
        """Needs HTTP basic authentication as admin:admin."""
        expected = 'Basic ' + base64.b64encode(b'admin:admin').decode()
        if request.environ.get('HTTP_AUTHORIZATION') != expected:
            return '401 Unauthorized', [
                ('WWW-Authenticate', 'Basic realm="example"')], \
                _page('Unauthorized', '<p>Who are you?</p>')
        return '200 OK', [('X-Powered-By', 'ExampleApp')], _page(
            'Secret', '<p>Welcome, admin.</p>')
