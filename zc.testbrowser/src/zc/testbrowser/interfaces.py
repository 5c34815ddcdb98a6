"""The public interfaces of zc.testbrowser (the same names and members as
zope.testbrowser's, so ``verifyObject`` checks hold for both)."""
from zope.interface import Attribute, Interface

from zc.testbrowser._errors import AlreadyExpiredError, ExpiredError

__all__ = [
    'AlreadyExpiredError', 'ExpiredError', 'IBrowser', 'ICookies', 'IControl',
    'IForm', 'IImageSubmitControl', 'IItemControl', 'ILink', 'IListControl',
    'ISubmitControl',
]


class ICookies(Interface):
    """The browser's cookies that apply to one URL, as a mutable mapping of
    name to value, plus the details of each cookie."""

    url = Attribute('The URL the mapping is scoped to.')
    header = Attribute('The Cookie header sent to ``url``.')
    strict_domain_policy = Attribute(
        'If true, cookies may only be set for the exact host (no domain '
        'cookies); false by default.')

    def forURL(url):
        """The same cookies, scoped to another URL."""

    def getinfo(name):
        """A dict about the cookie: name, value, port, domain, path, secure,
        expires (an aware UTC datetime or None), comment, commenturl.
        KeyError if there is none."""

    def iterinfo(name=None):
        """Iterate the info dicts of all cookies for the URL, or of those
        called ``name``."""

    def create(name, value, domain=None, expires=None, path=None,
               secure=None, comment=None, commenturl=None, port=None):
        """Create a cookie. ValueError if it exists or the domain or path
        don't match the URL; AlreadyExpiredError if ``expires`` is past."""

    def change(name, value=None, domain=None, expires=None, path=None,
               secure=None, comment=None, commenturl=None, port=None):
        """Change an existing cookie; an expiration in the past deletes it.
        """

    def clearAll():
        """Remove every cookie, for every URL."""

    def clearAllSession():
        """Remove every session cookie (one without an expiration)."""

    def clear():
        """Remove the cookies of the URL."""

    def __getitem__(name):
        """The cookie's value."""

    def __setitem__(name, value):
        """Change the cookie's value, creating it if needed."""

    def __delitem__(name):
        """Remove the cookie."""

    def __iter__():
        """The cookie names."""

    def __len__():
        """The number of cookies."""

    def pop(name, default=None):
        """Remove the cookie and return its value."""


class IBrowser(Interface):
    """A programmable web browser."""

    url = Attribute('The URL of the current page (with its #fragment).')
    title = Attribute('The title of the HTML page, or None.')
    contents = Attribute('The body of the current page, decoded.')
    headers = Attribute(
        'The response headers (an http.client.HTTPMessage whose first field '
        'is a synthetic "Status").')
    cookies = Attribute('The cookies for the current URL (ICookies).')
    isHtml = Attribute('Whether the current page is HTML.')
    lastRequestSeconds = Attribute('How long the last request took.')
    handleErrors = Attribute(
        'If false, the application\'s exceptions reach the test.')
    followRedirects = Attribute('If false, 30x responses are returned.')
    raiseHttpErrors = Attribute('If true, status >= 400 raises HTTPError.')

    def addHeader(key, value):
        """Send this header with every later request."""

    def open(url, data=None, referrer=None):
        """Open a URL; with ``data``, POST it."""

    def post(url, data, content_type=None, referrer=None):
        """POST ``data`` to ``url`` as ``content_type``."""

    def reload():
        """Re-send the request of the current page."""

    def goBack(count=1):
        """Go back in the history without a request."""

    def getLink(text=None, url=None, id=None, index=0):
        """Find a link by text, URL or id."""

    def follow(text=None, url=None, id=None, index=0):
        """Same as ``getLink(...).click()``."""

    def getControl(label=None, name=None, index=None):
        """Find a form control by label or name."""

    def getForm(id=None, name=None, action=None, index=None):
        """Find a form by id, name or action."""


class ILink(Interface):

    text = Attribute('The text of the link, whitespace-normalised.')
    url = Attribute('The absolute URL it points to.')
    tag = Attribute("'a' or 'area'.")
    attrs = Attribute('The attributes of the element, a dict.')

    def click():
        """Follow the link."""


class IForm(Interface):

    action = Attribute('The absolute URL the form submits to.')
    method = Attribute("'GET' or 'POST'.")
    enctype = Attribute('The encoding of the submitted data.')
    name = Attribute('The name attribute, or None.')
    id = Attribute('The id attribute, or None.')
    controls = Attribute('The controls of the form.')

    def getControl(label=None, name=None, index=None):
        """Find a control of this form by label or name."""

    def submit(label=None, name=None, index=None, coord=None):
        """Submit, with the button found by label or name, or none."""


class IControl(Interface):

    name = Attribute('The name of the control.')
    value = Attribute('Its value (settable unless read-only).')
    type = Attribute("Its type: 'text', 'select', 'textarea', ...")
    disabled = Attribute('Whether it is disabled.')
    readonly = Attribute('Whether its value can be changed.')
    multiple = Attribute('Whether it takes several values.')
    labels = Attribute('The texts of its labels.')
    controls = Attribute('Its item controls (empty for scalar controls).')

    def clear():
        """Empty its value."""


class IListControl(IControl):

    options = Attribute('The values of its items.')
    displayOptions = Attribute('The labels of its items.')
    displayValue = Attribute('The labels of the selected items (settable).')

    def getControl(label=None, value=None, index=None):
        """Find one of its items by label or value."""


class ISubmitControl(IControl):

    def click():
        """Submit the form with this button."""


class IImageSubmitControl(ISubmitControl):

    def click(coord=(1, 1)):
        """Submit the form, clicking the image at ``coord``."""


class IItemControl(Interface):

    control = Attribute('The list control it belongs to.')
    disabled = Attribute('Whether it is disabled.')
    selected = Attribute('Whether it is selected (settable).')
    optionValue = Attribute('The value it submits.')

    def click():
        """Toggle a checkbox, select a radio button or option."""
