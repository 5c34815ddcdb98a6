"""The browser's cookies, seen from one URL (``browser.cookies``).

The jar is the standard library's ``http.cookiejar.CookieJar``: it already
implements the cookie rules browsers follow (domains, paths, ports,
expiry, secure), for responses from an in-process application and from a
real server alike. This module adds the view a test wants: a mapping of
the cookies that apply to a URL, their details, and ways to make and
change them by hand.
"""
import collections.abc
import datetime
import email.utils
import http.cookiejar
import ipaddress
import time
import urllib.parse
import urllib.request

from zope.interface import implementer

from zc.testbrowser._errors import AlreadyExpiredError
from zc.testbrowser.interfaces import ICookies

__all__ = ['CookiePolicy', 'Cookies', 'default_path', 'expiration_string',
           'timestamp']

_UTC = datetime.timezone.utc


def expiration_string(expires):
    """An ``expires`` cookie attribute for a datetime (naive ones are taken
    as UTC), e.g. 'Wed, 02 Jan 2030 00:00:00 GMT'."""
    return email.utils.formatdate(timestamp(expires), usegmt=True)


def timestamp(expires):
    """Seconds since the epoch for a datetime, a cookie date string or a
    number; None stays None (a session cookie)."""
    if expires is None:
        return None
    if isinstance(expires, datetime.datetime):
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=_UTC)
        return expires.timestamp()
    if isinstance(expires, str):
        stamp = http.cookiejar.http2time(expires)
        if stamp is None:
            raise ValueError(f'unrecognised expiration date {expires!r}')
        return stamp
    return float(expires)


class CookiePolicy(http.cookiejar.DefaultCookiePolicy):
    """The standard policy, with host-only cookies kept to their host (RFC
    6265, 5.3: a cookie set without a domain is sent back to that host
    only, never to its subdomains), plus ``strict_domain``: when set, a
    cookie may only be set for the exact host of the URL, never for a
    domain."""

    strict_domain = False

    def __init__(self):
        super().__init__(
            strict_ns_domain=http.cookiejar.DefaultCookiePolicy
            .DomainStrictNonDomain)

    def set_ok_domain(self, cookie, request):
        if self.strict_domain and cookie.domain_specified:
            host = http.cookiejar.eff_request_host(request)[1]
            if cookie.domain.lstrip('.') not in (
                    host, urllib.parse.urlsplit(request.full_url).hostname):
                return False
        return super().set_ok_domain(cookie, request)


class CookieResponse:
    """The face of a response that ``CookieJar.extract_cookies`` reads."""

    def __init__(self, response):
        self._response = response

    def info(self):
        return self

    def get_all(self, name, default=None):
        return self._response.header_values(name) or default


