"""High-availability nodes in one process against a real ZooKeeper: the
election, the epochs, promotion, following, rejoin with truncation, the
switchover API and the status function."""
import functools
import io
import json
import logging
import socket
import ssl
import threading
import time
from unittest import mock

import persistent.mapping
import ZConfig
import ZODB
import ZODB.config
import ZODB.FileStorage
import ZODB.POSException
import ZODB.utils
import zope.component.testing
from kazoo.protocol.states import Callback
from zope.testing.wait import wait

import zc.zk
from zc.zk.testing import ZOOKEEPER
from zc.zrs import election
from zc.zrs import monitor
from zc.zrs.node import Node
from zc.zrs.tests import support
from zc.zrs.tests.test_replication import TempDirTest

PATH = '/databases/main'


class NodeTest(TempDirTest):
    """Nodes named after their data files, in the test's chroot."""

    layer = ZOOKEEPER

    def setUp(self):
        super().setUp()
        self.zookeeper = self.layer.connection_string
        self.nodes = {}
        self.dbs = {}

    def node(self, name, replicate_to=('127.0.0.1', 0), **kw):
        kw.setdefault('secondary_options', dict(reconnect_delay=0.1))
        kw.setdefault('election_timeout', 2)
        node = Node(functools.partial(ZODB.FileStorage.FileStorage,
                                      self.path(f'{name}.fs')),
                    replicate_to, self.zookeeper, PATH, name=name,
                    zookeeper_session_timeout=2, **kw)
        self.nodes[name] = node
        self.addCleanup(self.close, name)
        return node

    def close(self, name):
        node = self.nodes.pop(name, None)
        db = self.dbs.pop(name, None)
        if db is not None:
            db.close()  # closes the node
        elif node is not None:
            node.close()

    def wait_role(self, node, role):
        wait(lambda: node.role == role, timeout=support.TIMEOUT,
             message=f'{node.name} is {node.role}, not {role}')

    def pair(self, second='b', **kw):
        """Node a, primary, and node ``second``, its secondary."""
        a = self.node('a', **kw)
        self.wait_role(a, 'primary')
        b = self.node(second, **kw)
        self.wait_role(b, 'secondary')
        return a, b

    def status(self):
        return election.status(self.zookeeper, PATH)

    def commit(self, node, count=1, start=0):
        """Commit through a DB of the node (opened once it is primary)."""
        if node.name not in self.dbs:
            self.dbs[node.name] = ZODB.DB(node)
        db = self.dbs[node.name]
        for i in range(start, start + count):
            with db.transaction(f'commit {i}') as conn:
                conn.root()[i % 5] = i

    def caught_up(self, secondary, primary):
        wait(lambda: secondary.lastTransaction()
             == primary.lastTransaction(), timeout=support.TIMEOUT)


class ElectionTests(NodeTest):

    def test_first_node_is_primary_and_the_next_follows(self):
        a, b = self.pair()
        self.assertFalse(a.isReadOnly())
        self.assertTrue(b.isReadOnly())
        self.commit(a, 5)
        self.caught_up(b, a)
        status = self.status()
        self.assertEqual(status['epoch'], 1)
        self.assertEqual(status['primary'], 'a')
        self.assertEqual([(n['name'], n['role'], n['epoch'])
                          for n in status['nodes']],
                         [('a', 'primary', 1), ('b', 'secondary', 1)])
        self.assertEqual(status['nodes'][0]['replication'],
                         '127.0.0.1:%s' % a.address[1])
        with zc.zk.ZooKeeper(self.zookeeper) as zk:
            self.assertEqual(zk.get_children(PATH + '/replication'),
                             ['127.0.0.1:%s' % a.address[1]])
            entries, _ = election.read_epochs(zk.client, PATH)
        self.assertEqual(entries[0][0], 1)
        self.assertEqual(entries[0][2], 'a')

    def test_the_secondary_takes_over_when_the_primary_leaves(self):
        a, b = self.pair()
        self.commit(a, 5)
        self.caught_up(b, a)
        last = a.lastTransaction()
        self.close('a')
        self.wait_role(b, 'primary')
        self.assertEqual(self.status()['epoch'], 2)
        self.commit(b, 3, start=5)
        self.assertGreater(b.lastTransaction(), last)
        with zc.zk.ZooKeeper(self.zookeeper) as zk:
            entries, _ = election.read_epochs(zk.client, PATH)
        self.assertEqual(entries[1], (2, last, 'b'))

    def test_the_most_current_node_wins(self):
        a = self.node('a')
        self.wait_role(a, 'primary')
        self.commit(a, 3)
        self.close('a')  # a has 3 transactions; b and c none
        c = self.node('c')
        self.wait_role(c, 'primary')  # alone: it wins epoch 2
        self.close('c')
        a = self.node('a')
        b = self.node('b')
        # a's data followed epoch 1 (it was its primary) and has what
        # epoch 2 lacks: it is cut to epoch 2's start, like b's empty file
        # they tie, and the smaller name wins.
        self.wait_role(a, 'primary')
        self.wait_role(b, 'secondary')
        self.assertEqual(a.lastTransaction(), ZODB.utils.z64)
        self.assertEqual(self.status()['epoch'], 3)


