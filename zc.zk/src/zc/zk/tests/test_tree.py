"""The tree text format, node data encoding, addresses and ACL specs."""
import ast
import logging
import os
import tempfile
import textwrap
import unittest

from kazoo.security import ACL, Id, Permissions, make_digest_acl

import zc.zk
from zc.zk._security import parse_permissions
from zc.zk._tree import format_node


def parse(text):
    return zc.zk.parse_tree(textwrap.dedent(text))


class ParseTreeTests(unittest.TestCase):

    def test_nodes_properties_and_links(self):
        root = parse('''
            # comment
            /a : a type
              x = 1
              y = [1, 'two']
              other -> ../b
              z => ../b y2

              /c
                /d
              w = {'k': None}
            /b
              y2 = -1024
        ''')
        self.assertEqual(sorted(root.children), ['a', 'b'])
        a = root.children['a']
        self.assertEqual(a.properties, {
            'type': 'a type', 'x': 1, 'y': [1, 'two'], 'other ->': '../b',
            'z =>': '../b y2', 'w': {'k': None}})
        self.assertEqual(list(a.children['c'].children), ['d'])
        self.assertEqual(root.children['b'].properties, {'y2': -1024})
        self.assertEqual(root.properties, {})

    def test_node_names_may_hold_colons(self):
        root = parse('''
            /127.0.0.1:8080
            /name: t
        ''')
        self.assertEqual(sorted(root.children), ['127.0.0.1:8080', 'name'])
        self.assertEqual(root.children['name'].properties, {'type': 't'})
        self.assertEqual(root.children['127.0.0.1:8080'].properties, {})

    def test_custom_node_class(self):
        class Node(zc.zk.ParseNode):
            pass
        root = zc.zk.parse_tree('/a\n  /b\n', node_class=Node)
        self.assertIsInstance(root, Node)
        self.assertIsInstance(root.children['a'].children['b'], Node)

    def test_top_level_properties_parse(self):
        self.assertEqual(parse('x = 1\n/a\n').properties, {'x': 1})

    def assertError(self, text, lineno, reason):
        with self.assertRaises(zc.zk.TreeSyntaxError) as caught:
            parse(text)
        self.assertIsInstance(caught.exception, ValueError)
        self.assertEqual((caught.exception.lineno, caught.exception.reason),
                         (lineno, reason))
        self.assertTrue(str(caught.exception).startswith(
            f'line {lineno}: {reason}: '), str(caught.exception))

    def test_errors_name_line_and_reason(self):
        self.assertError('/a\n  x => \n', 2, 'Bad link format')
        self.assertError('/a\n  x => a b c\n', 2, 'Bad link format')
        self.assertError('/a\n  what is this\n', 2, 'Unrecognized data')
        self.assertError('/a\n  x = 1\n    y = 2\n', 3,
                         "Can't indent under properties")
        self.assertError('/a\n    /b\n  /c\n', 3, 'Invalid indentation')
        self.assertError('/a\n/a\n', 2, 'duplicate node')
        self.assertError('/a\n  x = 1\n  x = 2\n', 3, 'duplicate property')
        self.assertError('/a : t\n  type = 1\n', 2, 'duplicate property')
        self.assertError('/a\n  x = (\n', 2,
                         "Bad property value (invalid syntax: '(' was never"
                         " closed)")
        self.assertError('/a\n  x =\n', 2, 'Bad property value (no value)')
        self.assertError('/..\n', 1, 'Bad node name')
        self.assertError('  /a\n/b\n', 2, 'Invalid indentation')

    def test_property_values_are_literals(self):
        values = {
            "'text'": 'text', '"double"': 'double', "u'é'": 'é',
            '42': 42, '-1': -1, '2.5': 2.5, '-1e3': -1000.0,
            'True': True, 'False': False, 'None': None,
            "[1, 'two', [3]]": [1, 'two', [3]], '(1, 2)': (1, 2),
            "{'k': None, 'n': {'x': 1.5}}": {'k': None, 'n': {'x': 1.5}},
            "'a' 'b'": 'ab', '[]': [], '{}': {},
        }
        for text, value in values.items():
            self.assertEqual(parse(f'/a\n  x = {text}\n')
                             .children['a'].properties, {'x': value}, text)

    def test_plain_values_read_as_literal_eval_reads_them(self):
        # Integers and unescaped strings are read by a regular expression
        # (they are most of a large tree); they and their near misses,
        # which go through literal_eval, read as literal_eval reads them.
        for text in ["0", "-0", "7", "-42", "9" * 18, "9" * 19, "-" + "9" * 25,
                     "''", '""', "'it\"s'", '"it\'s"', r"'a\'b'", r"'\n'",
                     "'a' 'b'", "'='", "'x = 1'", "0x1f", "1_000"]:
            for line in (f'x = {text}', f'x={text}', f'x  =\t{text}'):
                self.assertEqual(
                    parse(f'/a\n  {line}\n').children['a'].properties,
                    {'x': ast.literal_eval(text)}, line)
        with self.assertRaises(zc.zk.TreeSyntaxError) as caught:
            parse('/a\n  x = 007\n')     # not a literal, not plain either
        self.assertTrue(caught.exception.reason.startswith(
            'Bad property value ('))

    def test_property_values_are_never_evaluated(self):
        # The file must be safe to validate: nothing in it runs.
        marker = os.path.join(tempfile.mkdtemp(), 'ran')
        self.addCleanup(os.rmdir, os.path.dirname(marker))
        not_literal = ('Bad property value (not a Python literal: values are'
                       ' quoted strings, numbers, lists, tuples, dicts, True,'
                       ' False or None, never expressions)')
        for text in (f'open({marker!r}, "w")',
                     f'__import__("os").mkdir({marker!r})',
                     '2 ** 10', 'len("abc")', 'red', '[x for x in "ab"]',
                     'lambda: 1', '(yield)', 'f"{1}"'):
            self.assertError(f'/a\n  x = {text}\n', 2, not_literal)
        self.assertFalse(os.path.exists(marker))

    def test_values_json_cannot_store_are_refused(self):
        for text in ('{1, 2}', "b'x'", '1+2j', '1e999', "[{'s': {1}}]"):
            self.assertError(f'/a\n  x = {text}\n', 2,
                             'Bad property value (not storable as JSON: no'
                             ' sets, bytes, complex or infinite numbers)')


