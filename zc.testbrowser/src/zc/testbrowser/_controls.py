"""The public objects a page hands out: links, forms, controls and list
items. Each is a thin view over the page model (``_page``/``_forms``) that
remembers which page it came from, so that using it after the browser
moved on raises ``ExpiredError`` instead of acting on a page the user no
longer sees.
"""
from zope.interface import implementer

from zc.testbrowser import interfaces
from zc.testbrowser._errors import (
    ExpiredError, ItemCountError, ItemNotFoundError)
from zc.testbrowser._forms import FileUpload
from zc.testbrowser._matching import (
    choose, describe, normalize, word_matcher)


class Strict:
    """Refuses to set attributes that don't exist, so that a typo such as
    ``browser.handleError = False`` fails instead of being ignored."""

    __slots__ = ()

    def __setattr__(self, name, value):
        if not name.startswith('_') and not hasattr(type(self), name):
            raise AttributeError(
                f'{type(self).__name__!r} object has no attribute {name!r}')
        super().__setattr__(name, value)


def _shown(holder, name):
    """A read-only attribute that shows attribute ``name`` of the page-model
    object held in ``holder`` (``'_model'``, ``'_field'``, ``'_item'``)."""
    return property(lambda self: getattr(getattr(self, holder), name))


class _OnPage(Strict):
    """Something found on a page; expires when the browser leaves it."""

    def __init__(self, browser, page):
        self._browser = browser
        self._page = page

    def _check_current(self):
        if not self._browser._is_current(self._page):
            raise ExpiredError(
                f'{self!r} belongs to a page the browser has left')


@implementer(interfaces.ILink)
class Link(_OnPage):

    def __init__(self, browser, page, model):
        super().__init__(browser, page)
        self._model = model

    url = _shown('_model', 'url')
    text = _shown('_model', 'text')
    tag = _shown('_model', 'tag')
    attrs = _shown('_model', 'attrs')

    def click(self):
        self._check_current()
        self._browser._follow(self._page, self._model)

    def __repr__(self):
        return f'<{type(self).__name__} text={self.text!r} url={self.url!r}>'


# -- forms -----------------------------------------------------------------

def find_control(browser, page, forms, label, name, index, kinds=None):
    """The control or item on ``forms`` with that label or name, wrapped;
    ``kinds`` restricts the search to fields of those (mechanize) kinds.
    """
    if (label is None) == (name is None):
        raise ValueError(
            'Supply one and only one of "label" and "name" as arguments')
    matches = []

    def fields(form):
        return [f for f in form.fields if kinds is None or f.kind in kinds]

    if name is not None:
        what = f'name {describe(name)}'
        for form in forms:
            matches.extend((form, field, None) for field in fields(form)
                           if field.name == name)
    else:
        what = f'label {describe(label)}'
        match = word_matcher(label)
        for form in forms:
            for field in fields(form):
                if field.kind == 'HiddenControl':
                    continue
                if any(map(match, field.search_labels)):
                    matches.append((form, field, None))
                if field.is_list:
                    matches.extend(
                        (form, field, item) for item in field.items
                        if any(map(match, item.labels)))

    if len(matches) > 1:
        # Forms group controls (radio buttons by name, controls outside
        # any form last); ``index`` counts in the order a person reads.
        order = page.element_order
        matches.sort(key=lambda m: order[
            (m[2] if m[2] is not None else m[1]).element])

    def available():
        """Each control; for a label search also its labels (what the
        search looked at) and its items."""
        for form in forms:
            for field in fields(form):
                if label is None:
                    yield repr(field)
                    continue
                if field.kind == 'HiddenControl':
                    continue
                yield repr(field) + ''.join(
                    f' label={text!r}' for text in field.labels)
                if field.is_list:
                    yield from ('  ' + repr(item) for item in field.items)

    form, field, item = choose(
        matches, index, what, available,
        describe=lambda m: repr(m[2] if m[2] is not None else m[1]))
    if item is not None:
        return ItemControl(browser, page, form, field, item)
    return control_for(browser, page, form, field)


def control_for(browser, page, form, field):
    if field.is_list:
        cls = (CheckboxListControl if field.kind == 'CheckboxControl'
               else ListControl)
    elif field.kind == 'ImageControl':
        cls = ImageControl
    elif field.kind in ('SubmitControl', 'SubmitButtonControl'):
        cls = SubmitControl
    elif field.kind == 'IgnoreControl':
        cls = ButtonControl
    else:
        cls = Control
    return cls(browser, page, form, field)


