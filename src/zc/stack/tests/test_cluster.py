"""``zc-stack`` end to end: one cluster, brought up once for every test of
the layer (``CLUSTER``), then faults and switchovers (``FaultLayer``),
then ``down`` (``DownLayer``)."""
import io
import os
import signal
import time
import unittest
import urllib.request

import zc.zk
from zope.testing.wait import wait

from zc.stack.cluster import haproxy, load
from zc.stack.cluster.cluster import Cluster, ClusterError
from zc.stack.cluster.config import Settings
from zc.stack.tests.cluster_helpers import (Base, alive, listening,
                                            node_exists, stop_service)
from zc.stack.tests.test_cluster_balancer import http_server

ROLES = 'zookeeper,primary,secondary,app,front'
NAMES = ['zookeeper', 'zeo-1', 'zeo-2', 'app-1', 'app-2', 'front',
         'front-watch']
NODES = ['zeo-1', 'zeo-2']
PRIMARY_PATH = '/zc-stack/databases/main/primary'
#: Writer processes loading the database while its primary is killed.
WRITERS = 3


class ClusterLayer:
    """``zc-stack up`` in a temporary base directory."""

    base = None
    up_output = None
    #: ``zc-stack status --json`` right after ``up``.
    document = None

    @classmethod
    def setUp(cls):
        if haproxy.executable() is None:
            raise unittest.SkipTest("Debian's haproxy is not installed")
        cls.base = Base()
        status, cls.up_output, err = cls.base(
            'up', '--only', ROLES, '--front-port', cls.base.front_port)
        if status:
            cls.base('down')
            cls.base.remove()
            raise RuntimeError(f'zc-stack up failed: {err}')
        cls.document = cls.base.status()

    @classmethod
    def tearDown(cls):
        if os.path.exists(os.path.join(cls.base.directory, 'cluster.json')):
            cls.base('down')
        cls.base.remove()


CLUSTER = ClusterLayer


class OnTheCluster(unittest.TestCase):
    """A test of the shared cluster: its base directory and the status
    document taken after ``up`` (or after the last fault test)."""

    def setUp(self):
        self.base = CLUSTER.base
        self.document = CLUSTER.document
        self.services = {s['name']: s for s in self.document['services']}

    def node(self, role, document=None):
        """The database node serving as ``role`` (its status row)."""
        document = document or self.document
        [node] = [s for s in document['services']
                  if s['name'] in NODES and s['role'] == role]
        return node

    def service(self, name):
        return {s['name']: s for s in self.base.status()['services']}[name]

    def back(self, name, old_pid, others):
        """Wait until every service runs again, ``name`` with a new pid,
        and registrations of killed processes are gone; return ``name``'s
        status."""
        expected = [(n, 'running') for n in NAMES] + others
        seen = []

        def settled():
            document = self.base.status()
            seen[:] = [(s['name'], s['state'], s['pid'])
                       for s in document['services']]
            return ([(n, state) for n, state, _ in seen] == expected
                    and self.service(name)['pid'] != old_pid)
        try:
            wait(settled, timeout=45, wait=0.2)
        except wait.TimeOutWaitingFor:
            self.fail(f'not back after killing {name}: {seen}')
        return self.service(name)

    def smoke_passes(self, after):
        outcome = []

        def passes():
            outcome[:] = self.base('smoke')
            return outcome[0] == 0
        try:
            wait(passes, timeout=30, wait=0.2)
        except wait.TimeOutWaitingFor:
            self.fail(f'smoke fails after {after}: {outcome[1]}')

    def start_writers(self):
        """``WRITERS`` writer processes, once each has committed."""
        directory = os.path.join(self.base.directory, 'writers')
        os.makedirs(directory, exist_ok=True)
        names = [f'w{n}-{time.monotonic_ns()}' for n in range(WRITERS)]
        writers = [load.Writer(self.document['zookeeper'], PRIMARY_PATH,
                               name, os.path.join(directory, f'{name}.log'))
                   for name in names]
        for writer in writers:
            self.addCleanup(writer.stop)
        try:
            wait(lambda: all(w.commits() for w in writers), timeout=30)
        except wait.TimeOutWaitingFor:
            self.fail('the writers did not commit within 30 s: '
                      + ' '.join(open(w.log + '.err').read()
                                 for w in writers))
        return writers

    def lost(self, writers):
        """The acknowledged commits of ``writers`` (stopped now) that the
        database does not hold."""
        for writer in writers:
            self.assertTrue(writer.stop(), writer.name)
        import zc.zkzeo
        db = zc.zkzeo.DB(self.document['zookeeper'], PRIMARY_PATH)
        try:
            return load.missing(db, writers)
        finally:
            db.close()


