"""Bringing a cluster up and down on this machine, and asking what runs.

A ``Cluster`` lives in a base directory (``var/cluster`` by default):
``cluster.json`` there remembers what ``up`` started (settings, roles, the
ZooKeeper in use), and each service has a directory of its own (see
``services``). ``up`` checks everything it can before it starts anything,
starts ZooKeeper, then every other service at once, and waits for each to
be ready (registered in ZooKeeper under its own pid, or listening); if
one fails, it stops what it started and says why.
"""
import concurrent.futures
import dataclasses
import json
import logging
import os
import socket
import time

import zc.zk
from zc.zk.testing.server import SERVING_MODES, free_port, mode

from zc.stack import debian
from zc.stack.cluster import database
from zc.stack.cluster import roles as role_plans
from zc.stack.cluster.config import Settings
from zc.stack.cluster.haproxy import HAProxyError, Runtime
from zc.stack.cluster.launch import entry_point
from zc.stack.cluster.registry import Layout, by_pid, registrations
from zc.stack.cluster.services import ServiceError
from zc.stack.cluster.status import registered_services, report

logger = logging.getLogger(__name__)

#: Seconds ``up`` waits for ZooKeeper, and then for every other service.
ZOOKEEPER_TIMEOUT = 60.0
READY_TIMEOUT = 60.0
POLL = 0.05
ZOOKEEPER_CONNECT_TIMEOUT = 10.0
#: Seconds ``down`` waits for registrations to go: those of processes
#: killed (not stopped) last until their ZooKeeper session expires.
UNREGISTER_TIMEOUT = 15.0


class ClusterError(RuntimeError):
    """Why a command could not do its job (one line for the user)."""


