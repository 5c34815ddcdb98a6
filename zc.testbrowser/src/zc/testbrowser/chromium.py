"""The Chromium backend: the same ``Browser`` API driving headless Chromium
(Debian's ``chromium``) through Playwright, for pages that need JavaScript.

``Browser(url, wsgi_app=app, backend='chromium')`` (or this module's
``Browser``) is the switch. The real browser fetches pages, runs their
scripts and owns the DOM; what a test looks for is found the way the fast
backend finds it: a snapshot of the live DOM (with the controls' current
values) is parsed into the same page model, so searches, reprs and error
messages are the same, and every element found keeps a reference to its
live element, which is what a click or a new value acts on.

One Chromium process serves every Browser of a test process (each gets a
browser context of its own: own cookies, own cache); ``Layer`` starts it
once for a layer's tests and stops it afterwards.
"""
import functools
import http.cookiejar
import io
import logging
import os
import re
import time
import urllib.error
import urllib.parse

from zope.interface import implementer

from zc.testbrowser import browser, cookies, interfaces
from zc.testbrowser._errors import BrowserStateError
from zc.testbrowser._page import Page
from zc.testbrowser._transport import Response
from zc.testbrowser.testing import Server

__all__ = ['Browser', 'BrowserStartError', 'Layer', 'close_browsers',
           'playwright_browser', 'stop']

log = logging.getLogger(__name__)

#: Debian's chromium package installs it here.
EXECUTABLE = '/usr/bin/chromium'
#: Headless on a closed network, as root in CI: no sandbox (it needs user
#: namespaces a container rarely has), no GPU, nothing phoning home.
ARGUMENTS = ('--no-sandbox', '--disable-gpu',
             '--disable-background-networking', '--disable-component-update',
             '--disable-sync', '--no-first-run')

_HTML_TYPES = ('text/html', 'application/xhtml+xml')
_MARK = re.compile(r' data-zc-ref="\d+"')

# Runs in every document before its own scripts: counts changes to the
# DOM and to controls, so the browser knows when its snapshot is stale.
_WATCH = '''(() => {
  const state = window.__zcState = {doc: Math.random(), version: 0};
  const bump = () => { state.version++; };
  const ours = record => record.attributeName === 'data-zc-ref';
  new MutationObserver(records => {
    if (!records.every(ours)) bump();
  }).observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true});
  for (const type of ['input', 'change', 'click'])
    document.addEventListener(type, bump, true);
})()'''

# The live DOM as HTML, each control's current value written into the
# copy's attributes, and each link, form, control and option numbered
# (data-zc-ref, on the live element too, so that Playwright finds it with
# a plain CSS selector; ``contents`` leaves it out) and kept in
# window.__zcRefs. Returns null when nothing changed since the snapshot
# ``known`` = [doc, version].
_SNAPSHOT = '''(known) => {
  const state = window.__zcState || {doc: 0, version: 0};
  if (known && known[0] === state.doc && known[1] === state.version)
    return null;
  // Numbers stay with their element for the document's life, so an
  // element found in an earlier snapshot is still found.
  const refs = window.__zcRefs = window.__zcRefs || [];
  const numbers = window.__zcNumbers = window.__zcNumbers || new WeakMap();
  const root = document.documentElement;
  if (!root) return [state.doc, state.version, '<html></html>'];
  const live = root.getElementsByTagName('*');
  for (let i = 0; i < live.length; i++) {
    const element = live[i];
    if (!['input', 'textarea', 'option', 'a', 'area', 'form', 'select',
          'button'].includes(element.localName)) continue;
    let number = numbers.get(element);
    if (number === undefined) {
      number = refs.length;
      refs.push(element);
      numbers.set(element, number);
    }
    // (a script's copy of a marked element gets a number of its own)
    if (element.getAttribute('data-zc-ref') !== String(number))
      element.setAttribute('data-zc-ref', number);
  }
  const copy = root.cloneNode(true);
  const copies = copy.getElementsByTagName('*');
  const buttons = ['submit', 'image', 'reset', 'button', 'file'];
  for (let i = 0; i < live.length; i++) {
    const element = live[i], twin = copies[i];
    switch (element.localName) {
      case 'input':
        if (element.type === 'checkbox' || element.type === 'radio')
          twin.toggleAttribute('checked', element.checked);
        else if (!buttons.includes(element.type))
          twin.setAttribute('value', element.value);
        break;
      case 'textarea': twin.textContent = element.value; break;
      case 'option': twin.toggleAttribute('selected', element.selected);
        break;
    }
  }
  return [state.doc, state.version, '<!DOCTYPE html>' + copy.outerHTML];
}'''

