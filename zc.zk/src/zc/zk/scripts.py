"""The console scripts: export, import, validate and set properties.

Each prints a one-line reason on stderr and exits non-zero for the errors
users make (a bad tree, an unreachable server, a missing node...), rather
than a traceback.
"""
import argparse
import contextlib
import functools
import logging
import sys

import kazoo.exceptions
from kazoo.security import Permissions

import zc.zk
from zc.zk._security import parse_acl, world_acl
from zc.zk._tree import parse_value

DEFAULT_TIMEOUT = 10.0


class _UserError(Exception):
    """Stops a script with a one-line message."""


def _script(function):
    """Run ``function(argv)`` as a console script: user errors become one
    line on stderr and exit status 1 (2 for bad usage, from argparse)."""
    prog = 'zookeeper_' + function.__name__.rstrip('_')

    @functools.wraps(function)
    def main(argv=None):
        # kazoo logs connection trouble; the one-line error says enough.
        logging.getLogger('kazoo').setLevel(logging.CRITICAL)
        try:
            function(sys.argv[1:] if argv is None else argv)
        except _UserError as error:
            print(f'{prog}: {error}', file=sys.stderr)
            sys.exit(1)
    return main


def _parser(name, description):
    return argparse.ArgumentParser(prog=f'zookeeper_{name}',
                                   description=description)


def _add_connection(parser):
    parser.add_argument(
        'connection',
        help='ZooKeeper connection string: host:port[,host:port...][/chroot]')
    parser.add_argument(
        '--auth', metavar='USER:PASSWORD',
        help='authenticate with ZooKeeper digest authentication')
    parser.add_argument(
        '--timeout', type=float, default=DEFAULT_TIMEOUT, metavar='SECONDS',
        help='give up connecting after this long (default %(default)s)')


@contextlib.contextmanager
def _connected(options):
    try:
        zk = zc.zk.ZooKeeper(options.connection, auth=options.auth,
                             connect_timeout=options.timeout)
    except zc.zk.FailedConnect as error:
        raise _UserError(f"can't connect to ZooKeeper at {error}") from None
    except ValueError as error:  # a bad connection string or --auth
        raise _UserError(error) from None
    try:
        yield zk
    except kazoo.exceptions.NoNodeError as error:
        raise _UserError(f'no such node: {_path_of(error)}') from None
    except kazoo.exceptions.NoAuthError:
        raise _UserError('not allowed (ACL): use --auth with a user the'
                         ' ACL permits') from None
    except (kazoo.exceptions.ConnectionLoss,
            kazoo.exceptions.SessionExpiredError) as error:
        raise _UserError(f'lost the connection to ZooKeeper at'
                         f' {options.connection}'
                         f' ({type(error).__name__})') from None
    finally:
        zk.close()


def _path_of(error):
    return error.args[0] if error.args else '(unknown path)'


def _read(filename):
    """``(source, text)`` of a tree file (UTF-8), or of stdin for ``-``."""
    source = '<stdin>' if filename in (None, '-') else filename
    try:
        if source == '<stdin>':
            data = sys.stdin.buffer.read()
        else:
            with open(filename, 'rb') as f:
                data = f.read()
        return source, data.decode('utf-8')
    except OSError as error:
        raise _UserError(f'cannot read {source}: {error.strerror}') from None
    except UnicodeDecodeError as error:
        lineno = data.count(b'\n', 0, error.start) + 1
        raise _UserError(f'{source}, line {lineno}: not UTF-8 text (byte'
                         f' {data[error.start]:#04x})') from None


def _parse(source, text):
    try:
        zc.zk.parse_tree(text)
    except zc.zk.TreeSyntaxError as error:
        raise _UserError(f'{source}, {error}') from None


