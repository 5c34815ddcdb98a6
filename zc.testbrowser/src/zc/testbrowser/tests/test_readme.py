"""The README is the documentation and a doctest, run on both backends.

The Chromium run makes ``Browser(...)`` a Chromium browser by default
(``Browser.backend``) and shares one Chromium process through
``zc.testbrowser.chromium.Layer``. Parts only one backend can do are
fenced in the README by the comments ``.. fast backend only`` /
``.. chromium backend only`` and ``.. end``; the other run blanks them
(keeping the line numbers of what remains).
"""
import doctest
import re
import unittest

from zc.testbrowser import browser

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_FENCE = re.compile(r'^\.\. (fast|chromium) backend only\b.*?^\.\. end$',
                    re.MULTILINE | re.DOTALL)


class BackendParser(doctest.DocTestParser):
    """Keeps the README's examples for one backend."""

    def __init__(self, backend):
        self.backend = backend

    def parse(self, string, name='<string>'):
        def keep(fence):
            if fence.group(1) == self.backend:
                return fence.group(0)
            return '\n' * fence.group(0).count('\n')
        return super().parse(_FENCE.sub(keep, string), name)


def _use_chromium(test):
    browser.Browser.backend = 'chromium'


def _use_fast(test):
    browser.Browser.backend = 'fast'


def test_suite():
    from zc.testbrowser import chromium  # imports no Playwright yet
    fast = doctest.DocFileSuite(
        '../README.rst', parser=BackendParser('fast'), optionflags=FLAGS)
    real = doctest.DocFileSuite(
        '../README.rst', parser=BackendParser('chromium'),
        setUp=_use_chromium, tearDown=_use_fast, optionflags=FLAGS)
    real.layer = chromium.Layer
    return unittest.TestSuite([fast, real])