# Sets [ref, property, value] triples on live elements, firing the input
# and change events a person's typing or clicking would.
_SET = '''(changes) => {
  for (const [ref, property, value] of changes) {
    const element = window.__zcRefs[ref];
    if (element[property] === value) continue;
    element[property] = value;
    const target = element.localName === 'option'
      ? element.closest('select') || element : element;
    for (const type of ['input', 'change'])
      target.dispatchEvent(new Event(type, {bubbles: true}));
  }
}'''


class BrowserStartError(Exception):
    """Headless Chromium could not be started; the message says what is
    missing (a Debian package, the Python extra) or what went wrong."""


class _Process:
    """The one headless Chromium of this test process (and Playwright,
    which talks to it), started on first use."""

    def __init__(self, executable=EXECUTABLE):
        self.executable = executable
        self.playwright = None
        self.chromium = None
        self.browsers = []  # open Browsers, closed with the process

    def start(self):
        if self.chromium is not None:
            return self.chromium
        if not os.path.exists(self.executable):
            raise BrowserStartError(
                f"Chromium is not installed: {self.executable} is missing; "
                f"install Debian's 'chromium' package "
                f"(apt-get install chromium)")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise BrowserStartError(
                "the Chromium backend needs Playwright: install "
                "zc.testbrowser[chromium]") from None
        started = time.perf_counter()
        self.playwright = sync_playwright().start()
        try:
            # Playwright gives the process a fresh, temporary profile.
            self.chromium = self.playwright.chromium.launch(
                executable_path=self.executable, args=list(ARGUMENTS))
        except Exception as error:
            self.playwright.stop()
            self.playwright = None
            raise BrowserStartError(
                f'{self.executable} did not start: {error}') from error
        log.info('started %s (%s) in %.2f s', self.executable,
                 self.chromium.version, time.perf_counter() - started)
        return self.chromium

    def close_browsers(self):
        for open_browser in list(self.browsers):
            open_browser.close()

    def stop(self):
        self.close_browsers()
        if self.chromium is not None:
            self.chromium.close()
            self.playwright.stop()
            self.chromium = self.playwright = None


_PROCESS = _Process()


def stop():
    """Close every Chromium Browser and stop the Chromium process (the next
    Browser starts a new one)."""
    _PROCESS.stop()


def playwright_browser():
    """The shared Chromium, as Playwright's ``Browser`` (started if need
    be): for what this API doesn't do, and for comparing with it."""
    return _PROCESS.start()


def close_browsers():
    """Close every Chromium Browser still open (and the servers of their
    applications); the Chromium process keeps running."""
    _PROCESS.close_browsers()


class Layer:
    """A zope.testrunner layer running one headless Chromium for all its
    tests; browsers left open are closed when it is torn down."""

    __bases__ = ()
    __name__ = 'ChromiumLayer'
    __module__ = __name__

    @staticmethod
    def setUp():
        _PROCESS.start()

    @staticmethod
    def tearDown():
        _PROCESS.stop()

    @staticmethod
    def testTearDown():
        close_browsers()


class _Snapshot(Page):
    """The page model of the live DOM at one moment: ``doc`` names the
    document, ``version`` its state, ``navigation`` counts the browser's
    navigations until then; ``refs`` maps an element of the model to the
    number of its live element."""

    def __init__(self, response, doc, version, navigation):
        super().__init__(response)
        self.doc = doc
        self.version = version
        self.navigation = navigation
        self.refs = {}

    @functools.cached_property
    def document(self):
        document = super().document
        for element in document.iterfind('.//*[@data-zc-ref]'):
            self.refs[element] = int(element.attrib.pop('data-zc-ref'))
        return document