@_script
def export(argv):
    """zookeeper_export: write a ZooKeeper tree in the tree text format."""
    parser = _parser('export', 'Print a ZooKeeper tree in the zc.zk tree'
                     ' text format.')
    _add_connection(parser)
    parser.add_argument('path', nargs='?', default='/',
                        help='the top of the tree to export (default /)')
    parser.add_argument('-e', '--ephemeral', action='store_true',
                        help='include ephemeral nodes (registered servers)')
    parser.add_argument('-o', '--output', metavar='FILE',
                        help='write to FILE instead of standard output')
    options = parser.parse_args(argv)
    with _connected(options) as zk:
        text = zk.export_tree(options.path, ephemeral=options.ephemeral)
    if options.output:
        try:
            with open(options.output, 'w') as f:
                f.write(text)
        except OSError as error:
            raise _UserError(f'cannot write {options.output}:'
                             f' {error.strerror}') from None
    else:
        sys.stdout.write(text)


@_script
def import_(argv):
    """zookeeper_import: load a tree text into ZooKeeper."""
    parser = _parser('import', 'Create or update ZooKeeper nodes from a'
                     ' zc.zk tree text.')
    _add_connection(parser)
    parser.add_argument('file', nargs='?', default='-',
                        help='the tree text (default, or -: standard input)')
    parser.add_argument('path', nargs='?', default='/',
                        help='where to import it (default /)')
    parser.add_argument('-d', '--dry-run', action='store_true',
                        help='only print what would change')
    parser.add_argument('-t', '--trim', action='store_true',
                        help='delete children of imported nodes that the'
                             ' text does not list (never ephemeral nodes)')
    parser.add_argument('-p', '--permission', type=int,
                        default=Permissions.ALL, metavar='INT',
                        help='permission bits for everyone on the imported'
                             ' nodes (default %(default)s: all)')
    parser.add_argument('--acl', action='append', metavar='SPEC',
                        help='ACL entry for the imported nodes instead of'
                             ' --permission: world:anyone:PERMS,'
                             ' digest:USER:PASSWORD:PERMS or ip:ADDR:PERMS'
                             ' (PERMS from rwcda, or all); repeatable')
    options = parser.parse_args(argv)
    try:
        acl = ([entry for spec in options.acl for entry in parse_acl(spec)]
               if options.acl else world_acl(options.permission))
    except ValueError as error:
        raise _UserError(error) from None
    source, text = _read(options.file)
    _parse(source, text)
    with _connected(options) as zk:
        try:
            zk.import_tree(text, options.path, trim=options.trim or None,
                           acl=acl, dry_run=options.dry_run)
        except ValueError as error:  # properties above the nodes
            raise _UserError(f'{source}: {error}') from None


@_script
def validate(argv):
    """zookeeper_validate: check a tree text without connecting."""
    parser = _parser('validate', 'Check that a zc.zk tree text parses.')
    parser.add_argument('file', nargs='?', default='-',
                        help='the tree text (default, or -: standard input)')
    options = parser.parse_args(argv)
    _parse(*_read(options.file))


@_script
def set_property(argv):
    """zookeeper_set_property: change properties of one node."""
    parser = _parser('set_property', 'Set properties of a ZooKeeper node;'
                     ' each value is a Python literal (never evaluated).')
    _add_connection(parser)
    parser.add_argument('path', help='the node')
    parser.add_argument('settings', nargs='+', metavar='NAME=VALUE',
                        help="e.g. threads=4 'color=\"red\"'")
    options = parser.parse_args(argv)
    changes = {}
    for setting in options.settings:
        name, sep, text = setting.partition('=')
        if not sep or not name:
            raise _UserError(f'expected NAME=VALUE, got {setting!r}')
        try:
            changes[name.strip()] = parse_value(text)
        except ValueError as error:
            raise _UserError(f'bad value for {name}: {text!r}'
                             f' ({error})') from None
    with _connected(options) as zk:
        try:
            zk.properties(options.path, watch=False).update(changes)
        except ValueError as error:
            raise _UserError(error.args[0] if len(error.args) == 1
                             else f'{error.args[0]}: {error.args[1]}'
                                  f' {error.args[2]}') from None
