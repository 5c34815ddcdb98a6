"""The programmable browser: ``Browser`` and the exceptions it raises.

A Browser keeps what a person's browser keeps (the current page, the
history, cookies, extra headers) and leaves getting a response to a
transport: a WSGI application called in-process, or real HTTP. Pages are
parsed with lxml on first use and only as far as asked.
"""
import http.client
import http.cookiejar
import io
import itertools
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import urllib.robotparser

from zope.interface import implementer

from zc.testbrowser import interfaces
from zc.testbrowser._controls import (
    CheckboxListControl, Control, Form, ImageControl, ItemControl, Link,
    ListControl, Strict, SubmitControl, find_control)
from zc.testbrowser._errors import (
    AmbiguityError, BrowserStateError, HostNotAllowed, ItemCountError,
    ItemNotFoundError, LinkNotFoundError, RobotExclusionError)
from zc.testbrowser._forms import encode, urlencode
from zc.testbrowser._matching import choose, describe, substring_matcher
from zc.testbrowser._page import Page
from zc.testbrowser._transport import HTTPTransport, Request, WSGITransport
from zc.testbrowser.cookies import CookiePolicy, CookieResponse, Cookies

__all__ = [
    'AmbiguityError', 'Browser', 'BrowserStateError', 'CheckboxListControl',
    'Control', 'Form', 'HostNotAllowed', 'ImageControl', 'ItemControl',
    'ItemCountError', 'ItemNotFoundError', 'Link', 'LinkNotFoundError',
    'ListControl', 'RobotExclusionError', 'SubmitControl',
]

BACKENDS = ('fast', 'chromium')
REDIRECTS = frozenset((301, 302, 303, 307, 308))
MAX_REDIRECTS = 100
_SET_COOKIE = ('set-cookie', 'set-cookie2')
#: What zope.testbrowser sends (the contract). Over HTTP,
#: ``addHeader('Connection', 'keep-alive')`` keeps connections open between
#: requests (see _transport.HTTPTransport).
DEFAULT_HEADERS = (('Connection', 'close'),
                   ('User-Agent', 'Python-urllib/2.4'))


class _Visit:
    """One entry of the history: the request that produced a page, the
    response, and the URL shown (with its #fragment)."""

    __slots__ = ('request', 'response', 'url')

    def __init__(self, request, response, url):
        self.request = request
        self.response = response
        self.url = url