class FormatTests(unittest.TestCase):

    def test_round_trip(self):
        text = textwrap.dedent('''\
            /a : t
              b = 'x'
              c = [1, 2]
              p => ../d b
              l -> /e
              /b
              /c
                z = None
        ''')
        root = zc.zk.parse_tree(text)

        def tuples(node):
            return (node.name, node.properties,
                    [tuples(c) for _, c in sorted(node.children.items())])
        self.assertEqual(format_node(*tuples(root.children['a'])), text)

    def test_non_string_type_is_a_plain_property(self):
        self.assertEqual(format_node('a', {'type': 1}, []),
                         '/a\n  type = 1\n')


class EncodingTests(unittest.TestCase):

    def test_round_trips(self):
        for properties in ({}, {'a': 1}, {'s': 'é', 'l': [1, None, True]},
                           {'string_value': 'raw text'}):
            self.assertEqual(zc.zk.decode(zc.zk.encode(properties)),
                             properties)

    def test_compact_json(self):
        self.assertEqual(zc.zk.encode({'a': [1, 2], 'b': 'c'}),
                         b'{"a":[1,2],"b":"c"}')

    def test_string_value_with_other_keys_is_json(self):
        self.assertEqual(zc.zk.encode({'string_value': 'x', 'a': 1}),
                         b'{"string_value":"x","a":1}')

    def test_non_object_json_and_bad_json(self):
        self.assertEqual(zc.zk.decode(b'[1, 2]'), {'string_value': '[1, 2]'})
        self.assertEqual(zc.zk.decode('plain'), {'string_value': 'plain'})
        with self.assertLogs('zc.zk._data', logging.WARNING) as logs:
            self.assertEqual(zc.zk.decode(b'{bad', '/n'),
                             {'string_value': '{bad'})
        self.assertIn('bad JSON data in /n', logs.output[0])

    def test_undecodable_bytes_survive(self):
        raw = b'\xff\xfe binary'
        self.assertEqual(zc.zk.encode(zc.zk.decode(raw)), raw)


class AddressTests(unittest.TestCase):

    def test_parse_addr(self):
        self.assertEqual(zc.zk.parse_addr('example.com:8080'),
                         ('example.com', 8080))
        self.assertEqual(zc.zk.parse_addr(':8080'), ('', 8080))
        self.assertEqual(zc.zk.parse_addr('[::1]:81'), ('::1', 81))
        for bad in ('example.com', 'host:port', ''):
            with self.assertRaises(ValueError):
                zc.zk.parse_addr(bad)


class ACLTests(unittest.TestCase):

    def test_permissions(self):
        self.assertEqual(parse_permissions('all'), Permissions.ALL)
        self.assertEqual(parse_permissions('rw'),
                         Permissions.READ | Permissions.WRITE)
        self.assertEqual(parse_permissions('5'), 5)
        with self.assertRaises(ValueError):
            parse_permissions('rx')

    def test_specs(self):
        self.assertEqual(zc.zk.parse_acl('world:anyone:r'),
                         [ACL(Permissions.READ, Id('world', 'anyone'))])
        self.assertEqual(zc.zk.parse_acl('ip:127.0.0.1:all'),
                         [ACL(Permissions.ALL, Id('ip', '127.0.0.1'))])
        self.assertEqual(zc.zk.parse_acl('digest:bob:secret:all'),
                         [make_digest_acl('bob', 'secret', all=True)])
        self.assertEqual(zc.zk.digest_acl('bob', 'secret', Permissions.READ),
                         [make_digest_acl('bob', 'secret', read=True)])
        for bad in ('world', 'digest:bob:r', 'nope:x:r', 'world:anyone:q'):
            with self.assertRaises(ValueError):
                zc.zk.parse_acl(bad)


class GraphvisTests(unittest.TestCase):

    def test_service_links_become_edges(self):
        from zc.zk import graphvis
        text = textwrap.dedent('''
            /app
              db -> /db/providers
              cache -> ../cache
              config -> /config
              /providers
            /db
              /providers
            /cache
              /providers
            /config
        ''')
        self.assertEqual(graphvis.dot(text), textwrap.dedent('''\
            digraph services {
              "/app";
              "/cache";
              "/db";
              "/app" -> "/cache" [label="cache"];
              "/app" -> "/db" [label="db"];
            }
        '''))
