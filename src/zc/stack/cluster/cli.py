"""``zc-stack``: run the whole stack on this machine.

    zc-stack up [--config FILE] [--only ROLE[,ROLE]] [--zookeeper HOSTS]
                [--secondaries N] [--synchronous N] [--apps N]
                [--front-port PORT]
    zc-stack status [--json]
    zc-stack failover [--to NODE]
    zc-stack smoke
    zc-stack logs NAME [-n LINES]
    zc-stack down

Every command takes ``--base DIR`` (default ``var/cluster``), where the
cluster's state, configuration files and logs live.
"""
import argparse
import collections
import json
import sys

from zc.stack.cluster.cluster import Cluster, ClusterError
from zc.stack.cluster.config import (ROLES, ConfigError, Settings, load,
                                     parse_roles)
from zc.stack.cluster.services import ServiceError

DEFAULT_BASE = 'var/cluster'
NEXT_STEPS = """\
next: zc-stack status    every service, its pid, address and monitor
      zc-stack smoke     check the cluster end to end
      zc-stack down      stop everything"""


def _parser():
    parser = argparse.ArgumentParser(
        prog='zc-stack',
        description='Run a replicated, ZooKeeper-discovered ZODB web stack'
                    ' (ZooKeeper, ZEO nodes that elect their primary and'
                    ' replicate from it, web app servers and an HAProxy'
                    ' front door), each process under zdaemon.')
    parser.add_argument('--base', default=DEFAULT_BASE, metavar='DIR',
                        help="where the cluster's state, configuration and"
                             ' logs live (default %(default)s)')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND',
                                     required=True)
    up = commands.add_parser(
        'up', help='start the cluster (what is not running yet)',
        description='Start the cluster, or the part of it that is not'
                    ' running yet, and return once every service is ready.')
    up.add_argument('--config', metavar='FILE',
                    help='a cluster configuration file (ZConfig: zookeeper,'
                         ' path, database, host, secondaries, synchronous,'
                         ' synchronous-fallback, apps, front-port)')
    up.add_argument('--only', metavar='ROLE[,ROLE]',
                    help='start only these roles, for one machine of'
                         f' several (roles: {", ".join(ROLES)})')
    up.add_argument('--zookeeper', metavar='HOST:PORT,...',
                    help='use this existing ZooKeeper ensemble instead of'
                         ' starting one')
    up.add_argument('--secondaries', type=int, metavar='N',
                    help='read-only secondaries (default 1): the database'
                         ' runs as N + 1 nodes, zeo-1 to zeo-N+1, which'
                         ' elect their primary')
    up.add_argument('--synchronous', type=int, metavar='N',
                    help='secondaries that must have a transaction on disk'
                         ' before its commit succeeds (default 1, or 0'
                         ' without secondaries; 0: asynchronous)')
    up.add_argument('--apps', type=int, metavar='N',
                    help='web app servers (default 2)')
    up.add_argument('--front-port', type=int, metavar='PORT',
                    help="the front door's port (default 8080)")
    up.add_argument('--apt-get', default='apt-get', metavar='COMMAND',
                    help='installs missing Debian packages (default'
                         ' %(default)s)')
    status = commands.add_parser(
        'status', help='show every service',
        description='Show every service: name, role (a database node\'s as'
                    ' elected), epoch (database nodes), state, pid,'
                    ' address, monitor and replication lag.')
    status.add_argument('--json', action='store_true',
                        help='print a JSON document instead of a table')
    failover = commands.add_parser(
        'failover', help="hand the primary's role to another node",
        description="Hand the database primary's role over to another node"
                    ' (a planned switchover: the primary stops taking'
                    ' commits, waits until the new one has every'
                    ' transaction, and steps down; no commit is lost).'
                    ' Print the new primary and its epoch.')
    failover.add_argument('--to', metavar='NODE',
                          help='the node to promote (zeo-2...; default: the'
                               ' most up-to-date secondary)')
    commands.add_parser(
        'smoke', help='check the cluster end to end',
        description='Add a guestbook entry through the front door, check'
                    ' that it is listed and reaches every secondary within'
                    ' 5 s, and that every monitor answers. Exit status 0'
                    ' only when all of that holds.')
    logs = commands.add_parser(
        'logs', help="show a service's log",
        description="Show the end of a service's logs: what it wrote to its"
                    ' standard output and error (its zdaemon transcript),'
                    ' after its own log file if it has one (ZooKeeper).')
    logs.add_argument('name', metavar='NAME',
                      help='the service, as zc-stack status names it')
    logs.add_argument('-n', '--lines', type=int, default=50, metavar='N',
                      help='how many lines (default %(default)s)')
    commands.add_parser(
        'down', help='stop everything',
        description='Stop every service of this base directory and remove'
                    " the cluster's ZooKeeper nodes.")
    return parser


def settings_from(options):
    """The settings: the config file's, overridden by options."""
    settings = load(options.config) if options.config else Settings()
    for name in ('zookeeper', 'secondaries', 'synchronous', 'apps',
                 'front_port'):
        value = getattr(options, name)
        if value is not None:
            setattr(settings, name, value)
    return settings.validate()


def up(cluster, options, out):
    roles = parse_roles(options.only) if options.only else list(ROLES)
    settings = settings_from(options)
    cluster.up(settings, roles, options.apt_get)
    document = cluster.status()
    if document['front']:
        print(f"front door: {document['front']}", file=out)
    print(NEXT_STEPS, file=out)
    return 0


def status(cluster, options, out):
    document = cluster.status()
    if options.json:
        print(json.dumps(document, indent=2), file=out)
    else:
        from zc.stack.cluster.status import table
        out.write(table(document))
    return 0


def failover(cluster, options, out):
    node = cluster.failover(options.to)
    print(f'{node.name} is the primary now (epoch {node.epoch})', file=out)
    return 0


def smoke(cluster, options, out):
    from zc.stack.cluster.smoke import run
    return 0 if run(cluster, out) else 1


def logs(cluster, options, out):
    paths = cluster.logs(options.name)
    for path in paths:
        try:
            with open(path, errors='replace') as f:
                lines = collections.deque(f, maxlen=max(options.lines, 0))
        except FileNotFoundError:
            continue
        if len(paths) > 1:
            print(f'==> {path} <==', file=out)
        out.writelines(lines)
    return 0


def down(cluster, options, out):
    cluster.down()
    return 0


COMMANDS = dict(up=up, status=status, failover=failover, smoke=smoke,
                logs=logs, down=down)


def main(args=None, out=None):
    out = out or sys.stdout
    options = _parser().parse_args(args)
    cluster = Cluster(options.base, out=out)
    try:
        return COMMANDS[options.command](cluster, options, out)
    except (ClusterError, ConfigError, ServiceError) as error:
        print(f'zc-stack {options.command}: {error}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f'zc-stack {options.command}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
