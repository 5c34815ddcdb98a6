"""The state of HTML forms: which controls a form owns, their current
values, and the data a submission sends.

This is the model behind the public ``Form`` and control classes. It holds
the values a test sets (the parsed document is never changed), and its
objects ``repr`` the way mechanize did (``<TextControl(name=value)>``),
because error messages list them and existing doctests check those lines.
"""
import io
import urllib.parse
import uuid

from zc.testbrowser._matching import normalize

# input type -> mechanize kind (any other type is a TextControl)
_INPUT_KINDS = {
    'hidden': 'HiddenControl',
    'password': 'PasswordControl',
    'file': 'FileControl',
    'submit': 'SubmitControl',
    'image': 'ImageControl',
    'reset': 'IgnoreControl',
    'button': 'IgnoreControl',
    'radio': 'RadioControl',
    'checkbox': 'CheckboxControl',
}
_LISTS = ('RadioControl', 'CheckboxControl')
CONTROL_TAGS = ('input', 'select', 'textarea', 'button')


class FileUpload:
    """A file added to a file control: what multipart encoding sends."""

    def __init__(self, data, content_type, filename):
        if hasattr(data, 'read'):
            data = data.read()
        if isinstance(data, str):
            data = data.encode('utf-8')
        self.data = data
        self.content_type = content_type or 'application/octet-stream'
        self.filename = filename or ''


class Field:
    """One control of a form (a group of same-named radio buttons or
    checkboxes counts as one)."""

    is_list = False

    def __init__(self, element, kind, type):
        self.element = element
        self.kind = kind
        self.type = type
        self.name = element.get('name')
        self.id = element.get('id')
        self.disabled = element.get('disabled') is not None
        self.readonly = element.get('readonly') is not None
        self.labels = []  # the texts of its <label>s
        self.captions = []  # what a button shows: its value, text or alt

    @property
    def search_labels(self):
        """What a label search looks at."""
        return self.captions + self.labels

    def _flags(self):
        flags = [f for f in ('disabled', 'readonly') if getattr(self, f)]
        return f' ({", ".join(flags)})' if flags else ''

    def _repr_name(self):
        return '<None>' if self.name is None else self.name


class ScalarField(Field):
    """A control holding one string: text-like inputs, textarea, hidden,
    password; also the base of buttons and file inputs."""

    multiple = False

    def __init__(self, element, kind, type, value):
        super().__init__(element, kind, type)
        self.value = value
        if kind == 'HiddenControl':
            # A person cannot type into a hidden field.
            self.readonly = True

    def pairs(self, submitter, coord):
        return [(self.name, self.value)]

    def clear(self):
        self.value = ''

    def __repr__(self):
        return (f'<{self.kind}({self._repr_name()}={self.value})'
                f'{self._flags()}>')


class IgnoredField(ScalarField):
    """Reset and plain buttons: found and listed, never submitted."""

    def pairs(self, submitter, coord):
        return []


class SubmitField(ScalarField):
    """A submit button (``<input type=submit>`` or ``<button>``), or an
    image button: sent only when it is the one clicked."""

    def __init__(self, element, kind, type, value):
        super().__init__(element, kind, type, value)
        self.readonly = True

    @property
    def is_image(self):
        return self.kind == 'ImageControl'

    def pairs(self, submitter, coord):
        if submitter is not self:
            return []
        if self.is_image:
            x, y = coord
            prefix = f'{self.name}.' if self.name else ''
            return [(f'{prefix}x', str(x)), (f'{prefix}y', str(y))]
        return [(self.name, self.value)]

    def override(self, attribute):
        """The button's ``formaction``/``formmethod``/``formenctype``."""
        return self.element.get(attribute)


class FileField(ScalarField):
    """A file input; its value is the list of added files."""

    def __init__(self, element, kind, type):
        super().__init__(element, kind, type, None)
        self.multiple = element.get('multiple') is not None
        self.files = []

    @property
    def value(self):
        """The added file's name (names, if ``multiple``), or None."""
        names = [f.filename for f in self.files]
        if self.multiple:
            return names or None
        return names[0] if names else None

    @value.setter
    def value(self, value):
        if value is None:
            self.files = []
        else:
            raise AttributeError('use add_file() to add a file to a file '
                                 'control')

    def add(self, upload):
        if self.multiple:
            self.files.append(upload)
        else:
            self.files = [upload]

    def clear(self):
        self.files = []

    def pairs(self, submitter, coord):
        if not self.files:
            # What a browser sends for an empty file input.
            return [(self.name, FileUpload(b'', None, ''))]
        return [(self.name, f) for f in self.files]

    def __repr__(self):
        names = ', '.join(f.filename for f in self.files)
        return (f'<{self.kind}({self._repr_name()}='
                f'{names or "<No files added>"}){self._flags()}>')


