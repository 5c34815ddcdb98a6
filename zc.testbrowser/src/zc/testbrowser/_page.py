"""One response as the browser sees it: its charset, and (parsed on first
use, with lxml) its title, base URL, links and forms.

lxml (libxml2's HTML parser) was measured 7-30 times faster than
html.parser, html5lib or BeautifulSoup on the same pages; see the README's
"Why lxml and http.client" section.
"""
import functools
import re
import urllib.parse

import lxml.html

from zc.testbrowser._forms import CONTROL_TAGS, FormModel
from zc.testbrowser._matching import normalize

_HTML_TYPES = ('text/html', 'application/xhtml+xml')
_META_CHARSET = re.compile(
    rb'<meta[^>]+charset\s*=\s*["\']?\s*([-\w.:]+)', re.IGNORECASE)
_TEXT_TYPES = ('application/json', 'application/javascript',
               'application/xml', 'application/ecmascript')
_LABELABLE = ('input', 'select', 'textarea', 'button')
_NOT_LABEL_TEXT = ('select', 'textarea', 'datalist', 'button', 'script',
                   'style')


class computed_once:
    """``functools.cached_property`` without the lock Python 3.11 takes
    on every first use (3.12 dropped it): about 1 us each, and a page
    computes several of these per request. A page belongs to one
    browser, used from one thread."""

    def __init__(self, compute):
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


@functools.lru_cache(maxsize=None)
def _parser(charset):
    return lxml.html.HTMLParser(encoding=charset)


class LinkModel:
    """An ``<a href>`` or ``<area href>`` of the page. Its URL and text are
    worked out when first asked for: a search usually looks at one of them
    for a few links only."""

    def __init__(self, element, base):
        self.element = element
        self.tag = element.tag
        self._base = base

    @property
    def id(self):
        return self.element.get('id')

    @computed_once
    def url(self):
        href = self.element.get('href').strip()
        site = _site(self._base)
        if (site and href[:1] == '/' and href[1:2] != '/'
                and '/.' not in href):
            # A path on the same site without dot segments: what urljoin
            # would return, at a tenth of its cost (most links are these).
            return site + href
        return urllib.parse.urljoin(self._base, href)

    @computed_once
    def text(self):
        element = self.element
        if self.tag == 'area':
            return normalize(element.get('alt') or '')
        text = normalize(element.text_content())
        if not text:
            # An image link reads as its image's alt text.
            for img in element.iter('img'):
                text = normalize(img.get('alt') or '')
                if text:
                    break
        return text

    @property
    def attrs(self):
        return dict(self.element.attrib)


