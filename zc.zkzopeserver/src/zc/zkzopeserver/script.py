"""The ``zkzopeserver`` console script: run a WSGI application, given as
``module:callable`` or by a paste ini file, registered in ZooKeeper.

Exit status: 0 after a stop, 2 for a mistake in the command line or
configuration (zdaemon does not restart a program exiting with 2), 1 when
ZooKeeper cannot be reached.
"""
import argparse
import importlib
import logging
import os
import sys

import zc.zk

import zc.zkzopeserver
from zc.zkzopeserver.options import DEFAULT_GRACE_PERIOD, ConfigError

logger = logging.getLogger('zc.zkzopeserver')

USAGE_ERROR = 2
UNAVAILABLE = 1
INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):

    def error(self, message):
        # One line, like every other error of the script.
        self.exit(USAGE_ERROR, f'{self.prog}: error: {message}'
                               f' (see {self.prog} --help)\n')


def _parser():
    parser = _Parser(
        prog='zkzopeserver',
        description='Serve a WSGI application with zope.server on a port'
                    ' the OS picks (or --port), registered as HOST:PORT'
                    ' under --path in ZooKeeper. SIGTERM removes the'
                    ' registration, lets requests in flight finish and'
                    ' exits 0.')
    parser.add_argument(
        'app', metavar='APP',
        help="the application: 'module:callable', or a paste ini file"
             " ('app.ini' or 'app.ini#name') whose [app:name] and"
             " [server:name] sections are used; the options below are"
             " then not given (they are the server section's keys)")
    parser.add_argument('--zookeeper', metavar='HOST:PORT[,...][/CHROOT]',
                        help='ZooKeeper connection string (required)')
    parser.add_argument('--path', metavar='/PATH',
                        help='register under this node (required; created'
                             ' when missing)')
    parser.add_argument('--host', default='',
                        help='address to listen at and register (default:'
                             ' every interface, registered under the'
                             " machine's addresses)")
    parser.add_argument('--port', default='0',
                        help='port to listen at (default 0: the OS picks)')
    parser.add_argument('--threads', default='1',
                        help='threads running requests (default 1)')
    parser.add_argument('--monitor-server', metavar='[HOST]:PORT',
                        help='also run a zc.monitor server there; its'
                             ' address becomes the "monitor" property of'
                             ' the registration')
    parser.add_argument('--session-timeout', metavar='MS',
                        help='ZooKeeper session timeout in milliseconds'
                             ' (default 10000)')
    parser.add_argument('--grace-period', metavar='SECONDS',
                        default=str(DEFAULT_GRACE_PERIOD),
                        help='on SIGTERM, how long requests in flight may'
                             ' take to finish (default %(default)s)')
    parser.add_argument('--name', default='zc.zkzopeserver',
                        help='server name shown in the Server header')
    parser.add_argument('--loggers', default='INFO',
                        help='a log level (default INFO, to standard error)'
                             ' or ZConfig logging configuration text')
    return parser


_SERVER_OPTIONS = ('zookeeper', 'path', 'host', 'port', 'threads',
                   'monitor_server', 'session_timeout', 'grace_period',
                   'name', 'loggers')


def main(args=None):
    parser = _parser()
    arguments = parser.parse_args(args)
    try:
        if _is_ini(arguments.app):
            _refuse_options(parser, arguments)
            _serve_ini(arguments.app)
        else:
            if not arguments.zookeeper:
                parser.error('the following argument is required:'
                             ' --zookeeper')
            if not arguments.path:
                parser.error('the following argument is required: --path')
            app = _import(arguments.app)
            zc.zkzopeserver.run(
                app, {}, **{name: getattr(arguments, name)
                            for name in _SERVER_OPTIONS})
    except ConfigError as error:
        return _fail(USAGE_ERROR, error)
    except zc.zk.FailedConnect as error:
        return _fail(UNAVAILABLE, f'cannot connect to ZooKeeper at {error}')
    except KeyboardInterrupt:
        # Ctrl-C while starting; once serving, it stops the server
        # gracefully instead.
        return INTERRUPTED
    return 0


def _fail(status, message):
    print(f'zkzopeserver: error: {message}', file=sys.stderr)
    return status


def _is_ini(app):
    return app.partition('#')[0].endswith('.ini')


def _refuse_options(parser, arguments):
    defaults = parser.parse_args([arguments.app])
    given = [name for name in _SERVER_OPTIONS
             if getattr(arguments, name) != getattr(defaults, name)]
    if given:
        parser.error(f'--{given[0].replace("_", "-")} cannot be used with'
                     ' an ini file: set it in its server section')


def _import(spec):
    """The object ``module:attribute.attribute`` names."""
    module_name, colon, attributes = spec.partition(':')
    if not colon or not module_name or not attributes:
        raise ConfigError(f'APP must be module:callable, not {spec!r}')
    try:
        found = importlib.import_module(module_name)
        for attribute in attributes.split('.'):
            found = getattr(found, attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f'cannot import {spec}: {error}') from None
    return found


def _serve_ini(spec):
    """Run the app and server of a paste ini file, as ``pserve`` does."""
    try:
        from paste.deploy.loadwsgi import SERVER, loadapp, loadcontext
    except ImportError:
        raise ConfigError(
            "ini files need PasteDeploy: install 'zc.zkzopeserver[paste]'"
        ) from None
    path, _, name = spec.partition('#')
    uri = 'config:' + os.path.abspath(path)
    if not os.path.exists(path):
        raise ConfigError(f'no such file: {path}')
    try:
        server = loadcontext(SERVER, uri, name=name or None)
    except LookupError as error:
        raise ConfigError(f'{spec}: {error}') from None
    if server.object is zc.zkzopeserver.run:
        for key in ('zookeeper', 'path'):
            if not server.local_conf.get(key):
                raise ConfigError(
                    f'missing required setting: {key} (in the server'
                    f' section of {path})')
    try:
        app = loadapp(uri, name=name or None)
    except (LookupError, ImportError) as error:
        raise ConfigError(f'{spec}: {error}') from None
    server.create()(app)