@implementer(ICookies)
class Cookies(collections.abc.MutableMapping):
    """A mutable mapping of cookie name to value for the cookies that would
    be sent to ``url``; ``browser.cookies`` follows the browser's URL,
    ``forURL`` pins another one."""

    def __init__(self, browser, url=None):
        self._browser = browser
        self._url = url

    @property
    def _jar(self):
        return self._browser._jar

    @property
    def url(self):
        if self._url is not None:
            return self._url
        url = self._browser._current_url
        if url is None:
            raise RuntimeError('no request found')
        return url

    def forURL(self, url):
        return type(self)(self._browser, url)

    def __repr__(self):
        # zope.testbrowser's form, so doctests written for it still match.
        name = f'{type(self).__module__}.{type(self).__qualname__}'
        try:
            url = self.url
        except RuntimeError:
            return f'<{name} object at {id(self):#x} (no request yet)>'
        return f'<{name} object at {id(self):#x} for {url} ({self.header})>'

    def __str__(self):
        """The Cookie header the browser sends to the URL."""
        return self.header

    def _request(self):
        return urllib.request.Request(self.url)

    @property
    def header(self):
        request = self._request()
        self._jar.add_cookie_header(request)
        return request.get_header('Cookie', '')

    @property
    def strict_domain_policy(self):
        return self._browser._cookie_policy.strict_domain

    @strict_domain_policy.setter
    def strict_domain_policy(self, value):
        self._browser._cookie_policy.strict_domain = bool(value)

    def _visible(self, name=None):
        """The cookies sent to the URL, most specific path first, as the
        Cookie header orders them."""
        request = self._request()
        policy = self._browser._cookie_policy
        # return_ok() checks expiry against the time the jar last stamped
        # on its policy (CookieJar.add_cookie_header does the same).
        policy._now = self._jar._now = int(time.time())
        found = [c for c in self._jar
                 if (name is None or c.name == name)
                 and policy.domain_return_ok(c.domain, request)
                 and policy.path_return_ok(c.path, request)
                 and policy.return_ok(c, request)]
        found.sort(key=lambda c: len(c.path), reverse=True)
        return found

    def _cookie(self, name):
        found = self._visible(name)
        if not found:
            raise KeyError(name)
        return found[0]

    # where the cookies live: the browser's jar (another backend keeps
    # them elsewhere and overrides these, ``header`` and ``_visible``)

    def _all(self):
        """Every cookie, as ``http.cookiejar.Cookie`` objects."""
        return list(self._jar)

    def _store(self, cookie):
        self._jar.set_cookie(cookie)

    def _remove(self, cookie):
        self._jar.clear(cookie.domain, cookie.path, cookie.name)

    def _host_domain(self, request):
        """The domain a host-only cookie for ``request`` is filed under:
        the jar files a host without a dot as ``<host>.local``."""
        return http.cookiejar.eff_request_host(request)[1]

    def clearAll(self):
        self._jar.clear()

    def clearAllSession(self):
        self._jar.clear_session_cookies()

    # the mapping

    def __getitem__(self, name):
        return self._cookie(name).value

    def __setitem__(self, name, value):
        if self._visible(name):
            self.change(name, value)
        else:
            self.create(name, value)

    def __delitem__(self, name):
        self._remove(self._cookie(name))

    def __iter__(self):
        seen = set()
        for cookie in self._visible():
            if cookie.name not in seen:
                seen.add(cookie.name)
                yield cookie.name

    def __len__(self):
        return sum(1 for _ in self)

    def __contains__(self, name):
        return bool(self._visible(name))

    # Lists, not views: a view would follow the browser to its next page.

    def keys(self):
        return list(self)

    def values(self):
        return [self[name] for name in self]

    def items(self):
        return [(name, self[name]) for name in self]

    # details

    def getinfo(self, name):
        return _info(self._cookie(name))

    def iterinfo(self, name=None):
        for cookie in self._visible(name):
            yield _info(cookie)

    # making and changing cookies
    #
    # A cookie is known by its name, domain and path (RFC 6265, 5.3): two
    # cookies of one name at different paths or domains are two cookies.
    # create() makes a new one; change() and del act on the one the URL
    # sees first (the most specific path), as getinfo() reports it.

    def create(self, name, value, domain=None, expires=None, path=None,
               secure=None, comment=None, commenturl=None, port=None):
        expires = timestamp(expires)
        cookie = self._make(name, value, domain, expires, path, secure,
                            comment, commenturl, port)
        if any((c.name, c.domain, c.path) ==
               (cookie.name, cookie.domain, cookie.path)
               for c in self._all()):
            raise ValueError(f'cookie {name!r} already exists for {self.url}')
        if expires is not None and expires <= time.time():
            raise AlreadyExpiredError(
                f'cookie {name!r} would expire before it is created: '
                f'{expiration_string(expires)}')
        self._store(cookie)

    def change(self, name, value=None, domain=None, expires=None, path=None,
               secure=None, comment=None, commenturl=None, port=None):
        old = self._cookie(name)
        stamp = old.expires if expires is None else timestamp(expires)
        new = self._make(
            name,
            old.value if value is None else value,
            _given_domain(old) if domain is None else domain,
            stamp,
            old.path if path is None else path,
            old.secure if secure is None else secure,
            old.comment if comment is None else comment,
            old.comment_url if commenturl is None else commenturl,
            old.port if port is None else port)
        self._remove(old)
        if stamp is None or stamp > time.time():
            # (expiring a cookie removes it, as it does from a server)
            self._store(new)

    def _make(self, name, value, domain, expires, path, secure, comment,
              commenturl, port):
        """A cookie for the URL, refused (ValueError) where a browser would
        refuse the same cookie from a ``Set-Cookie`` header."""
        if self._browser._cookie_header_added():
            raise ValueError(
                f'a Cookie header was added by hand (addHeader), so the '
                f'browser would not send cookie {name!r}')
        url = urllib.parse.urlsplit(self.url)
        request = self._request()
        policy = self._browser._cookie_policy
        host = http.cookiejar.eff_request_host(request)[1]
        if _host_only(domain, url.hostname):
            stored = self._host_domain(request)
        else:
            stored = '.' + domain.lower().lstrip('.')
            if self.strict_domain_policy:
                raise ValueError(
                    f'strict domain policy: cookies for {self.url} can only '
                    f'be set for {url.hostname!r}, not {domain!r}')
            if not (host == stored[1:]
                    or http.cookiejar.domain_match(host, stored)):
                raise ValueError(f'domain {domain!r} does not match '
                                 f'{self.url}')
        if path is None:
            path = default_path(url.path)
        elif not policy.path_return_ok(path, request):
            raise ValueError(f'path {path!r} does not match {self.url}')
        if secure and url.scheme != 'https':
            raise ValueError(f'a secure cookie cannot be set for {self.url}')
        cookie = http.cookiejar.Cookie(
            version=0, name=name, value=value,
            port=None if port is None else str(port),
            port_specified=port is not None,
            domain=stored, domain_specified=stored.startswith('.'),
            domain_initial_dot=stored.startswith('.'),
            path=path, path_specified=True, secure=bool(secure),
            expires=None if expires is None else int(expires),
            discard=expires is None, comment=comment, comment_url=commenturl,
            rest={} if domain is None else {_GIVEN_DOMAIN: domain},
            rfc2109=False)
        if not policy.set_ok(cookie, request):
            # e.g. a top-level domain ('.com'), or a port the URL isn't on
            raise ValueError('policy does not allow this cookie')
        return cookie

    # removing

    def clear(self):
        for cookie in self._visible():
            self._remove(cookie)