class Item:
    """An option of a select, or one radio button or checkbox."""

    def __init__(self, element, value, selected, disabled, contents=None):
        self.element = element
        self.value = value
        self.selected = selected
        self.disabled = disabled
        self.contents = contents
        self.id = element.get('id')
        self.labels = [contents] if contents is not None else []

    @property
    def label(self):
        return self.labels[0] if self.labels else None

    def __repr__(self):
        return (f'<Item name={self.value!r} id={self.id!r} '
                f'contents={self.contents!r} value={self.value!r} '
                f'label={self.label!r}>')


class ListField(Field):
    """A select, or the radio buttons or checkboxes sharing a name."""

    is_list = True

    def __init__(self, element, kind, type, multiple):
        super().__init__(element, kind, type)
        self.multiple = multiple
        self.items = []

    @property
    def is_boolean(self):
        """A lone checkbox without a value is an on/off switch."""
        return (self.kind == 'CheckboxControl' and len(self.items) == 1
                and self.items[0].element.get('value') is None)

    def select(self, item, selected=True):
        if selected and not self.multiple:
            for other in self.items:
                other.selected = False
        item.selected = selected

    def selected_items(self):
        return [i for i in self.items if i.selected]

    def clear(self):
        for item in self.items:
            item.selected = False

    def pairs(self, submitter, coord):
        return [(self.name, i.value) for i in self.items
                if i.selected and not i.disabled]

    def __repr__(self):
        def show(item):
            text = ('*' if item.selected else '') + item.value
            return f'({text})' if item.disabled else text
        values = ', '.join(show(i) for i in self.items)
        return f'<{self.kind}({self._repr_name()}=[{values}]){self._flags()}>'


def _select_field(element):
    field = ListField(element, 'SelectControl', 'select',
                      element.get('multiple') is not None)
    for option in element.iter('option'):
        text = normalize(option.text_content())
        parent = option.getparent()
        disabled = option.get('disabled') is not None or (
            parent is not None and parent.tag == 'optgroup'
            and parent.get('disabled') is not None)
        value = option.get('value')
        item = Item(option, text if value is None else value,
                    option.get('selected') is not None, disabled,
                    contents=text)
        label = option.get('label')
        if label is not None:
            # Shown instead of the text, which still finds it.
            item.labels = [normalize(label), text]
        field.items.append(item)
    selected = field.selected_items()
    if not field.multiple:
        if selected:
            # Several 'selected' options on a single select: the last wins.
            for item in selected[:-1]:
                item.selected = False
        else:
            enabled = [i for i in field.items if not i.disabled]
            if enabled:
                enabled[0].selected = True
    return field


def make_field(element):
    """The field for a control element, or for radio/checkbox inputs an
    (unattached) Item plus the kind of group it belongs to."""
    tag = element.tag
    if tag == 'select':
        return _select_field(element)
    if tag == 'textarea':
        text = element.text or ''
        if text.startswith('\r\n'):
            text = text[2:]
        elif text.startswith('\n'):
            # HTML drops one newline right after <textarea>.
            text = text[1:]
        return ScalarField(element, 'TextareaControl', 'textarea', text)
    if tag == 'button':
        type = (element.get('type') or 'submit').lower()
        value = element.get('value') or ''
        if type == 'submit':
            field = SubmitField(element, 'SubmitButtonControl', 'submit',
                                value)
            field.captions.append(normalize(element.text_content()))
            return field
        field = IgnoredField(element, 'IgnoreControl', type, value)
        field.captions.append(normalize(element.text_content()))
        return field
    type = (element.get('type') or 'text').lower()
    kind = _INPUT_KINDS.get(type, 'TextControl')
    value = element.get('value')
    if kind in _LISTS:
        return Item(element, 'on' if value is None else value,
                    element.get('checked') is not None,
                    element.get('disabled') is not None)
    if kind == 'FileControl':
        return FileField(element, kind, type)
    if kind in ('SubmitControl', 'ImageControl'):
        field = SubmitField(element, kind, type, value or '')
        for caption in (value, element.get('alt')):
            if caption:
                field.captions.append(normalize(caption))
        if value is None and kind == 'SubmitControl':
            # What a browser shows on a submit button without a value.
            field.captions.append('Submit')
        return field
    if kind == 'IgnoreControl':
        return IgnoredField(element, kind, type, value or '')
    return ScalarField(element, kind, type, value or '')