class ClusterTests(OnTheCluster):

    layer = CLUSTER

    def test_up_reports_progress_and_what_to_do_next(self):
        lines = CLUSTER.up_output.splitlines()
        self.assertTrue(lines[0].startswith('zookeeper    ready   127.0.0.1:'),
                        lines)
        self.assertIn(f'front door: http://127.0.0.1:{self.base.front_port}/',
                      lines)
        self.assertIn('next: zc-stack status', CLUSTER.up_output)

    def test_a_second_up_says_what_runs(self):
        status, out, err = self.base('up', '--only', ROLES, '--front-port',
                                     self.base.front_port)
        self.assertEqual((status, err), (0, ''))
        for name in NAMES:
            self.assertIn(f"{name:<12} already running"
                          f" (pid {self.services[name]['pid']})", out)
        self.assertIn('everything was already running', out)
        self.assertEqual(self.base.status()['services'],
                         self.document['services'])

    def test_up_with_other_settings_is_refused(self):
        status, out, err = self.base('up', '--only', ROLES, '--front-port',
                                     self.base.front_port + 1)
        self.assertEqual(status, 1)
        self.assertIn('a cluster with other settings runs', err)
        self.assertEqual(len(err.splitlines()), 1)

    def test_status_json(self):
        self.assertEqual(set(self.document),
                         {'zookeeper', 'front', 'services'})
        self.assertEqual(self.document['front'],
                         f'http://127.0.0.1:{self.base.front_port}/')
        self.assertEqual([s['name'] for s in self.document['services']],
                         NAMES)
        for service in self.document['services']:
            self.assertEqual(set(service), {
                'name', 'role', 'epoch', 'state', 'pid', 'address',
                'monitor', 'lag_seconds'})
            self.assertEqual(service['state'], 'running')
            self.assertTrue(alive(service['pid']), service)
            self.assertTrue(listening(service['address']), service)
            if service['name'] not in NODES:
                self.assertIsNone(service['epoch'], service)
        # The database's nodes elected one primary; the other follows it
        # in the same epoch.
        primary, secondary = self.node('primary'), self.node('secondary')
        self.assertGreaterEqual(primary['epoch'], 1)
        self.assertEqual(secondary['epoch'], primary['epoch'])
        self.assertIsNone(primary['lag_seconds'])
        self.assertIsNotNone(secondary['lag_seconds'])
        with zc.zk.ZooKeeper(self.document['zookeeper']) as zk:
            self.assertEqual(zk.get_children(PRIMARY_PATH),
                             [primary['address']])
        self.assertEqual(self.services['zookeeper']['address'],
                         self.document['zookeeper'])
        self.assertEqual(self.services['front']['role'], 'front')
        self.assertIsNotNone(self.services['front-watch']['monitor'])

    def test_status_table(self):
        status, out, err = self.base('status')
        self.assertEqual(status, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], f"zookeeper: {self.document['zookeeper']}")
        self.assertEqual(lines[1].split(), ['front:',
                                            self.document['front']])
        self.assertEqual(lines[3].split(), [
            'NAME', 'ROLE', 'EPOCH', 'STATE', 'PID', 'ADDRESS', 'MONITOR',
            'LAG'])
        rows = [line.split() for line in lines[4:]]
        watch = self.services['front-watch']
        self.assertIn(['front-watch', 'front', '-', 'running',
                       str(watch['pid']), watch['address'], watch['monitor'],
                       '-'], rows)
        primary = self.node('primary')
        self.assertIn([primary['name'], 'primary', str(primary['epoch']),
                       'running', str(primary['pid']), primary['address'],
                       primary['monitor'], '-'], rows)

    def test_front_door_follows_app_registrations(self):
        app = http_server('hand-made app')
        self.addCleanup(app.server_close)
        self.addCleanup(app.shutdown)
        with zc.zk.ZooKeeper(self.document['zookeeper']) as zk:
            zk.register('/zc-stack/apps', app.server_address)

            def answer():
                try:
                    with urllib.request.urlopen(self.document['front'],
                                                timeout=5) as response:
                        return response.read().decode()
                except OSError:
                    return None
            # It takes its turn with the cluster's apps, if any.
            wait(lambda: answer() == 'hand-made app')
            # The app's registration shows in the status, as remote.
            remote = [s for s in self.base.status()['services']
                      if s['state'] == 'remote']
            self.assertEqual(
                [(s['role'], s['address']) for s in remote],
                [('app', '127.0.0.1:%d' % app.server_address[1])])
        # Gone with its registration (before other tests use the front).
        runtime = haproxy.Runtime(os.path.join(self.base.directory, 'front',
                                               'admin.sock'))
        wait(lambda: sum(slot['ready'] for slot in runtime.servers().values())
             == NAMES.count('app-1') + NAMES.count('app-2'))

    def test_smoke(self):
        status, out, err = self.base('smoke')
        self.assertEqual(status, 0, out)
        self.assertEqual(out.splitlines(), [
            f"ok      front door {self.document['front']}: add and list"
            ' an entry',
            f"ok      {self.node('secondary')['name']}: entry replicated"] + [
            f"ok      {s['name']}: monitor {s['monitor']} answers"
            for s in self.document['services'] if s['monitor']] + [
            'smoke test passed'])

    def test_status_page_through_the_front_door(self):
        from zc.testbrowser.browser import Browser
        browser = Browser()
        browser.open(self.document['front'])
        browser.getLink('Cluster status').click()
        rows = browser.contents
        self.assertIn('<tr><td>zookeeper</td><td>'
                      f"{self.document['zookeeper']}</td>", rows)
        for service in self.document['services']:
            if service['role'] == 'zookeeper' or service['name'] == 'front':
                continue
            self.assertIn(f"<tr><td>{service['role']}</td><td>"
                          f"{service['address']}</td><td>{service['pid']}"
                          f"</td><td>{service['monitor']}</td>", rows)

    def test_logs(self):
        status, out, err = self.base('logs', 'front-watch', '-n', '100')
        self.assertEqual(status, 0, err)
        self.assertIn('front door 127.0.0.1:%d registered at /zc-stack/front'
                      % self.base.front_port, out)
        status, out, err = self.base('logs', 'zookeeper')
        self.assertEqual(status, 0, err)
        directory = os.path.join(self.base.directory, 'zookeeper')
        self.assertIn(f'==> {directory}/server.log <==\n', out)
        self.assertIn('WARN', out)
        status, out, err = self.base('logs', 'nothing')
        self.assertEqual(status, 1)
        self.assertEqual(err, "zc-stack logs: no service 'nothing' here:"
                              f' choose among {", ".join(NAMES)}\n')


