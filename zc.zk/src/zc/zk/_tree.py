"""The tree text format: parsing it, and writing a tree back out.

One item per line; nesting by indentation::

    /fooservice : service
      threads = 1
      database -> /databases/foomain
      color => /defaults favorite_color
      /providers

Property values are Python literals, read by ``ast.literal_eval``'s
rules and never evaluated: a tree file is data, and checking one with
``zookeeper_validate`` must not run what it says. ``->`` lines are node
links and ``=>`` lines property links. Each error names the line it was
found on.
"""
import ast
import json
import re

LINK = ' ->'
PROPERTY_LINK = ' =>'

_NAME = r'(?P<name>[^\s=/][^\s=]*)'
_PROPERTY_LINK = re.compile(_NAME + r'\s*=>\s*(?P<target>\S+(\s+\S+)?)$')
_PROPERTY = re.compile(_NAME + r'\s*=\s*(?P<value>.*)$')
_LINK = re.compile(_NAME + r'\s*->\s*(?P<target>\S+)$')
_NODE = re.compile(
    r'/(?P<name>[^\s/]+?)(?:(?:\s+:\s*|\s*:\s+)(?P<type>\S.*))?$')
# The values most trees hold, read without the cost of compiling an
# expression (ast.literal_eval takes most of the time of a large import):
# decimal integers of up to 18 digits, quoted strings without escapes,
# and the three constants. Anything else goes through literal_eval.
_PLAIN_NODE = re.compile(r'/([^\s/:]+)')   # no type: most node lines
_INT = r'-?(?:0|[1-9][0-9]{0,17})'
_IN_SINGLE_QUOTES = r"[^'\\]*"   # the text of a quoted string without
_IN_DOUBLE_QUOTES = r'[^"\\]*'   # escapes
_SIMPLE_INT = re.compile(_INT)
_SIMPLE_STRING = re.compile(
    f"'{_IN_SINGLE_QUOTES}'|\"{_IN_DOUBLE_QUOTES}\"")
# Most property lines at once: a name and a plain value (as above), in
# one match.
_PLAIN_PROPERTY = re.compile(
    _NAME + rf'\s*=\s*(?:(?P<int>{_INT})'
    rf"|'(?P<single>{_IN_SINGLE_QUOTES})'"
    rf'|"(?P<double>{_IN_DOUBLE_QUOTES})")$')
_CONSTANTS = {'True': True, 'False': False, 'None': None}


class TreeSyntaxError(ValueError):
    """A tree text that cannot be parsed; says why, and where."""

    def __init__(self, reason, lineno, line):
        super().__init__(f'line {lineno}: {reason}: {line.strip()!r}')
        self.reason = reason
        self.lineno = lineno
        self.line = line


class ParseNode:
    """A node of a parsed tree: a name, properties and named children."""

    def __init__(self, name='', properties=None, children=None):
        self.name = name
        self.properties = {} if properties is None else properties
        self.children = {} if children is None else children

    def __repr__(self):
        return f'<{type(self).__name__} {self.name!r}>'


def parse_tree(text, node_class=ParseNode):
    """Parse tree ``text`` into a root ``node_class`` instance (unnamed)
    whose ``children`` are the top-level nodes."""
    root = node_class()
    # Each level: [indentation of its items, the node they belong to].
    levels = [[None, root]]
    last_node = None    # the node on the last item line, if it was a node
    lineno, line = 0, ''

    def error(reason):  # about the line being parsed
        return TreeSyntaxError(reason, lineno, line)

    for lineno, line in enumerate(text.splitlines(), 1):
        if '\t' in line:
            line = line.expandtabs()
        line = line.rstrip()
        item = line.lstrip()
        if not item or item[0] == '#':
            continue
        indent = len(line) - len(item)

        level = levels[-1]
        if level[0] is None:
            level[0] = indent
        elif indent > level[0]:
            if last_node is None:
                raise error("Can't indent under properties")
            levels.append([indent, last_node])
        elif indent < level[0]:
            while len(levels) > 1 and levels[-1][0] > indent:
                levels.pop()
            if levels[-1][0] != indent:
                raise error('Invalid indentation')
        parent = levels[-1][1]

        last_node = None
        if '=>' in item:
            match = _PROPERTY_LINK.match(item)
            if match is None:
                raise error('Bad link format')
            _add_property(parent, match['name'] + PROPERTY_LINK,
                          match['target'], error)
        elif item[0] == '/':    # a node: no property name starts so
            match = _PLAIN_NODE.fullmatch(item) or _NODE.match(item)
            if match is None:
                raise error('Unrecognized data')
            name = match[1]
            if name in ('.', '..'):
                raise error('Bad node name')
            if name in parent.children:
                raise error('duplicate node')
            node = parent.children[name] = node_class(name)
            if match.re is _NODE and match['type']:
                node.properties['type'] = match['type'].strip()
            last_node = node
        elif match := _PLAIN_PROPERTY.match(item):
            kind = match.lastgroup
            _add_property(parent, match['name'],
                          int(match[kind]) if kind == 'int' else match[kind],
                          error)
        elif match := _PROPERTY.match(item):
            try:
                value = parse_value(match['value'])
            except ValueError as exc:
                raise error(f'Bad property value ({exc})') from None
            _add_property(parent, match['name'], value, error)
        elif match := _LINK.match(item):
            _add_property(parent, match['name'] + LINK, match['target'], error)
        else:
            raise error('Unrecognized data')
    return root


def parse_value(text):
    """The property value written as ``text``: a Python literal (string,
    number, list, tuple, dict, True, False or None) that JSON can store.

    Nothing is evaluated, so a value is refused (ValueError saying why)
    rather than computed: ``2 ** 10`` or ``len('abc')`` are expressions.
    """
    text = text.strip()
    if _SIMPLE_INT.fullmatch(text):
        return int(text)
    if _SIMPLE_STRING.fullmatch(text):
        return text[1:-1]
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if not text:
        raise ValueError('no value')
    try:
        value = ast.literal_eval(text)
    except SyntaxError as error:
        raise ValueError(error.msg if error.msg == 'invalid syntax'
                         else f'invalid syntax: {error.msg}') from None
    except (ValueError, TypeError, MemoryError, RecursionError):
        raise ValueError('not a Python literal: values are quoted strings,'
                         ' numbers, lists, tuples, dicts, True, False or'
                         ' None, never expressions') from None
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError('not storable as JSON: no sets, bytes, complex'
                         ' or infinite numbers') from None
    return value


def _add_property(node, name, value, error):
    if name in node.properties:
        raise error('duplicate property')
    node.properties[name] = value


def format_node(name, properties, children, indent=''):
    """The text of one node: ``/name`` (with its type), its properties and
    links sorted, then its children, formatted the same way.

    ``children`` is an iterable of ``(name, properties, children)``.
    """
    properties = dict(properties)
    kind = properties.pop('type', None)
    lines = [f'{indent}/{name}' + (f' : {kind}' if isinstance(kind, str)
                                   else '')]
    if kind is not None and not isinstance(kind, str):
        properties['type'] = kind
    inner = indent + '  '
    links = []
    for key in sorted(properties):
        value = properties[key]
        if key.endswith(LINK):
            links.append(f'{inner}{key[:-len(LINK)]} -> {value}')
        elif key.endswith(PROPERTY_LINK):
            lines.append(f'{inner}{key[:-len(PROPERTY_LINK)]} => {value}')
        else:
            lines.append(f'{inner}{key} = {value!r}')
    lines.extend(links)
    text = '\n'.join(lines) + '\n'
    for child in children:
        text += format_node(*child, indent=inner)
    return text