class Browser(browser.Browser):
    """A Browser whose pages are in headless Chromium. With ``wsgi_app``
    the application is served on a loopback port (``testing.Server``)
    which the browser uses as its proxy, so ``http://localhost/...`` URLs
    reach it as they are."""

    backend = 'chromium'
    #: Seconds to wait for a page, an element or a click.
    timeout = 30

    def __init__(self, url=None, wsgi_app=None, backend='chromium'):
        chromium = _PROCESS.start()
        options = {}
        self._server = None
        if wsgi_app is not None:
            self._server = Server(wsgi_app, threads=True).start()
            options['proxy'] = {'server': self._server.url,
                                'bypass': '<-loopback>'}
        self._context = chromium.new_context(**options)
        _PROCESS.browsers.append(self)
        self._context.add_init_script(_WATCH)
        self._context.set_default_timeout(self.timeout * 1000)
        self._tab = self._context.new_page()
        self._tab.on('response', self._saw_response)
        self._tab.on('framenavigated', self._saw_navigation)
        self._navigations = 0  # of the main frame, to a page or a #part
        self._response = None  # the current document's (Playwright's)
        self._plain = None  # the page model of a document that isn't HTML
        self._snapshot = None
        self._headers = []
        self._cookie_policy = cookies.CookiePolicy()
        if url is not None:
            self.open(url)

    def close(self):
        """Close the browser context (and stop the server of
        ``wsgi_app``)."""
        if self in _PROCESS.browsers:
            _PROCESS.browsers.remove(self)
            self._context.close()
            if self._server is not None:
                self._server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- the current document ----------------------------------------------

    def _saw_response(self, response):
        if (response.frame.parent_frame is None
                and response.request.is_navigation_request()
                and not 300 <= response.status < 400):
            self._response = response
            self._plain = self._snapshot = None

    def _saw_navigation(self, frame):
        if frame.parent_frame is None:
            self._navigations += 1

    def _document(self):
        """The current document's response, as the fast backend's."""
        response = self._response
        if response is None:
            return None
        headers = [(h['name'], h['value'])
                   for h in response.headers_array()]
        body = b'' if self._is_html(response) else response.body()
        return Response(urllib.parse.urldefrag(self._tab.url)[0],
                        response.status, response.status_text, headers, body)

    @staticmethod
    def _is_html(response):
        # (``headers`` came with the response; header_value() would ask)
        content_type = response.headers.get('content-type', '')
        return content_type.split(';')[0].strip().lower() in _HTML_TYPES

    @property
    def _page(self):
        """The page model: of the live DOM (a snapshot, taken again when
        the DOM has changed), or of the response if it isn't HTML."""
        from playwright.sync_api import Error as PlaywrightError
        try:
            return self._model()
        except PlaywrightError:
            # A script started a navigation: look where it lands.
            self._tab.wait_for_load_state()
            return self._model()

    def _model(self):
        response = self._response
        if response is None:
            return None
        if not self._is_html(response):
            if self._plain is None:
                self._plain = Page(self._document())
            return self._plain
        known = self._snapshot
        known = None if known is None else [known.doc, known.version]
        found = self._tab.evaluate(_SNAPSHOT, known)
        if found is not None:
            doc, version, html = found
            self._snapshot = _Snapshot(Response(
                urllib.parse.urldefrag(self._tab.url)[0], response.status,
                response.status_text,
                [('Content-Type', 'text/html; charset=utf-8')],
                html.encode('utf-8')), doc, version, self._navigations)
        return self._snapshot

    @property
    def _current_url(self):
        return None if self._response is None else urllib.parse.urldefrag(
            self._tab.url)[0]

    @property
    def url(self):
        return None if self._response is None else self._tab.url

    @property
    def isHtml(self):
        return self._response is not None and self._is_html(self._response)

    @property
    def contents(self):
        """The live DOM as HTML (what scripts made of the page), or the
        response body of a document that isn't HTML."""
        if self._response is None:
            return None
        if self.isHtml:
            return _MARK.sub('', self._tab.content())
        return self._page.contents

    @property
    def headers(self):
        document = self._document()
        return None if document is None else document.message()

    @property
    def cookies(self):
        return Cookies(self)

    # -- navigation --------------------------------------------------------

    def addHeader(self, key, value):
        if key.lower() == 'cookie' and self._context.cookies():
            raise ValueError(
                'cookies are already set: change them through '
                'browser.cookies instead of a Cookie header')
        self._headers = [(k, v) for k, v in self._headers
                         if k.lower() != key.lower()] + [(key, value)]
        self._context.set_extra_http_headers(dict(self._headers))

    def _navigate(self, method, url, body=None, content_type=None,
                  referrer=None):
        if urllib.parse.urlsplit(url).scheme not in ('http', 'https'):
            raise ValueError(
                f'{url!r}: only http and https URLs can be opened')
        if method == 'GET':
            self._load(lambda: self._tab.goto(url, referer=referrer))
            return
        if isinstance(body, str):
            body = body.encode('utf-8')
        target = urllib.parse.urldefrag(url)[0]

        def as_post(route):
            # Only the navigation itself; what the page then loads is GET.
            if route.request.url == target and \
                    route.request.is_navigation_request():
                headers = dict(route.request.headers)
                headers['content-type'] = content_type
                route.continue_(method='POST', post_data=body,
                                headers=headers)
            else:
                route.continue_()

        def matches(url):
            return url == target
        self._tab.route(matches, as_post)
        try:
            self._load(lambda: self._tab.goto(url, referer=referrer))
        finally:
            self._tab.unroute(matches, as_post)

    def _load(self, action):
        """Do ``action`` (which may load a document), then raise the
        HTTPError of a failed one if asked to."""
        from playwright.sync_api import Error as PlaywrightError
        before = self._response
        started = time.perf_counter()
        self._snapshot = None
        try:
            result = action()
        except PlaywrightError as error:
            reason = str(error).splitlines()[0]
            if 'net::ERR_' in reason:
                # what the fast backend raises when a server can't be had
                raise urllib.error.URLError(reason) from None
            raise
        self.lastRequestSeconds = time.perf_counter() - started
        response = self._response
        if response is not before and response is not None:
            if self.raiseHttpErrors and response.status >= 400:
                raise urllib.error.HTTPError(
                    self.url, response.status, response.status_text,
                    self.headers, io.BytesIO(b''))
        return result

    def reload(self):
        if self._response is None:
            raise BrowserStateError('no URL has yet been .open()ed')
        self._load(self._tab.reload)

    def goBack(self, count=1):
        if count < 1:
            raise ValueError(f'count must be at least 1, not {count}')
        earlier = self._tab.evaluate('history.length') - 1
        if self._response is None or count > earlier:
            raise BrowserStateError(
                f"can't go back {count} page(s): the history holds "
                f'{max(earlier, 0)} earlier page(s)')
        for _ in range(count):
            self._load(self._tab.go_back)

    # -- what links, forms and controls ask of their browser ---------------

    def _is_current(self, page):
        return (isinstance(page, _Snapshot)
                and page.navigation == self._navigations)

    def _element(self, page, model_element):
        """The live element behind an element of the snapshot ``page``, as
        a Playwright locator.

        (A CSS selector on the mark was measured the fastest: an element
        handle or a selector engine of our own, which run in the page's
        JavaScript world, cost 10-30 ms more a click.)
        """
        return self._tab.locator(
            f'[data-zc-ref="{page.refs[model_element]}"]')

    def _click(self, page, model_element, position=None):
        element = self._element(page, model_element)
        self._load(lambda: element.click(position=position))

    def _follow(self, page, link):
        self._click(page, link.element)

    def _press(self, page, field):
        self._click(page, field.element)

    def _changed(self, page, field):
        ref = page.refs.__getitem__
        if field.is_list:
            property = ('selected' if field.kind == 'SelectControl'
                        else 'checked')
            changes = [[ref(item.element), property, item.selected]
                       for item in field.items]
        elif field.kind == 'FileControl':
            self._element(page, field.element).set_input_files([
                {'name': f.filename, 'mimeType': f.content_type,
                 'buffer': f.data} for f in field.files])
            return
        else:
            changes = [[ref(field.element), 'value', field.value]]
        self._tab.evaluate(_SET, changes)

    def _submit(self, page, form, button, coord):
        if button is not None:
            position = None
            if button.is_image:
                position = {'x': coord[0], 'y': coord[1]}
            self._click(page, button.element, position)
            return
        if form.element is None:
            raise BrowserStateError(
                'controls outside any <form> can only be submitted with '
                'a button')
        element = self._element(page, form.element)

        def submit():
            with self._tab.expect_navigation():
                element.evaluate('form => form.submit()')
        self._load(submit)

    # -- what only a real browser does -------------------------------------

    @property
    def playwright_page(self):
        """The Playwright ``Page`` this browser drives, for what this API
        doesn't do (the page model is taken again after you change it)."""
        self._snapshot = None
        return self._tab

    def evaluate(self, expression, argument=None):
        """Run JavaScript in the page and return its (JSON-able) result:
        an expression, or a function called with ``argument``."""
        self._snapshot = None
        return self._tab.evaluate(expression, argument)

    def waitFor(self, selector, timeout=None, state='visible'):
        """Wait until an element matching the CSS ``selector`` is
        ``state`` ('visible', 'attached', 'hidden' or 'detached'), at most
        ``timeout`` seconds (default: ``timeout``); TimeoutError says what
        did not happen."""
        seconds = self.timeout if timeout is None else timeout
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        try:
            self._tab.wait_for_selector(selector, state=state,
                                        timeout=seconds * 1000)
        except PlaywrightTimeout:
            raise TimeoutError(
                f'no element {selector!r} became {state} within {seconds} s '
                f'on {self.url}') from None
        self._snapshot = None

    def screenshot(self, path, full_page=True):
        """Save what the page looks like as a PNG file; return ``path``."""
        png = self._tab.screenshot(full_page=full_page)
        with open(path, 'wb') as f:  # (Playwright would use a thread)
            f.write(png)
        return path