class HalfStartedTests(unittest.TestCase):
    """A service that runs but never gets ready (an "haproxy" that does
    not listen): ``up`` stops what it started. (On the shared cluster's
    ZooKeeper, given as an existing one.)"""

    layer = CLUSTER

    def test_failed_up_leaves_nothing_running(self):
        base = Base()
        self.addCleanup(base.remove)
        broken = os.path.join(base.directory, 'broken-haproxy')
        with open(broken, 'w') as f:
            f.write('#!/bin/sh\nexec sleep 60\n')
        os.chmod(broken, 0o755)
        os.environ['ZC_STACK_HAPROXY'] = broken
        self.addCleanup(os.environ.pop, 'ZC_STACK_HAPROXY')
        out = io.StringIO()
        cluster = Cluster(base.directory, out=out, ready_timeout=2)
        with self.assertRaises(ClusterError) as caught:
            cluster.up(Settings(zookeeper=CLUSTER.document['zookeeper'],
                                path='/half-started',
                                front_port=base.front_port), ['front'])
        self.addCleanup(lambda: cluster.state() and cluster.down())
        self.assertEqual(str(caught.exception),
                         'not ready within 2s: front, front-watch (see'
                         ' zc-stack logs front)')
        self.assertEqual(out.getvalue().splitlines(), [
            'stopping what was started...', 'front-watch  stopped',
            'front        stopped'])
        self.assertIsNone(cluster.state())
        for name in ('front', 'front-watch'):
            self.assertFalse(os.path.exists(
                os.path.join(base.directory, name, 'zdsock')), name)
        self.assertFalse(node_exists(CLUSTER.document['zookeeper'],
                                     '/half-started/front/'
                                     f'127.0.0.1:{base.front_port}'))


class FaultLayer(ClusterLayer):
    """The shared cluster, for tests that kill its processes: a layer on
    top of CLUSTER, so they run after CLUSTER's own tests."""

    @classmethod
    def setUp(cls):
        pass

    @classmethod
    def tearDown(cls):
        pass