class Page:
    """A response: ``url`` (without fragment), ``status``, ``reason``,
    ``headers`` (a list of pairs) and ``body`` (bytes)."""

    def __init__(self, response):
        self.response = response
        content_type = response.header('content-type') or ''
        mime, _, params = content_type.partition(';')
        self.mime_type = mime.strip().lower()
        self.is_html = self.mime_type in _HTML_TYPES
        self._declared_charset = _charset_param(params)

    @property
    def url(self):
        return self.response.url

    def resolve(self, href):
        """The absolute URL of ``href`` on this page."""
        if not self.is_html:
            return urllib.parse.urljoin(self.response.url, href)
        return urllib.parse.urljoin(self.base, href)

    @computed_once
    def charset(self):
        if self._declared_charset:
            return self._declared_charset
        if self.is_html:
            found = _META_CHARSET.search(self.response.body[:2048])
            if found:
                return found.group(1).decode('ascii').lower()
        return 'utf-8'

    @property
    def is_text(self):
        return (self.is_html or self.mime_type.startswith('text/')
                or self.mime_type in _TEXT_TYPES
                or self.mime_type.endswith(('+xml', '+json'))
                or bool(self._declared_charset) or not self.mime_type)

    @computed_once
    def contents(self):
        body = self.response.body
        if not self.is_text:
            return body
        try:
            return body.decode(self.charset, 'replace')
        except LookupError:  # a charset Python doesn't know: show the text
            return body.decode('utf-8', 'replace')

    @computed_once
    def document(self):
        body = self.response.body
        if not body.strip():
            body = b'<html></html>'
        try:
            return lxml.html.document_fromstring(body, _parser(self.charset))
        except LookupError:  # a charset libxml2 doesn't know
            return lxml.html.document_fromstring(self.contents)

    @computed_once
    def base(self):
        for base in self.document.iter('base'):
            href = base.get('href')
            if href:
                return urllib.parse.urljoin(self.response.url, href.strip())
        return self.response.url

    @property
    def title(self):
        for title in self.document.iter('title'):
            return normalize(title.text_content())
        return None

    @property
    def links(self):
        return list(self.iter_links())

    def iter_links(self):
        """The links in document order, each made when first reached: a
        search that stops at its match leaves the rest of the page alone.
        Links once made are kept, so every iteration sees the same ones."""
        made = self._links_made
        i = 0
        while True:
            if i == len(made):
                link = next(self._unmade_links, None)
                if link is None:
                    return
                made.append(link)
            yield made[i]
            i += 1

    @computed_once
    def _links_made(self):
        return []

    @computed_once
    def _unmade_links(self):
        base = self.base
        return (LinkModel(element, base)
                for element in self.document.iter('a', 'area')
                if element.get('href') is not None)

    @computed_once
    def element_order(self):
        """Each control and option element's place in the document."""
        return {element: i for i, element in
                enumerate(self.document.iter(*CONTROL_TAGS, 'option'))}

    @computed_once
    def forms(self):
        """Every form in document order, then (if it has controls) the
        model for controls outside any form."""
        document = self.document
        elements = list(document.iter('form'))
        forms = [FormModel(element, i) for i, element in enumerate(elements)]
        by_element = dict(zip(elements, forms))
        by_id = {}
        for form in forms:
            by_id.setdefault(form.get('id'), form)
        orphans = FormModel(None, len(forms))
        labels = _labels(document)
        for element in document.iter(*CONTROL_TAGS):
            owner_id = element.get('form')
            if owner_id is not None:
                owner = by_id.get(owner_id, orphans)
            else:
                ancestor = next(element.iterancestors('form'), None)
                owner = orphans if ancestor is None else by_element[ancestor]
            owner.add(element, labels.get(element, []))
        if orphans.fields:
            forms.append(orphans)
        return forms


@functools.lru_cache(maxsize=64)
def _site(url):
    """``scheme://netloc`` of an http(s) ``url``, else None."""
    split = urllib.parse.urlsplit(url)
    if split.scheme not in ('http', 'https') or not split.netloc:
        return None
    return f'{split.scheme}://{split.netloc}'


def _charset_param(params):
    for param in params.split(';'):
        key, _, value = param.partition('=')
        if key.strip().lower() == 'charset':
            return value.strip().strip('"\'').lower() or None
    return None


def _labels(document):
    """Map each control element to the texts of its ``<label>``s (by
    ``for=`` or by containing it)."""
    found = {}
    by_id = None
    for label in document.iter('label'):
        text = _label_text(label)
        target = label.get('for')
        if target is not None:
            if by_id is None:
                by_id = {e.get('id'): e for e in document.iter(*_LABELABLE)
                         if e.get('id') is not None}
            element = by_id.get(target)
        else:
            element = next(
                (e for e in label.iter(*_LABELABLE)
                 if (e.get('type') or '').lower() != 'hidden'), None)
        if element is not None:
            found.setdefault(element, []).append(text)
    return found


def _label_text(label):
    """The text of a label, without the text of a control it contains
    (a select's options, a textarea's contents)."""
    parts = [label.text or '']
    for child in label:
        if isinstance(child.tag, str) and child.tag not in _NOT_LABEL_TEXT:
            parts.append(_label_text(child))
        parts.append(child.tail or '')
    return normalize(''.join(parts))