@implementer(interfaces.ICookies)
class Cookies(cookies.Cookies):
    """``browser.cookies`` of a Chromium browser: the same mapping and
    rules, over the browser context's cookies."""

    @property
    def _context(self):
        return self._browser._context

    def _visible(self, name=None):
        found = [_from_chromium(c) for c in self._context.cookies(self.url)
                 if name is None or c['name'] == name]
        found.sort(key=lambda c: len(c.path), reverse=True)
        return found

    def _all(self):
        return [_from_chromium(c) for c in self._context.cookies()]

    def _host_domain(self, request):
        return urllib.parse.urlsplit(request.full_url).hostname

    @property
    def header(self):
        return '; '.join(f'{c.name}={c.value}' for c in self._visible())

    def _store(self, cookie):
        self._context.add_cookies([{
            'name': cookie.name, 'value': cookie.value,
            'domain': cookie.domain, 'path': cookie.path,
            'secure': cookie.secure,
            'expires': -1 if cookie.expires is None else cookie.expires}])

    def _remove(self, cookie):
        self._context.clear_cookies(name=cookie.name, domain=cookie.domain,
                                    path=cookie.path)

    def clearAll(self):
        self._context.clear_cookies()

    def clearAllSession(self):
        for cookie in self._all():
            if cookie.expires is None:
                self._remove(cookie)


def _from_chromium(found):
    """A Chromium cookie (Playwright's dict) as the jar's ``Cookie``."""
    domain = found['domain']
    expires = found['expires']
    return http.cookiejar.Cookie(
        version=0, name=found['name'], value=found['value'], port=None,
        port_specified=False, domain=domain,
        domain_specified=domain.startswith('.'),
        domain_initial_dot=domain.startswith('.'), path=found['path'],
        path_specified=True, secure=found['secure'],
        expires=None if expires < 0 else int(expires),
        discard=expires < 0, comment=None, comment_url=None, rest={})