@implementer(interfaces.IForm)
class Form(_OnPage):

    def __init__(self, browser, page, model):
        super().__init__(browser, page)
        self._model = model

    @property
    def action(self):
        return self._model.target(self._page)[1]

    @property
    def method(self):
        return self._model.target(self._page)[0]

    @property
    def enctype(self):
        return self._model.target(self._page)[2]

    @property
    def name(self):
        return self._model.get('name')

    @property
    def id(self):
        return self._model.get('id')

    @property
    def controls(self):
        return [control_for(self._browser, self._page, self._model, field)
                for field in self._model.fields]

    def getControl(self, label=None, name=None, index=None):
        return find_control(self._browser, self._page, [self._model],
                            label, name, index)

    def submit(self, label=None, name=None, index=None, coord=None):
        self._check_current()
        buttons = [f for f in self._model.fields
                   if f.kind in _SUBMIT_KINDS]
        if label is None and name is None:
            if index is None:
                self._browser._submit(self._page, self._model, None, None)
                return
            button = choose(buttons, index, 'submit button',
                            lambda: map(repr, buttons))
        else:
            button = find_control(self._browser, self._page, [self._model],
                                  label, name, index, _SUBMIT_KINDS)._field
        self._browser._submit(self._page, self._model, button,
                              coord or (1, 1))

    def __repr__(self):
        return (f'<{type(self).__name__} action={self.action!r} '
                f'method={self.method!r}>')


_SUBMIT_KINDS = ('SubmitControl', 'SubmitButtonControl', 'ImageControl')


@implementer(interfaces.IControl)
class Control(_OnPage):
    """A control holding a single value: text-like inputs, password,
    hidden, textarea, file (and reset/plain buttons)."""

    def __init__(self, browser, page, form, field):
        super().__init__(browser, page)
        self._form = form
        self._field = field

    name = _shown('_field', 'name')
    type = _shown('_field', 'type')
    disabled = _shown('_field', 'disabled')
    readonly = _shown('_field', 'readonly')
    multiple = _shown('_field', 'multiple')

    @property
    def labels(self):
        return list(self._field.labels)

    @property
    def controls(self):
        return []

    @property
    def value(self):
        return self._field.value

    @value.setter
    def value(self, value):
        self._check_changeable()
        self._field.value = value
        self._browser._changed(self._page, self._field)

    def _check_changeable(self):
        self._check_current()
        if self._field.readonly:
            raise AttributeError('Trying to set value of readonly control')
        if self._field.disabled:
            raise AttributeError('Trying to set value of disabled control')

    def clear(self):
        self._check_changeable()
        self._field.clear()
        self._browser._changed(self._page, self._field)

    def add_file(self, file, content_type, filename):
        """Attach a file (a file object, bytes or str) to a file control.
        """
        if self._field.kind != 'FileControl':
            raise TypeError(f'{self!r} is not a file control')
        self._check_changeable()
        self._field.add(FileUpload(file, content_type, filename))
        self._browser._changed(self._page, self._field)

    def __repr__(self):
        return f'<{type(self).__name__} name={self.name!r} type={self.type!r}>'


class ButtonControl(Control):
    """A button that submits nothing (``type=button`` or ``reset``): what
    clicking it does is up to the page's scripts, so it does something
    only in a browser that runs them. It shows itself as a ``Control``.
    """

    def click(self):
        self._check_current()
        self._browser._press(self._page, self._field)

    def __repr__(self):
        return f'<Control name={self.name!r} type={self.type!r}>'


@implementer(interfaces.ISubmitControl)
class SubmitControl(Control):

    def click(self):
        self._check_current()
        self._browser._submit(self._page, self._form, self._field, (1, 1))


@implementer(interfaces.IImageSubmitControl)
class ImageControl(SubmitControl):

    def click(self, coord=(1, 1)):
        self._check_current()
        self._browser._submit(self._page, self._form, self._field, coord)


