"""What each role of the cluster runs: the services of a plan.

``plan(settings, base, zookeeper, roles)`` lists the services, in start
order, that this machine runs for ``roles``; each service's files are
written by ``Service.write`` with the ``files`` this module gives.
"""
import os

from zc.zk.testing.server import Server

from zc.stack.cluster import haproxy
from zc.stack.cluster.registry import Layout
from zc.stack.cluster.services import (Service, python_environment,
                                       python_program)

#: The console scripts each role needs, and the distribution to install.
SCRIPTS = {
    'primary': ('zkrunzeo', 'zc.zkzeo'),
    'secondary': ('zkrunzeo', 'zc.zkzeo'),
    'app': ('zkzopeserver', 'zc.zkzopeserver'),
}
APPLICATION = 'zc.stack.cluster.appserver:application'
#: Milliseconds before the registration of a killed process vanishes.
SESSION_TIMEOUT = 2000
#: Seconds a secondary waits before connecting again to its primary.
RECONNECT_DELAY = 1
#: Seconds a synchronous commit waits for its acknowledgements before
#: failing, or going on asynchronously (synchronous-fallback).
SYNCHRONOUS_TIMEOUT = 2

ZEO_CONF = """\
# Written by zc-stack up: {name}, a node of the database {database}. The
# nodes elect their primary in ZooKeeper; the others replicate from it.
%import zc.zrs

<zeo>
  address {host}:0
</zeo>

<zrs>
  failover on
  node-name {name}
  replicate-to {host}:0
  zookeeper {connection}
  zookeeper-path {database_path}
  zookeeper-session-timeout {zrs_session_timeout}
  reconnect-delay {reconnect_delay}
  synchronous {synchronous}
  synchronous-timeout {synchronous_timeout}
  synchronous-fallback {synchronous_fallback}
  <filestorage>
    path {directory}/Data.fs
    blob-dir {directory}/blobs
  </filestorage>
</zrs>

<zookeeper>
  connection {connection}
  path {path}
  session-timeout {session_timeout}
  monitor-server {host}:0
</zookeeper>

<eventlog>
  <logfile>
    path STDOUT
    format %(asctime)s %(levelname)s %(name)s %(message)s
  </logfile>
</eventlog>
"""


class Planned:
    """A service with the files it needs."""

    def __init__(self, service, files=None):
        self.service = service
        self.files = files or {}


def zookeeper(base, port):
    """Debian's ZooKeeper, configured as zc.zk's test servers are."""
    server = Server(port=port, directory=os.path.join(base, 'zookeeper'))
    return Planned(Service('zookeeper', 'zookeeper', base, server.command(),
                           address=server.address,
                           logs=[os.path.basename(server.log_path)]))


def front(settings, base, connection):
    """HAProxy on the front port, and the balancer that feeds it."""
    layout = Layout(settings.path, settings.database)
    address = f'{settings.host}:{settings.front_port}'
    proxy = Service('front', 'front', base, [
        haproxy.executable() or 'haproxy', '-f',
        os.path.join(base, 'front', 'haproxy.cfg'), '-db'], address=address)
    socket_path = proxy.path('admin.sock')
    watch = Service('front-watch', 'front', base, python_program(
        'zc.stack.cluster.balancer', '--zookeeper', connection,
        '--apps', layout.apps, '--socket', socket_path,
        '--front', address, '--register', layout.front,
        '--monitor-server', f'{settings.host}:0'),
        environment=python_environment(), registered_at=layout.front)
    return [Planned(proxy, {'haproxy.cfg': haproxy.configuration(
                socket_path, settings.front_port, settings.host)}),
            Planned(watch)]


def node(settings, base, connection, number):
    """Node ``zeo-NUMBER`` of the database: ``zkrunzeo`` with a ``<zrs>``
    storage taking part in the election (every node has the same
    configuration but its own directory). The winner serves as primary
    and registers its ZEO address where app servers look for it; the
    others replicate from it, read-only. Every node's ZEO server also
    registers under ``servers`` (with its pid and monitor), whatever its
    role."""
    layout = Layout(settings.path, settings.database)
    name = f'zeo-{number}'
    service = Service(name, 'database', base, python_program(
        'zc.stack.cluster.launch', '--after-gone', connection,
        layout.node(name), 'zkrunzeo',
        '-C', os.path.join(base, name, 'zeo.conf')),
        environment=python_environment(), registered_at=layout.servers)
    return Planned(service, {'zeo.conf': ZEO_CONF.format(
        name=name, database=settings.database, host=settings.host,
        directory=service.directory, connection=connection,
        database_path=layout.database_path, path=layout.servers,
        reconnect_delay=RECONNECT_DELAY,
        synchronous=settings.synchronous,
        synchronous_timeout=SYNCHRONOUS_TIMEOUT,
        synchronous_fallback=settings.synchronous_fallback,
        session_timeout=SESSION_TIMEOUT,
        zrs_session_timeout=SESSION_TIMEOUT / 1000)})


def node_numbers(settings, roles):
    """The numbers of the database nodes this machine runs: the
    ``primary`` role runs the first, ``secondary`` the others (the
    election, not the role, decides which one is primary)."""
    numbers = []
    if 'primary' in roles:
        numbers.append(1)
    if 'secondary' in roles:
        numbers += range(2, settings.secondaries + 2)
    return numbers


def app(settings, base, connection, number):
    """A web app server running the demo application."""
    layout = Layout(settings.path, settings.database)
    environment = dict(python_environment(),
                       ZC_STACK_ZOOKEEPER=connection,
                       ZC_STACK_PATH=settings.path,
                       ZC_STACK_DATABASE=settings.database)
    return Planned(Service(
        f'app-{number}', 'app', base, python_program(
            'zc.stack.cluster.launch', 'zkzopeserver', APPLICATION,
            '--zookeeper', connection, '--path', layout.apps,
            '--host', settings.host, '--port', '0',
            '--session-timeout', str(SESSION_TIMEOUT),
            '--monitor-server', f'{settings.host}:0'),
        environment=environment, registered_at=layout.apps))


def plan(settings, base, connection, roles, zookeeper_port=None):
    """The services this machine runs for ``roles``, in start order."""
    planned = []
    if 'zookeeper' in roles and settings.zookeeper is None:
        planned.append(zookeeper(base, zookeeper_port))
    planned += [node(settings, base, connection, n)
                for n in node_numbers(settings, roles)]
    if 'app' in roles:
        planned += [app(settings, base, connection, n)
                    for n in range(1, settings.apps + 1)]
    if 'front' in roles:
        planned += front(settings, base, connection)
    return planned