@implementer(interfaces.IBrowser)
class Browser(Strict):
    """A web browser for tests. With ``wsgi_app`` it calls that WSGI
    application in-process; without, it speaks HTTP to real servers."""

    followRedirects = True
    raiseHttpErrors = True
    handleErrors = True
    #: Fetch /robots.txt (once per site) and refuse URLs it disallows.
    checkRobots = False
    #: Seconds to wait for a real server.
    timeout = 60
    lastRequestSeconds = None

    #: Which backend ``Browser(...)`` makes when not told: 'fast' (this
    #: module: no JavaScript, in-process or HTTP) or 'chromium' (headless
    #: Chromium, ``zc.testbrowser.chromium``; the ``chromium`` extra).
    backend = 'fast'

    def __new__(cls, url=None, wsgi_app=None, backend=None):
        backend = backend or cls.backend
        if backend not in BACKENDS:
            raise ValueError(f'unknown backend {backend!r}: choose one of '
                             f'{", ".join(map(repr, BACKENDS))}')
        if backend == 'chromium' and cls is Browser:
            from zc.testbrowser import chromium  # only when asked for
            cls = chromium.Browser
        return super().__new__(cls)

    def __init__(self, url=None, wsgi_app=None, backend=None):
        if wsgi_app is not None:
            self._transport = WSGITransport(wsgi_app)
        else:
            self._transport = HTTPTransport()
        self._cookie_policy = CookiePolicy()
        self._jar = http.cookiejar.CookieJar(self._cookie_policy)
        self._headers = list(DEFAULT_HEADERS)
        self._history = []
        self._page = None
        self._robots = {}
        if url is not None:
            self.open(url)

    # -- page state --------------------------------------------------------

    @property
    def _visit(self):
        return self._history[-1] if self._history else None

    @property
    def _current_url(self):
        """The current URL without its fragment (for cookies)."""
        return None if self._page is None else self._page.url

    @property
    def url(self):
        visit = self._visit
        return None if visit is None else visit.url

    @property
    def isHtml(self):
        return self._page is not None and self._page.is_html

    @property
    def title(self):
        if not self.isHtml:
            raise BrowserStateError('not viewing HTML')
        return self._page.title

    @property
    def contents(self):
        return None if self._page is None else self._page.contents

    @property
    def headers(self):
        """The response headers, after a synthetic ``Status`` field."""
        if self._page is None:
            return None
        return self._page.response.message()

    @property
    def cookies(self):
        return Cookies(self)

    def _html_page(self):
        if not self.isHtml:
            raise BrowserStateError('not viewing HTML')
        return self._page

    # -- requests ----------------------------------------------------------

    def addHeader(self, key, value):
        if key.lower() == 'cookie' and len(self._jar):
            raise ValueError(
                'cookies are already set: change them through '
                'browser.cookies instead of a Cookie header')
        self._headers = [(k, v) for k, v in self._headers
                         if k.lower() != key.lower()]
        self._headers.append((key, value))

    def open(self, url, data=None, referrer=None):
        url = self._absolute(url)
        if data is None:
            self._navigate('GET', url, referrer=referrer)
        else:
            if not isinstance(data, (str, bytes)):
                data = urlencode(data, 'utf-8')
            self._navigate('POST', url, data,
                           'application/x-www-form-urlencoded', referrer)

    def post(self, url, data, content_type=None, referrer=None):
        self._navigate('POST', self._absolute(url), data,
                       content_type or 'application/x-www-form-urlencoded',
                       referrer)

    def reload(self):
        visit = self._visit
        if visit is None:
            raise BrowserStateError('no URL has yet been .open()ed')
        before = len(self._history)
        try:
            self._send(visit.request,
                       urllib.parse.urldefrag(visit.url).fragment)
        finally:
            if len(self._history) > before:
                # The new page replaces the old one in the history.
                del self._history[before - 1]

    def goBack(self, count=1):
        if count < 1:
            raise ValueError(f'count must be at least 1, not {count}')
        if count >= len(self._history):
            raise BrowserStateError(
                f"can't go back {count} page(s): the history holds "
                f'{len(self._history) - 1} earlier page(s)')
        del self._history[-count:]
        self._page = Page(self._visit.response)

    def _absolute(self, url):
        if urllib.parse.urlsplit(url).scheme:
            return url
        if self._page is None:
            raise BrowserStateError(
                f"can't fetch relative reference {url!r}: not viewing any "
                'document')
        return self._page.resolve(url)

    def _navigate(self, method, url, body=None, content_type=None,
                  referrer=None):
        url, fragment = urllib.parse.urldefrag(url)
        if urllib.parse.urlsplit(url).scheme not in ('http', 'https'):
            raise ValueError(
                f'{url!r}: only http and https URLs can be opened')
        if isinstance(body, str):
            body = body.encode('utf-8')
        headers = []
        if content_type is not None:
            headers.append(('Content-Type', content_type))
        if referrer is not None:
            headers.append(('Referer', referrer))
        self._send(Request(method, url, headers, body), fragment)

    def _send(self, request, fragment):
        """Send ``request``, following redirects, and show the result."""
        started = time.perf_counter()
        for _ in range(MAX_REDIRECTS + 1):
            response = self._exchange(request)
            location = response.header('location')
            if not (self.followRedirects and location
                    and response.status in REDIRECTS):
                break
            url, new_fragment = urllib.parse.urldefrag(
                urllib.parse.urljoin(request.url, location.strip()))
            fragment = new_fragment or fragment
            request = Request(
                'GET', url,
                [(k, v) for k, v in request.headers
                 if k.lower() not in ('content-type',)])
        else:
            raise urllib.error.HTTPError(
                request.url, response.status,
                f'more than {MAX_REDIRECTS} redirects',
                response.message(), io.BytesIO(b''))
        self.lastRequestSeconds = time.perf_counter() - started
        shown = request.url + (f'#{fragment}' if fragment else '')
        self._history.append(_Visit(request, response, shown))
        self._page = Page(response)
        if self.raiseHttpErrors and response.status >= 400:
            raise urllib.error.HTTPError(
                shown, response.status, response.reason, response.message(),
                io.BytesIO(response.body))

    def _exchange(self, request):
        """One request and its response, with the browser's headers and
        cookies."""
        if self.checkRobots:
            self._check_robots(request.url)
        split = urllib.parse.urlsplit(request.url)
        headers = [('Host', split.netloc.rpartition('@')[2])]
        headers += self._headers
        headers += request.headers
        headers.append(('X-zope-handle-errors', str(bool(self.handleErrors))))
        if len(self._jar):
            cookie = self._cookie_header(request.url, headers)
            if cookie:
                headers.append(('Cookie', cookie))
        response = self._transport.send(
            Request(request.method, request.url, headers, request.body),
            self.handleErrors, self.timeout)
        if any(name.lower() in _SET_COOKIE for name, _ in response.headers):
            self._jar.extract_cookies(
                CookieResponse(response),
                urllib.request.Request(request.url))
        return response

    def _cookie_header_added(self):
        """Whether a test added a Cookie header, which replaces the jar's
        cookies in every request."""
        return any(k.lower() == 'cookie' for k, _ in self._headers)

    def _cookie_header(self, url, headers):
        if any(k.lower() == 'cookie' for k, _ in headers):
            return None  # an explicit Cookie header wins
        carrier = urllib.request.Request(url)
        self._jar.add_cookie_header(carrier)
        return carrier.get_header('Cookie')

    def _check_robots(self, url):
        split = urllib.parse.urlsplit(url)
        site = f'{split.scheme}://{split.netloc}'
        rules = self._robots.get(site)
        if rules is None:
            rules = self._robots[site] = urllib.robotparser.RobotFileParser()
            robots = Request('GET', site + '/robots.txt',
                             [('Host', split.netloc)] + self._headers)
            response = self._transport.send(robots, True, self.timeout)
            if response.status in (401, 403):
                rules.disallow_all = True
            elif response.status < 400:
                rules.parse(response.body.decode('utf-8', 'replace')
                            .splitlines())
            else:
                rules.allow_all = True
        agent = dict((k.lower(), v) for k, v in self._headers)['user-agent']
        if not rules.can_fetch(agent, url):
            raise RobotExclusionError(
                url, 403, 'request disallowed by robots.txt',
                http.client.HTTPMessage(), io.BytesIO(b''))

    # -- links -------------------------------------------------------------

    def getLink(self, text=None, url=None, id=None, index=0):
        page = self._html_page()
        tests = []
        if text is not None:
            tests.append((substring_matcher(text), 'text'))
        if url is not None:
            tests.append((substring_matcher(url), 'url'))
        if id is not None:
            tests.append((id.search if hasattr(id, 'search')
                          else id.__eq__, 'id'))
        matches = (link for link in page.iter_links()
                   if all(test(getattr(link, attribute)) is True
                          for test, attribute in tests))
        # Stop at the match asked for; only a miss looks at every link.
        found = list(itertools.islice(
            matches, index + 1 if index >= 0 else None))
        if 0 <= index < len(found):
            return Link(self, page, found[index])
        search = ', '.join(
            f'{name} {describe(value)}'
            for name, value in (('text', text), ('url', url), ('id', id))
            if value is not None) or 'any text'
        if found:
            search += f' (index {index}; {len(found)} match)'
        links = [repr(Link(self, page, link)) for link in page.links]
        raise LinkNotFoundError(
            f'no link with {search}\nlinks on the page:\n'
            + ('\n'.join('  ' + line for line in links) or '  (none)'))

    def follow(self, text=None, url=None, id=None, index=0):
        self.getLink(text, url, id, index).click()

    # -- what links, forms and controls ask of their browser ---------------
    # (a backend whose page lives in a real browser answers differently)

    def _is_current(self, page):
        """Whether ``page`` is the one the browser shows."""
        return page is self._page

    def _follow(self, page, link):
        """Follow ``link`` (a page-model link) of ``page``."""
        self._navigate('GET', link.url, referrer=page.url)

    def _press(self, page, field):
        """A plain button was clicked: without scripts, nothing happens."""

    def _changed(self, page, field):
        """A control's value was set: nothing to do here, the page model
        is the page."""

    # -- forms -------------------------------------------------------------

    def getControl(self, label=None, name=None, index=None):
        page = self._html_page()
        return find_control(self, page, page.forms, label, name, index)

    def getForm(self, id=None, name=None, action=None, index=None):
        page = self._html_page()
        forms = [f for f in page.forms if f.element is not None]
        given = [(k, v) for k, v in
                 (('id', id), ('name', name), ('action', action))
                 if v is not None]
        if len(given) > 1:
            raise ValueError(
                'Supply at most one of "id", "name" and "action"')
        if not given:
            if index is None and len(forms) != 1:
                raise ValueError(
                    'if no other arguments are given, index is required.')
            what = 'form'
            found = forms
        else:
            key, value = given[0]
            what = f'form with {key} {describe(value)}'
            if key == 'action':
                search = getattr(value, 'search', None)
                if search is None:
                    search = re.compile(value).search
                found = [f for f in forms if search(f.target(page)[1])]
            else:
                found = [f for f in forms if f.get(key) == value]
        model = choose(found, index, what,
                       lambda: (repr(Form(self, page, f)) + _form_names(f)
                                for f in forms),
                       describe=lambda f: repr(Form(self, page, f)))
        return Form(self, page, model)

    def _submit(self, page, form, button, coord):
        """Submit ``form`` of ``page``, clicked with ``button`` (or not)."""
        method, action, enctype, charset = form.target(page, button)
        pairs = form.pairs(button, coord)
        if method == 'POST':
            body, content_type = encode(pairs, enctype, charset)
            self._navigate('POST', action, body, content_type, page.url)
        else:
            query = urlencode(
                [(n, getattr(v, 'filename', v)) for n, v in pairs], charset)
            split = urllib.parse.urlsplit(action)
            self._navigate('GET', urllib.parse.urlunsplit(
                split._replace(query=query, fragment='')), referrer=page.url)

    # -- debugging ---------------------------------------------------------

    def show(self, directory=None, open_in_browser=False):
        """Write the current page to a temporary file (in ``directory``)
        so you can look at it; print and return the path. With
        ``open_in_browser``, also open it with the ``webbrowser`` module.
        A ``<base>`` is added to HTML so links and images still resolve.
        """
        if self._page is None:
            raise BrowserStateError('no page to show: nothing opened yet')
        page = self._page
        body = page.response.body
        suffix = '.html' if page.is_html else '.txt'
        if page.is_html and b'<base' not in body[:4096].lower():
            body = (f'<base href="{page.url}">'.encode(page.charset,
                                                       'replace') + body)
        fd, path = tempfile.mkstemp(
            prefix='zc.testbrowser-', suffix=suffix, dir=directory)
        with os.fdopen(fd, 'wb') as f:
            f.write(body)
        print(f'{self.url} shown in {path}')
        if open_in_browser:
            import webbrowser
            webbrowser.open('file://' + path)
        return path


def _form_names(form):
    names = [f'{k}={form.get(k)!r}' for k in ('id', 'name')
             if form.get(k) is not None]
    return f' ({", ".join(names)})' if names else ''