class FaultTests(OnTheCluster):

    layer = FaultLayer

    def test_killed_processes_come_back(self):
        """SIGKILL each kind of process in turn: zdaemon restarts it, its
        registration returns (apps and database nodes on new ports),
        HAProxy follows, and the cluster works again with no command
        given. (The primary node: see the next test.)"""
        for kind in ['zookeeper', 'secondary', 'app-1', 'front',
                     'front-watch']:
            if kind == 'secondary':
                old = self.node('secondary', self.base.status())
            else:
                old = self.service(kind)
            name = old['name']
            os.kill(old['pid'], signal.SIGKILL)
            new = self.back(name, old['pid'], [])
            if name in ('app-1', *NODES):
                self.assertNotEqual(new['address'], old['address'])
            self.smoke_passes(name)
        CLUSTER.document = self.base.status()

    def test_killed_primary_fails_over_under_load(self):
        """SIGKILL the primary node while writers commit: the secondary
        takes over in a new epoch, writes resume by themselves, no commit
        a writer saw succeed is lost, the killed node comes back as a
        secondary, and the cluster passes its smoke test with no command
        given."""
        before = self.base.status()
        old = self.node('primary', before)
        writers = self.start_writers()
        os.kill(old['pid'], signal.SIGKILL)
        killed = time.monotonic()
        try:
            wait(lambda: any(c.start > killed for w in writers
                             for c in w.commits()), timeout=30, wait=0.1)
        except wait.TimeOutWaitingFor:
            self.fail('writes did not resume within 30 s of the kill')
        rejoined = self.back(old['name'], old['pid'], [])
        after = self.base.status()
        new = self.node('primary', after)
        self.assertNotEqual(new['name'], old['name'])
        self.assertGreater(new['epoch'], old['epoch'])
        self.assertEqual((rejoined['role'], rejoined['epoch']),
                         ('secondary', new['epoch']))
        self.assertNotEqual(rejoined['address'], old['address'])
        self.assertEqual(self.lost(writers), {})
        self.smoke_passes(f"the primary {old['name']}")
        CLUSTER.document = self.base.status()


class SwitchoverTests(OnTheCluster):
    """``zc-stack failover``: planned switchovers on the shared cluster
    (after the fault tests, before ``down``)."""

    layer = FaultLayer

    def test_failover_hands_the_primary_over_and_back(self):
        old = self.node('primary', self.base.status())
        status, out, err = self.base('failover')
        self.assertEqual((status, err), (0, ''))
        document = self.base.status()
        new = self.node('primary', document)
        self.assertNotEqual(new['name'], old['name'])
        self.assertGreater(new['epoch'], old['epoch'])
        self.assertEqual(out, f"{new['name']} is the primary now (epoch"
                              f" {new['epoch']})\n")
        # The old primary follows, in the new epoch, in the same process.
        # The command returns once the new primary serves; the old one,
        # stepped down, follows it a moment later (on a busy machine, after
        # that first status).
        def follows():
            row = self.service(old['name'])
            return (row.get('role'), row.get('epoch')) == ('secondary',
                                                            new['epoch'])
        wait(follows, timeout=30, wait=0.1)
        follower = self.service(old['name'])
        self.assertEqual(follower,
                         dict(old, role='secondary', epoch=new['epoch'],
                              lag_seconds=follower['lag_seconds']))
        self.smoke_passes('a switchover')
        status, out, err = self.base('failover', '--to', old['name'])
        self.assertEqual((status, err), (0, ''))
        self.assertEqual(out, f"{old['name']} is the primary now (epoch"
                              f" {new['epoch'] + 1})\n")
        CLUSTER.document = self.base.status()

    def test_failover_under_load(self):
        """A planned switchover while writers commit, and back: writes go
        on, to the new primary, no commit they saw succeed is lost, and
        the old primary follows the new one. (How long writes pause:
        benchmarks/zrs_failover.py.)"""
        old = self.node('primary', self.base.status())
        writers = self.start_writers()
        for target in (None, old['name']):
            status, out, err = self.base(
                'failover', *(['--to', target] if target else []))
            self.assertEqual((status, err), (0, ''))
            switched = time.monotonic()
            wait(lambda: any(c.start > switched for w in writers
                             for c in w.commits()), timeout=30)
            self.smoke_passes(f'a switchover ({out.strip()})')
        self.assertEqual(self.lost(writers), {})
        CLUSTER.document = self.base.status()

    def test_failover_refusals(self):
        primary = self.node('primary', self.base.status())
        for args, error in [
                (['--to', 'zeo-9'], "no node 'zeo-9' runs in the database"
                 ' main: choose among zeo-1, zeo-2'),
                (['--to', primary['name']], f"{primary['name']} is the"
                 f" primary already (epoch {primary['epoch']})")]:
            status, out, err = self.base('failover', *args)
            self.assertEqual((status, out), (1, ''))
            self.assertEqual(err, f'zc-stack failover: {error}\n')

    def test_failover_with_no_secondary_running(self):
        """Nothing to fail over to while the only secondary is stopped;
        ``up`` starts it again, and it rejoins."""
        secondary = self.node('secondary', self.base.status())
        stop_service(self.base.directory, secondary['name'])
        status, out, err = self.base('failover')
        self.assertEqual((status, out), (1, ''))
        primary = self.node('primary', self.base.status())
        self.assertEqual(err, f"zc-stack failover: nothing to fail over to:"
                              f" {primary['name']} is the only node of the"
                              ' database main running\n')
        status, out, err = self.base('up', '--only', ROLES, '--front-port',
                                     self.base.front_port)
        self.assertEqual((status, err), (0, ''))
        self.assertIn(f"{secondary['name']:<12} ready", out)
        self.assertEqual(self.node('secondary', self.base.status())['name'],
                         secondary['name'])
        CLUSTER.document = self.base.status()


