"""The exceptions of zc.testbrowser.

They are defined here, below every other module, so that the page model and
the public classes can raise them without import cycles. Each one carries
the ``__module__`` under which the public API exposes it
(``zc.testbrowser.browser`` or ``zc.testbrowser.interfaces``): tracebacks
in doctests show that name, so a suite moving from zope.testbrowser only
changes the package prefix.
"""
import urllib.error


class BrowserStateError(Exception):
    """The browser is not in a state where the operation makes sense
    (no page loaded, not viewing HTML, nowhere to go back to)."""
    __module__ = 'zc.testbrowser.browser'


class LinkNotFoundError(IndexError):
    """No link on the page matches; the message lists the links there are.
    """
    __module__ = 'zc.testbrowser.browser'


class AmbiguityError(ValueError):
    """More than one control matches and no index was given; the message
    lists the matches."""
    __module__ = 'zc.testbrowser.browser'


class ItemCountError(ValueError):
    """More values than a single-choice list control can hold."""
    __module__ = 'zc.testbrowser.browser'


class ItemNotFoundError(ValueError):
    """A list control has no item with that value or label."""
    __module__ = 'zc.testbrowser.browser'


class HostNotAllowed(Exception):
    """An in-process browser was asked for a host its WSGI application
    does not serve (anything but localhost, 127.0.0.1 and example.*)."""
    __module__ = 'zc.testbrowser.browser'


class RobotExclusionError(urllib.error.HTTPError):
    """The site's robots.txt forbids the URL (only checked when
    ``Browser.checkRobots`` is true): an HTTP 403."""
    __module__ = 'zc.testbrowser.browser'


class ExpiredError(Exception):
    """A link or control of a page that is no longer the current page was
    used."""
    __module__ = 'zc.testbrowser.interfaces'


class AlreadyExpiredError(ValueError):
    """A cookie would be created with an expiration date in the past."""
    __module__ = 'zc.testbrowser.interfaces'