class ClosingTests(NodeTest):

    def test_a_closed_elector_asks_zookeeper_nothing_more(self):
        # Between the elector's close and the end of the node's session,
        # the other nodes' comings and goings must not make it read
        # ZooKeeper: a read issued while the session closes may never be
        # answered, and kazoo's stop() then waits for ever for its
        # callback thread (the node never exits). kazoo's watch recipes,
        # which the elector used, read on every event, closed or not.
        a, b = self.pair()
        b._elector.close()
        client = b.zk.client
        get_children = client.get_children
        reads = []

        def recorded(path, *args, **kw):
            reads.append(path)
            return get_children(path, *args, **kw)
        nodes = f'{PATH}/{election.NODES}'
        with mock.patch.object(client, 'get_children', recorded):
            self.close('a')  # its lock and its node go away
            # ZooKeeper tells b's session of the change before it shows
            # it; once the callback thread did what came before a marker,
            # it has handled the events.
            wait(lambda: get_children(nodes) == ['b'],
                 timeout=support.TIMEOUT)
            handled = threading.Event()
            client.handler.dispatch_callback(
                Callback('watch', handled.set, ()))
            self.assertTrue(handled.wait(support.TIMEOUT))
        self.assertEqual([path for path in reads if path in (
            PATH, nodes, f'{PATH}/{election.LEADER}')], [])


class RestartTests(NodeTest):

    def test_a_node_waits_until_its_previous_life_is_forgotten(self):
        # A node restarted at once (zdaemon) finds the node of its previous
        # process, whose session has not expired yet: it waits until that
        # is gone and then publishes its own, instead of writing into one
        # about to vanish (and then missing from the status until its
        # properties change).
        a = self.node('a')
        self.wait_role(a, 'primary')
        with zc.zk.ZooKeeper(self.zookeeper) as previous:
            previous.create(PATH + '/nodes/b', b'{"role": "secondary"}',
                            ephemeral=True)
            b = self.node('b')
            self.wait_role(b, 'secondary')

            def waiting():
                return [m for m in self.logs.messages(logging.INFO)
                        if 'previous life' in m]
            wait(waiting, timeout=support.TIMEOUT)
            self.assertIn('node b: waiting until ZooKeeper ends the session',
                          waiting()[0])
            self.assertEqual(previous.get_properties(PATH + '/nodes/b'),
                             {'role': 'secondary'})
        wait(lambda: [n['name'] for n in self.status()['nodes']]
             == ['a', 'b'], timeout=support.TIMEOUT)
        [_, published] = self.status()['nodes']
        self.assertEqual((published['role'], published['epoch']),
                         ('secondary', 1))


class FailedPromotionTests(NodeTest):

    def test_a_node_that_cannot_serve_gives_the_election_up(self):
        # When a leaves, b wins (same data as c, smaller name), but its
        # replication port is taken: it gives the lock up and stays out of
        # elections for a while, so c wins the next epoch instead of the
        # database staying without a primary; b follows c.
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        a, c = self.pair('c')
        b = self.node('b', replicate_to=taken.getsockname())
        self.wait_role(b, 'secondary')
        self.commit(a, 3)
        self.caught_up(b, a)
        self.caught_up(c, a)
        self.close('a')

        def failed():
            return [m for m in self.logs.messages(logging.ERROR)
                    if 'could not become the primary' in m]
        wait(failed, timeout=support.TIMEOUT)
        self.assertIn('node b could not become the primary of epoch 2: '
                      'giving the election up', failed()[0])
        self.wait_role(c, 'primary')
        self.wait_role(b, 'secondary')
        self.assertTrue(b.isReadOnly())
        self.commit(c, 3, start=3)
        self.caught_up(b, c)
        status = self.status()
        self.assertEqual((status['epoch'], status['primary']), (3, 'c'))
        with zc.zk.ZooKeeper(self.zookeeper) as zk:
            entries, _ = election.read_epochs(zk.client, PATH)
            self.assertEqual(zk.get_children(PATH + '/replication'),
                             ['127.0.0.1:%s' % c.address[1]])
        self.assertEqual([(e, n) for e, _, n in entries],
                         [(1, 'a'), (2, 'b'), (3, 'c')])
        self.assertEqual(len(failed()), 1)