class Cluster:
    """The cluster of base directory ``base``; ``out`` receives progress
    lines (``print``'s ``file``)."""

    def __init__(self, base, out=None, clock=time.monotonic,
                 ready_timeout=READY_TIMEOUT):
        self.base = os.path.abspath(base)
        self.out = out
        self.clock = clock
        self.ready_timeout = ready_timeout

    # State

    @property
    def state_file(self):
        return os.path.join(self.base, 'cluster.json')

    def state(self):
        """What the last ``up`` started here, or None."""
        try:
            with open(self.state_file) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def _save(self, state):
        os.makedirs(self.base, exist_ok=True)
        temporary = self.state_file + '.new'
        with open(temporary, 'w') as f:
            json.dump(state, f, indent=2, sort_keys=True)
        os.replace(temporary, self.state_file)

    def _require_state(self):
        state = self.state()
        if state is None:
            raise ClusterError(f'no cluster in {self.base}: run zc-stack up'
                               ' first')
        return state

    def _say(self, text):
        if self.out is not None:
            print(text, file=self.out, flush=True)

    def _plan(self, state):
        settings = Settings(**state['settings'])
        return role_plans.plan(settings, self.base, state['zookeeper'],
                               state['roles'], state.get('zookeeper_port'))

    # up

    def up(self, settings, roles, apt_get='apt-get'):
        """Start what is not running yet of ``roles``; return the state."""
        settings.validate()
        previous = self.state()
        running = self._running(previous) if previous else {}
        if running and (previous['settings'] != dataclasses.asdict(settings)
                        or previous['roles'] != list(roles)):
            raise ClusterError(
                f'a cluster with other settings runs in {self.base}'
                f' ({", ".join(sorted(running))}): run zc-stack down first,'
                ' or use another --base')
        state = self._new_state(settings, roles, previous)
        self._check(settings, roles, state, running, apt_get)
        planned = self._plan(state)
        self._save(state)
        for name in running:
            self._say(f'{name:<12} already running (pid {running[name]})')
        todo = [p for p in planned if p.service.name not in running]
        started = []
        try:
            self._start(todo, started, state)
        except BaseException:
            self._say('stopping what was started...')
            self._stop([p.service for p in reversed(started)])
            if not running:
                os.unlink(self.state_file)
            raise
        if not todo:
            self._say('everything was already running')
        return state

    def _new_state(self, settings, roles, previous):
        previous = previous or {}
        state = dict(settings=dataclasses.asdict(settings), roles=list(roles),
                     zookeeper=settings.zookeeper, zookeeper_port=None)
        if settings.zookeeper is None:
            if 'zookeeper' not in roles:
                raise ClusterError(
                    'without the zookeeper role, the cluster needs an'
                    ' existing ZooKeeper: give --zookeeper HOST:PORT,... or'
                    ' a --config file naming one')
            port = previous.get('zookeeper_port') or free_port()
            state.update(zookeeper=f'127.0.0.1:{port}', zookeeper_port=port)
        return state

    def _check(self, settings, roles, state, running, apt_get):
        """Everything that can be known before starting anything."""
        if any(c.isspace() for c in self.base):
            raise ClusterError(f'the base directory {self.base!r} contains'
                               ' white space, which zdaemon cannot quote:'
                               ' choose another --base')
        for role in roles:
            script, distribution = role_plans.SCRIPTS.get(role, (None, None))
            if script and entry_point(script) is None:
                raise ClusterError(
                    f'the {role} role needs {script} from {distribution},'
                    ' which is not installed: install it (make setup), or'
                    ' leave the role out with --only')
        packages = debian.packages()
        wanted = [packages[name] for name, needed in (
            ('zookeeper', 'zookeeper' in roles and settings.zookeeper is None),
            ('haproxy', 'front' in roles)) if needed]
        try:
            debian.ensure(wanted, apt_get)
        except debian.NotInstalled as error:
            raise ClusterError(str(error)) from None
        if 'front' in roles:
            if 'front' not in running and not _free(settings.host,
                                                     settings.front_port):
                raise ClusterError(
                    f'the front port {settings.host}:{settings.front_port}'
                    ' is taken by another program: stop it, or choose'
                    ' another port with --front-port')

    def _start(self, todo, started, state):
        layout = _layout(state)
        rest = list(todo)
        if rest and rest[0].service.role == 'zookeeper':
            zookeeper = rest.pop(0)
            self._launch([zookeeper], started)
            self._wait_zookeeper(zookeeper.service, state['zookeeper_port'])
        with self._connect(state) as zk:
            layout.create(zk)
            pids = self._launch(rest, started)
            self._wait_ready([p.service for p in rest], pids, zk, layout)

    def _launch(self, planned, started):
        """Start ``planned`` under zdaemon, all at once."""
        for item in planned:
            item.service.write(item.files)
        with concurrent.futures.ThreadPoolExecutor(max(len(planned), 1)) \
                as pool:
            futures = [(item, pool.submit(item.service.start))
                       for item in planned]
            errors, pids = [], {}
            for item, future in futures:
                try:
                    pids[item.service.name] = future.result()
                except ServiceError as error:
                    errors.append(error)
                started.append(item)
        if errors:
            raise ClusterError(str(errors[0]))
        return pids

    def _wait_zookeeper(self, service, port):
        deadline = self.clock() + ZOOKEEPER_TIMEOUT
        while mode(port) not in SERVING_MODES:
            if self.clock() > deadline:
                raise ClusterError(f'ZooKeeper did not serve on port {port}'
                                   f' within {ZOOKEEPER_TIMEOUT:g}s'
                                   f' (see {service.transcript})')
            time.sleep(POLL)
        self._say(f'{"zookeeper":<12} ready   {service.address}')

    def _connect(self, state):
        try:
            return zc.zk.ZooKeeper(state['zookeeper'],
                                   connect_timeout=ZOOKEEPER_CONNECT_TIMEOUT)
        except zc.zk.FailedConnect:
            raise ClusterError(f"cannot connect to ZooKeeper at"
                               f" {state['zookeeper']}") from None

    def _wait_ready(self, services, pids, zk, layout):
        waiting = {service.name: service for service in services}
        deadline = self.clock() + self.ready_timeout
        while waiting:
            for name, service in list(waiting.items()):
                if name == 'front-watch' and any(
                        s.role == 'app' for s in waiting.values()):
                    continue  # ready once HAProxy has every app
                address = self._ready(service, pids[name], zk, layout)
                if address:
                    del waiting[name]
                    self._say(f'{name:<12} ready   {address}'
                              f'  (pid {pids[name]})'
                              + _node_role(service, pids[name], zk, layout))
            if waiting and self.clock() > deadline:
                names = ', '.join(sorted(waiting))
                raise ClusterError(
                    f'not ready within {self.ready_timeout:g}s: {names} (see'
                    f' zc-stack logs {sorted(waiting)[0]})')
            if waiting:
                time.sleep(POLL)

    def _ready(self, service, pid, zk, layout):
        """The service's address once it is ready, else None."""
        if service.name == 'front':
            try:
                Runtime(service.path('admin.sock')).servers()
            except HAProxyError:
                return None
            host, port = service.address.rsplit(':', 1)
            return service.address if not _free(host, int(port)) else None
        if service.registered_at is None:
            return service.address
        address = by_pid(zk, service.registered_at).get(pid)
        if address and service.role == 'database':
            # Ready once elected, or following the one elected.
            if _node(pid, zk, layout) is None:
                return None
        if address and service.name == 'front-watch':
            # Ready once HAProxy sends requests to every app registered.
            wanted = {a for a, _ in registrations(zk, layout.apps)}
            try:
                servers = Runtime(os.path.join(self.base, 'front',
                                               'admin.sock')).servers()
            except HAProxyError:
                return None
            if {s['address'] for s in servers.values()
                    if s['ready']} != wanted:
                return None
        return address

    def _running(self, state):
        """``{name: pid}`` of the services of ``state`` that run."""
        services = [p.service for p in self._plan(state)]
        return {service.name: pid for service, pid
                in zip(services, _each(services, lambda s: s.pid()))
                if pid}

    # down

    def down(self):
        """Stop every service of this base; remove the cluster's
        ZooKeeper nodes unless other machines' services still use them."""
        state = self._require_state()
        planned = [p.service for p in self._plan(state)]
        zookeeper = [s for s in planned if s.role == 'zookeeper']
        others = [s for s in planned if s.role != 'zookeeper']
        pids = {pid for pid in _each(others, lambda s: s.pid()) if pid}
        self._stop(list(reversed(others)))
        if zookeeper and mode(state['zookeeper_port']) not in SERVING_MODES:
            zookeeper[0].stop()  # it may be stopped already: no nodes left
        else:
            self._remove_nodes(state, pids)
        self._stop(zookeeper)
        os.unlink(self.state_file)

    def _stop(self, services):
        with concurrent.futures.ThreadPoolExecutor(max(len(services), 1)) \
                as pool:
            for service, future in [(s, pool.submit(s.stop))
                                    for s in services]:
                try:
                    future.result()
                except ServiceError as error:
                    logger.warning('%s', error)
                self._say(f'{service.name:<12} stopped')

    def _remove_nodes(self, state, pids):
        """Remove the cluster's nodes once the registrations of this
        machine's services are gone (``pids``: those just stopped; those
        of killed processes last until their session expires), unless
        services of other machines remain registered."""
        layout = _layout(state)
        host = state['settings']['host']

        def ours(service):
            return service['pid'] in pids or (
                service['address'].rsplit(':', 1)[0] == host
                and not _alive(service['pid']))
        try:
            zk = self._connect(state)
        except ClusterError as error:
            self._say(f'{error}: its nodes for the cluster are left')
            return
        with zk:
            deadline = self.clock() + UNREGISTER_TIMEOUT
            while any(ours(s) for s in registered_services(zk, layout)):
                if self.clock() > deadline:
                    break
                time.sleep(POLL * 4)
            if registered_services(zk, layout):
                self._say(f'services of other machines are registered:'
                          f' {layout.root} stays in ZooKeeper')
            else:
                layout.delete(zk)

    # status

    def status(self):
        """``zc-stack status --json``'s document."""
        state = self._require_state()
        services = [p.service for p in self._plan(state)]
        statuses = _each(services, lambda s: s.status())
        layout = _layout(state)
        settings = state['settings']
        front = None
        if 'front' in state['roles']:
            front = f"http://{settings['host']}:{settings['front_port']}/"
        registered = []
        try:
            with self._connect(state) as zk:
                registered = registered_services(zk, layout)
        except ClusterError as error:
            logger.warning('%s', error)
        if front is None:
            front = next((f"http://{r['address']}/" for r in registered
                          if r['role'] == 'front'), None)
        return report(services, statuses, registered, state['zookeeper'],
                      front)

    def failover(self, to=None):
        """Hand the database's primary role over to node ``to`` (the most
        up-to-date secondary when None); return the new primary
        (``database.Node``)."""
        state = self._require_state()
        with self._connect(state) as zk:
            try:
                return database.failover(zk, _layout(state), to)
            except database.FailoverError as error:
                raise ClusterError(str(error)) from None

    def logs(self, name):
        """The log files of the service called ``name``."""
        state = self._require_state()
        services = {p.service.name: p.service for p in self._plan(state)}
        if name not in services:
            raise ClusterError(f'no service {name!r} here: choose among'
                               f' {", ".join(services)}')
        return services[name].logs


def _each(services, call):
    """``call(service)`` for each service, all at once (each is a zdaemon
    command: a process of its own); the results in order."""
    with concurrent.futures.ThreadPoolExecutor(max(len(services), 1)) \
            as pool:
        return list(pool.map(call, services))


def _node(pid, zk, layout):
    """The database node of process ``pid`` once it serves, else None."""
    return next((node for node in database.nodes(zk, layout)
                 if node.pid == pid and node.role in database.SERVING),
                None)


def _node_role(service, pid, zk, layout):
    """``  primary, epoch 1`` for a database node, else nothing."""
    node = service.role == 'database' and _node(pid, zk, layout)
    return f'  {node.role}, epoch {node.epoch}' if node else ''


def _layout(state):
    return Layout(state['settings']['path'], state['settings']['database'])


def _alive(pid):
    """Whether a process ``pid`` runs on this machine."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free(host, port):
    """Whether nothing listens on ``host:port``."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