@implementer(interfaces.IListControl)
class ListControl(Control):
    """A select, or radio buttons sharing a name."""

    @property
    def options(self):
        if self._field.is_boolean:
            return [True]
        return [item.value for item in self._field.items]

    @property
    def displayOptions(self):
        return [item.label for item in self._field.items]

    @property
    def value(self):
        if self._field.is_boolean:
            return self._field.items[0].selected
        return [item.value for item in self._field.selected_items()]

    @value.setter
    def value(self, values):
        self._check_changeable()
        field = self._field
        if field.is_boolean and isinstance(values, bool):
            field.items[0].selected = values
            self._browser._changed(self._page, field)
            return
        values = [values] if isinstance(values, str) else list(values)
        items = [self._item_by_value(v) for v in values]
        self._select_only(items)

    @property
    def displayValue(self):
        return [item.label for item in self._field.selected_items()]

    @displayValue.setter
    def displayValue(self, labels):
        self._check_changeable()
        labels = [labels] if isinstance(labels, str) else list(labels)
        self._select_only([self._item_by_label(label) for label in labels])

    def _select_only(self, items):
        field = self._field
        if len(items) > 1 and not field.multiple:
            raise ItemCountError(
                f'{self!r} takes a single value, not {len(items)}')
        for item in items:
            if item.disabled:
                raise AttributeError(
                    f'item {item.value!r} of {self!r} is disabled')
        for item in field.items:
            item.selected = any(item is chosen for chosen in items)
        self._browser._changed(self._page, field)

    def _item_by_value(self, value):
        for item in self._field.items:
            if item.value == value:
                return item
        raise ItemNotFoundError(
            f'{value!r} is not an option of {self!r}; options: '
            f'{self.options!r}')

    def _item_by_label(self, label):
        items = self._field.items
        exact = [i for i in items if normalize(label) in i.labels]
        if len(exact) == 1:
            return exact[0]
        match = word_matcher(label)
        found = exact or [i for i in items if any(map(match, i.labels))]
        if not found:
            raise ItemNotFoundError(
                f'{label!r} is not a label of {self!r}; labels: '
                f'{self.displayOptions!r}')
        return choose(found, None, f'label {describe(label)}', list)

    @property
    def controls(self):
        return [ItemControl(self._browser, self._page, self._form,
                            self._field, item) for item in self._field.items]

    def getControl(self, label=None, value=None, index=None):
        if (label is None) == (value is None):
            raise ValueError(
                'Supply one and only one of "label" and "value" as '
                'arguments')
        items = self._field.items
        if label is not None:
            what = f'label {describe(label)}'
            match = word_matcher(label)
            found = [i for i in items if any(map(match, i.labels))]
        else:
            what = f'value {describe(value)}'
            found = [i for i in items if i.value == value]
        item = choose(found, index, what, lambda: map(repr, items))
        return ItemControl(self._browser, self._page, self._form,
                           self._field, item)


class CheckboxListControl(ListControl):
    """Checkboxes sharing a name (a lone one without a value is a boolean).
    It shows itself as a ``ListControl``, like the other list controls.
    """

    def __repr__(self):
        return f'<ListControl name={self.name!r} type={self.type!r}>'


@implementer(interfaces.IItemControl)
class ItemControl(_OnPage):
    """One option, radio button or checkbox."""

    def __init__(self, browser, page, form, field, item):
        super().__init__(browser, page)
        self._form = form
        self._field = field
        self._item = item

    @property
    def control(self):
        return control_for(self._browser, self._page, self._form,
                           self._field)

    name = _shown('_field', 'name')
    type = _shown('_field', 'type')

    @property
    def disabled(self):
        return self._item.disabled or self._field.disabled

    optionValue = _shown('_item', 'value')

    @property
    def labels(self):
        return list(self._item.labels)

    @property
    def selected(self):
        return self._item.selected

    @selected.setter
    def selected(self, value):
        self._check_current()
        if self.disabled:
            raise AttributeError(f'{self!r} is disabled')
        if self._field.readonly:
            raise AttributeError('Trying to set value of readonly control')
        self._field.select(self._item, bool(value))
        self._browser._changed(self._page, self._field)

    def click(self):
        if self._field.kind == 'RadioControl':
            self.selected = True
        elif self._field.multiple:
            self.selected = not self.selected
        else:
            self.selected = True

    def __repr__(self):
        return (f'<{type(self).__name__} name={self.name!r} '
                f'type={self.type!r} optionValue={self.optionValue!r} '
                f'selected={self.selected!r}>')