class RejoinTests(NodeTest):

    def test_an_old_primary_cuts_what_it_alone_had_and_follows(self):
        a, b = self.pair()
        self.commit(a, 5)
        self.caught_up(b, a)
        self.close('b')
        self.commit(a, 2, start=5)  # never replicated
        self.close('a')
        b = self.node('b')
        self.wait_role(b, 'primary')  # epoch 2, from what b had
        self.commit(b, 3, start=10)
        a = self.node('a')
        self.wait_role(a, 'secondary')
        self.caught_up(a, b)
        self.assertEqual(a.data_epoch, 2)
        self.close('a')
        self.close('b')
        support.assert_replica(self, self.path('b.fs'), self.path('a.fs'))
        warnings = [m for m in self.logs.messages(30) if 'removed' in m]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn('removed 2 transactions', warnings[0])


class NewEpochTests(NodeTest):

    def test_a_new_primary_is_followed_once_the_data_is_in_its_epoch(self):
        # a, restarted at once after leading epoch 1 (it waits for its
        # previous process's node to go), follows epoch 1 while b wins
        # epoch 2 without what a alone had. a connects to b only after
        # cutting that: b neither refuses it nor is asked for a tid it
        # never had.
        a, b = self.pair()
        self.commit(a, 3)
        self.caught_up(b, a)
        self.close('b')
        self.commit(a, 2, start=3)  # never replicated
        self.close('a')
        with zc.zk.ZooKeeper(self.zookeeper) as previous:
            previous.create(PATH + '/nodes/a', b'{"role": "primary"}',
                            ephemeral=True)
            a = self.node('a')
            self.wait_role(a, 'secondary')  # following epoch 1
            b = self.node('b')
            self.wait_role(b, 'primary')
            self.commit(b, 2, start=10)
            wait(lambda: a.data_epoch == 2, timeout=support.TIMEOUT)
            self.caught_up(a, b)
        self.assertEqual(self.status()['epoch'], 2)
        self.assertEqual(self.logs.messages(logging.ERROR), [])
        self.assertEqual([m for m in self.logs.messages(logging.WARNING)
                          if 'removed' in m or 'does not have' in m],
                         ['node a: removed 2 transactions after '
                          + ZODB.utils.tid_repr(self.start_of(2))
                          + ' that epoch 2 does not have'])
        self.close('a')
        self.close('b')
        support.assert_replica(self, self.path('b.fs'), self.path('a.fs'))

    def start_of(self, epoch):
        with zc.zk.ZooKeeper(self.zookeeper) as zk:
            entries, _ = election.read_epochs(zk.client, PATH)
        return dict((e, tid) for e, tid, _ in entries)[epoch]


class SwitchoverTests(NodeTest):

    def test_planned_switchover(self):
        a, b = self.pair()
        self.commit(a, 5)
        status = election.switchover(self.zookeeper, PATH, to='b')
        self.assertEqual(status['primary'], 'b')
        self.assertEqual(status['epoch'], 2)
        self.wait_role(a, 'secondary')
        self.commit(b, 2, start=5)
        self.caught_up(a, b)
        self.assertEqual(len(list(b.iterator())), 8)  # with the root

    def test_switchover_under_load(self):
        # Synchronous commit, with writers committing all along: the
        # switchover succeeds, every commit a writer saw succeed is on the
        # new primary, and the old one rejoins without cutting anything
        # (commits begun before the fence finish before the last tid is
        # read, and the target may be past the tid waited for).
        a, b = self.pair(primary_options=dict(synchronous=1,
                                              synchronous_timeout=10))
        self.commit(a)
        db = self.dbs['a']
        with db.transaction() as conn:  # one object each: no conflicts
            for writer in range(4):
                conn.root()[writer] = persistent.mapping.PersistentMapping()
        done = threading.Event()
        succeeded = []

        def write(writer):
            for i in range(10000):
                if done.is_set():
                    return
                name = f'writer {writer} commit {i}'
                try:
                    with db.transaction(name) as conn:
                        conn.root()[writer]['i'] = i
                except (ZODB.POSException.ReadOnlyError,
                        ZODB.POSException.StorageError):
                    time.sleep(0.01)
                else:
                    succeeded.append(name)

        writers = [threading.Thread(target=write, args=(w,), daemon=True)
                   for w in range(4)]
        for thread in writers:
            thread.start()
        wait(lambda: len(succeeded) >= 20, timeout=support.TIMEOUT)
        status = election.switchover(self.zookeeper, PATH, to='b')
        done.set()
        for thread in writers:
            thread.join(support.TIMEOUT)
        self.assertEqual(status['primary'], 'b')
        self.wait_role(a, 'secondary')
        self.commit(b, start=5)
        self.caught_up(a, b)
        on_b = {t.description.decode() for t in b.iterator()}
        self.assertEqual(set(succeeded) - on_b, set())
        self.assertEqual(
            [m for m in self.logs.messages(30) if 'removed' in m], [])
        self.close('a')
        self.close('b')
        support.assert_replica(self, self.path('b.fs'), self.path('a.fs'))

    def test_a_lagging_target_does_not_win_when_the_primary_dies(self):
        # A planned switchover's target wins only the ties among the most
        # current nodes: should the primary die before the target caught up
        # (b never can here: it speaks TLS to a plain primary), the most
        # current node wins, with every acknowledged commit.
        a, c = self.pair('c', primary_options=dict(synchronous=1,
                                                   synchronous_timeout=10))
        self.commit(a, 3)  # c acknowledged them
        last = a.lastTransaction()
        b = self.node('b', secondary_options=dict(
            reconnect_delay=0.1, ssl=ssl.create_default_context()))
        self.wait_role(b, 'secondary')
        with zc.zk.ZooKeeper(self.zookeeper) as zk:
            # A request naming no primary, which a never acts on: as if
            # a died before it saw the request.
            zk.create(PATH + '/switchover', json.dumps(dict(
                to='b')).encode(), ephemeral=True)
            self.close('a')
            self.wait_role(c, 'primary')
            self.wait_role(b, 'secondary')
        status = self.status()
        self.assertEqual((status['epoch'], status['primary']), (2, 'c'))
        self.assertEqual(c.lastTransaction(), last)
        self.assertEqual(
            [m for m in self.logs.messages(30) if 'removed' in m], [])

    def test_switchover_to_an_unknown_node(self):
        a = self.node('a')
        self.wait_role(a, 'primary')
        with self.assertRaises(ValueError) as caught:
            election.switchover(self.zookeeper, PATH, to='nobody')
        self.assertIn("no live node 'nobody'", str(caught.exception))