#: Where a cookie made by hand keeps the domain as the test gave it.
_GIVEN_DOMAIN = 'zc.testbrowser-domain'


def _given_domain(cookie):
    """The domain as it was given to ``create`` or in ``Set-Cookie``; None
    for a host-only cookie."""
    if cookie.has_nonstandard_attr(_GIVEN_DOMAIN):
        return cookie.get_nonstandard_attr(_GIVEN_DOMAIN)
    return cookie.domain if cookie.domain_specified else None


def _host_only(domain, hostname):
    """Whether a cookie made with ``domain`` for ``hostname`` is kept to
    that host: without a domain, or when the domain is the host itself and
    the host is an IP address or has no dot (the jar files such a host as
    ``<host>.local``, and nothing else can match it)."""
    if domain is None:
        return True
    if domain.lower().lstrip('.') != hostname:
        return False
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return '.' not in hostname
    return True


def default_path(path):
    """The path of a cookie made without one (RFC 6265, 5.1.4): the
    directory of the URL's path."""
    if not path.startswith('/') or path.count('/') == 1:
        return '/'
    return path[:path.rindex('/')]


def _info(cookie):
    expires = cookie.expires
    return {
        'name': cookie.name,
        'value': cookie.value,
        'port': cookie.port,
        'domain': _given_domain(cookie) or cookie.domain,
        'path': cookie.path,
        'secure': cookie.secure,
        'expires': (None if expires is None
                    else datetime.datetime.fromtimestamp(expires, _UTC)),
        'comment': cookie.comment,
        'commenturl': cookie.comment_url,
    }