class FormModel:
    """A form and the fields it owns, in document order. The model for
    controls that belong to no form has no element."""

    def __init__(self, element, index):
        self.element = element
        self.index = index
        self.fields = []
        self._groups = {}

    def get(self, attribute):
        return None if self.element is None else self.element.get(attribute)

    def target(self, page, button=None):
        """Where and how submitting with ``button`` (or none) sends the
        data: ``(method, action URL, enctype, charset)``. A button's
        ``formaction``/``formmethod``/``formenctype`` win over the form's
        attributes; an empty action is the page itself."""
        def attribute(name):
            value = button.override('form' + name) if button else None
            return value if value is not None else self.get(name)
        action = (attribute('action') or '').strip()
        action = page.resolve(action) if action else page.url
        method = (attribute('method') or 'get').upper()
        if method not in ('GET', 'POST'):
            method = 'GET'
        enctype = (attribute('enctype')
                   or 'application/x-www-form-urlencoded').lower()
        charsets = (self.get('accept-charset') or '').split()
        charset = charsets[0] if charsets else page.charset
        return method, action, enctype, charset

    def add(self, element, labels):
        """Give the form the control ``element``, with its label texts."""
        field = make_field(element)
        if isinstance(field, Item):
            item, kind = field, _INPUT_KINDS[element.get('type').lower()]
            item.labels = labels
            name = element.get('name')
            key = (kind, name) if name is not None else (kind, id(element))
            field = self._groups.get(key)
            if field is None:
                field = self._groups[key] = ListField(
                    element, kind, kind[:-7].lower(),
                    multiple=(kind == 'CheckboxControl'))
                self.fields.append(field)
            if not field.multiple and item.selected:
                for other in field.items:
                    other.selected = False
            field.items.append(item)
            # A group is disabled when each of its buttons is (a lone
            # checkbox when it is).
            field.disabled = all(i.disabled for i in field.items)
            return
        field.labels.extend(labels)
        self.fields.append(field)

    def pairs(self, submitter=None, coord=(1, 1)):
        """The (name, value) pairs a submission sends; values are strings
        or FileUploads."""
        pairs = []
        for field in self.fields:
            if field.disabled:
                continue
            for name, value in field.pairs(submitter, coord):
                if name:  # nameless controls are not submitted
                    pairs.append((name, value))
        return pairs


def encode(pairs, enctype, charset):
    """Encode submitted pairs; returns ``(body, content_type)``."""
    if enctype == 'multipart/form-data':
        return _multipart(pairs, charset)
    flat = [(name, value.filename if isinstance(value, FileUpload) else value)
            for name, value in pairs]
    if enctype == 'text/plain':
        body = ''.join(f'{n}={v}\r\n' for n, v in flat)
        return body.encode(charset, 'xmlcharrefreplace'), 'text/plain'
    return (urlencode(flat, charset).encode('ascii'),
            'application/x-www-form-urlencoded')


def urlencode(pairs, charset):
    return urllib.parse.urlencode(pairs, encoding=charset,
                                  errors='xmlcharrefreplace')


def _multipart(pairs, charset):
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in pairs:
        quoted = _quote_header(name)
        body.write(f'--{boundary}\r\n'.encode())
        if isinstance(value, FileUpload):
            body.write(
                f'Content-Disposition: form-data; name="{quoted}"; '
                f'filename="{_quote_header(value.filename)}"\r\n'
                f'Content-Type: {value.content_type}\r\n\r\n'
                .encode(charset, 'xmlcharrefreplace'))
            body.write(value.data)
        else:
            body.write(f'Content-Disposition: form-data; name="{quoted}"'
                       '\r\n\r\n'.encode(charset, 'xmlcharrefreplace'))
            body.write(value.encode(charset, 'xmlcharrefreplace'))
        body.write(b'\r\n')
    body.write(f'--{boundary}--\r\n'.encode())
    return body.getvalue(), f'multipart/form-data; boundary={boundary}'


def _quote_header(text):
    return (text.replace('\\', '\\\\').replace('"', '%22')
            .replace('\r', '%0D').replace('\n', '%0A'))