class ConfigurationTests(NodeTest):

    def config(self, body, path='node.fs'):
        return f'''
            %import zc.zrs
            <zrs>
              {body}
              <filestorage>
                path {self.path(path)}
              </filestorage>
            </zrs>'''

    def test_a_node_from_configuration(self):
        node = ZODB.config.storageFromString(self.config(f'''
            failover on
            node-name first
            replicate-to 127.0.0.1:0
            zookeeper {self.zookeeper}
            zookeeper-path {PATH}
            zookeeper-session-timeout 2
            election-timeout 1'''))
        self.addCleanup(node.close)
        self.assertIsInstance(node, Node)
        self.assertEqual(node.name, 'first')
        self.wait_role(node, 'primary')
        self.assertEqual(self.status()['primary'], 'first')

    def assertRefused(self, body, *words):
        with self.assertRaises(ZConfig.ConfigurationError) as caught:
            ZODB.config.storageFromString(self.config(body, 'refused.fs'))
        message = str(caught.exception)
        self.assertNotIn('\n', message)
        for word in words:
            self.assertIn(word, message)

    def test_inconsistent_failover_keys(self):
        zk = f'zookeeper {self.zookeeper}'
        self.assertRefused('failover on\nreplicate-to 127.0.0.1:0',
                           'failover needs zookeeper, zookeeper-path')
        self.assertRefused(f'failover on\n{zk}\nzookeeper-path /x',
                           'failover needs replicate-to')
        self.assertRefused(f'failover on\n{zk}\nzookeeper-path /x\n'
                           f'replicate-to 127.0.0.1:0\nreplicate-from /y',
                           'no replicate-from')
        self.assertRefused(f'failover on\n{zk}\nzookeeper-path /x\n'
                           f'replicate-to {self.path("sock")}',
                           'TCP replicate-to')
        self.assertRefused(f'failover on\n{zk}\nzookeeper-path /x\n'
                           f'replicate-to 127.0.0.1:0\nnode-name a/b',
                           'node-name', 'without /')
        self.assertRefused(f'failover on\n{zk}\nzookeeper-path /x\n'
                           f'replicate-to 127.0.0.1:0\nelection-timeout 0',
                           'election-timeout must be more than 0')
        self.assertRefused('replicate-to 127.0.0.1:0\nnode-name a',
                           'node-name needs failover on')


class MonitoringTests(NodeTest):

    def setUp(self):
        super().setUp()
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)

    def replication(self):
        out = io.StringIO()
        monitor.replication(out)
        return out.getvalue()

    def test_the_replication_command_shows_the_current_role(self):
        a = self.node('a')
        self.wait_role(a, 'primary')
        monitor.register(a, 'main')
        self.assertEqual(self.replication(), 'main primary secondaries=0\n')
        b = self.node('b')
        monitor.register(b, 'copy')
        self.wait_role(b, 'secondary')
        wait(lambda: 'main primary secondary=' in self.replication(),
             timeout=support.TIMEOUT)
        self.assertIn('copy secondary primary=127.0.0.1:%s connected=yes'
                      % a.address[1], self.replication())