class DownLayer(FaultLayer):
    """The shared cluster, for ``down``: after every other test (it sets
    up and tears down nothing of its own, as FaultLayer)."""


class DownTests(unittest.TestCase):
    """``down`` leaves no process, no listening port, no ZooKeeper node."""

    layer = DownLayer

    def test_down_leaves_nothing(self):
        base = CLUSTER.base
        document = base.status()
        self.assertTrue(node_exists(document['zookeeper'], '/zc-stack/front'))
        status, out, err = base('down')
        self.assertEqual((status, err), (0, ''))
        self.assertEqual(out.splitlines(), [
            f'{name:<12} stopped'
            for name in list(reversed(NAMES[1:])) + ['zookeeper']])
        for service in document['services']:
            if service['state'] == 'remote':
                continue
            self.assertFalse(alive(service['pid']), service)
            self.assertFalse(listening(service['address']), service)
            if service['monitor']:
                self.assertFalse(listening(service['monitor']), service)
        self.assertFalse(os.path.exists(os.path.join(base.directory,
                                                     'cluster.json')))
        status, out, err = base('status')
        self.assertEqual(status, 1)
        self.assertIn('no cluster in', err)


class TwoHostsTests(unittest.TestCase):
    """Two machines, as two base directories on loopback, share the
    cluster's ZooKeeper through one configuration file."""

    layer = CLUSTER

    def test_each_machine_runs_its_share(self):
        database_host, web_host = Base(), Base()
        self.addCleanup(database_host.remove)
        self.addCleanup(web_host.remove)
        path = os.path.join(database_host.directory, 'cluster.conf')
        with open(path, 'w') as f:
            f.write(f"zookeeper {CLUSTER.document['zookeeper']}\n"
                    'path /two-hosts\nsecondaries 1\napps 1\n'
                    f'front-port {web_host.front_port}\n')
        status, out, err = database_host('up', '--config', path, '--only',
                                         'primary,secondary')
        self.addCleanup(database_host, 'down')
        self.assertEqual(status, 0, err)
        status, out, err = web_host('up', '--config', path, '--only',
                                    'app,front')
        self.addCleanup(web_host, 'down')
        self.assertEqual(status, 0, err)
        nodes = sorted((s for s in database_host.status()['services']
                        if s['state'] != 'remote'),
                       key=lambda s: s['address'])
        self.assertEqual(sorted(s['role'] for s in nodes),
                         ['primary', 'secondary'])
        self.assertEqual(
            [(s['name'], s['role'], s['epoch'], s['state'])
             for s in web_host.status()['services']],
            [('app-1', 'app', None, 'running'),
             ('front', 'front', None, 'running'),
             ('front-watch', 'front', None, 'running')]
            + [(f"{s['name']}@{s['address']}", s['role'], s['epoch'],
                'remote') for s in nodes])
        status, out, err = web_host('smoke')
        self.assertEqual(status, 0, out)
        [secondary] = [s for s in nodes if s['role'] == 'secondary']
        self.assertIn(f"ok      {secondary['name']}@{secondary['address']}:"
                      ' entry replicated', out)
        # The database machine goes: the web machine's services keep the
        # cluster's nodes.
        status, out, err = database_host('down')
        self.assertEqual(status, 0, err)
        self.assertTrue(node_exists(CLUSTER.document['zookeeper'],
                                    '/two-hosts/apps'))
        status, out, err = web_host('down')
        self.assertEqual(status, 0, err)
        self.assertFalse(node_exists(CLUSTER.document['zookeeper'],
                                     '/two-hosts'))
