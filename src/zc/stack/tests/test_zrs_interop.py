"""Our zc.zrs and the original zc.zrs 3.1.0 replicate to each other.

The original runs in a throw-away venv (ZODB 5.5.1, ZEO 5.3.0), as an
external process driven by zrs_peer.py: an original primary feeds our
secondary, our primary feeds an original secondary, and the replicas come
out byte-identical (data files and blob files).

Our secondary offers zrs2.2 first: the original primary closes the
connection, and our secondary asks again with zrs2.1. Our synchronous
primary feeds an original secondary too, which never acknowledges: only
our (zrs2.2) secondaries count for synchronous commit.
"""
import filecmp
import logging
import os
import pathlib
import subprocess
import tempfile
import unittest

import ZODB
import ZODB.blob
import ZODB.FileStorage
from zope.testing.wait import wait

import zc.zrs
import zc.zrs.loop
from zc.stack import peers
from zc.zrs.interfaces import NotAcknowledged
from zc.zrs.tests import support
from zc.zrs.tests.test_synchronous import store

PEER_SCRIPT = pathlib.Path(__file__).with_name('zrs_peer.py')


class OriginalZRSLayer:
    """Builds (once, cached under var/peers) the original's venv."""

    @classmethod
    def setUp(cls):
        cls.python = peers.peer_python(
            'zc.zrs-3.1.0',
            ['zc.zrs==3.1.0', 'ZODB==5.5.1', 'ZEO==5.3.0'],
            pre_install=('pip', 'setuptools<81'))

    @classmethod
    def tearDown(cls):
        zc.zrs.loop.stop()


class Peer:
    """An original Primary or Secondary in its own process."""

    def __init__(self, role, path, address, blob_dir):
        self.process = subprocess.Popen(
            [str(OriginalZRSLayer.python), str(PEER_SCRIPT), role, path,
             '%s:%s' % address, blob_dir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.expect('ready')

    def expect(self, line):
        got = self.process.stdout.readline().strip()
        if got != line:
            self.process.kill()
            raise AssertionError(f'original peer said {got!r}, not {line!r}:'
                                 f'\n{self.process.stderr.read()[-3000:]}')

    def ask(self, command):
        self.process.stdin.write(command + '\n')
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def last_transaction(self):
        return bytes.fromhex(self.ask('last'))

    def close(self):
        if self.process.poll() is None:
            self.ask('quit')
            self.process.stdin.close()
            self.process.wait(support.TIMEOUT)
        self.process.stdout.close()
        self.process.stderr.close()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(support.TIMEOUT)
        for pipe in (self.process.stdin, self.process.stdout,
                     self.process.stderr):
            pipe.close()


def same_tree(a, b):
    """Same files with the same bytes (blob directories; the temporary
    directory of uncommitted blobs is not compared)."""
    def files(root):
        return sorted(os.path.relpath(os.path.join(d, f), root)
                      for d, _, names in os.walk(root) for f in names
                      if '/tmp' not in d and not f.startswith('.'))
    names = files(a)
    return names == files(b) and all(
        filecmp.cmp(os.path.join(a, n), os.path.join(b, n), shallow=False)
        for n in names)


class OriginalPeerTest(unittest.TestCase):
    """A temporary directory, captured logs, replicas to compare."""

    layer = OriginalZRSLayer

    def setUp(self):
        self.addCleanup(zc.zrs.loop.stop)  # runs last
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.logs = support.LogCapture().install()
        self.addCleanup(self.logs.uninstall)

    def path(self, name):
        return os.path.join(self.dir, name)

    def assertIdenticalReplica(self):
        self.assertTrue(support.same_bytes(self.path('p.fs'),
                                           self.path('s.fs')))
        self.assertTrue(same_tree(self.path('p.blobs'),
                                  self.path('s.blobs')))
        self.assertEqual(self.logs.messages(), [])


class InteropTests(OriginalPeerTest):

    def test_original_primary_feeds_our_secondary(self):
        address = ('127.0.0.1', support.free_port())
        peer = Peer('primary', self.path('p.fs'), address,
                    self.path('p.blobs'))
        self.addCleanup(peer.kill)
        self.assertEqual(peer.ask('commit 20 100'), 'done')
        self.assertEqual(peer.ask('blob early 200000'), 'done')
        secondary = zc.zrs.Secondary(
            ZODB.FileStorage.FileStorage(self.path('s.fs'),
                                         blob_dir=self.path('s.blobs')),
            address, reconnect_delay=0.2)
        self.addCleanup(secondary.close)
        self.assertEqual(peer.ask('commit 30 5000'), 'done')
        self.assertEqual(peer.ask('blob late 70000'), 'done')
        last = peer.last_transaction()
        wait(lambda: secondary.lastTransaction() == last,
             timeout=support.TIMEOUT)
        peer.close()
        secondary.close()
        self.assertIdenticalReplica()

    def test_our_primary_feeds_an_original_secondary(self):
        primary = zc.zrs.Primary(
            ZODB.FileStorage.FileStorage(self.path('p.fs'),
                                         blob_dir=self.path('p.blobs')),
            ('127.0.0.1', 0))
        self.addCleanup(primary.close)
        db = ZODB.DB(primary)
        for i in range(20):
            with db.transaction(f'before {i}') as conn:
                conn.root()[f'k{i % 5}'] = os.urandom(100 * i)
        with db.transaction() as conn:
            blob = conn.root()['blob'] = ZODB.blob.Blob()
            with blob.open('w') as f:
                f.write(os.urandom(150000))
        peer = Peer('secondary', self.path('s.fs'), primary.address,
                    self.path('s.blobs'))
        self.addCleanup(peer.kill)
        conn = db.open()
        for i in range(30):
            conn.root()[f'k{i % 5}'] = os.urandom(50 * i)
            txn = conn.transaction_manager.get()
            txn.setExtendedInfo('i', i)
            txn.setUser(f'user {i}')
            txn.commit()
        conn.close()
        last = primary.lastTransaction()
        wait(lambda: peer.last_transaction() == last,
             timeout=support.TIMEOUT, wait=0.1)
        peer.close()
        db.close()
        self.assertIdenticalReplica()


class NegotiationTests(OriginalPeerTest):
    """zrs2.2 meets the original."""

    def our_secondary(self, address, name='s'):
        secondary = zc.zrs.Secondary(
            ZODB.FileStorage.FileStorage(self.path(f'{name}.fs'),
                                         blob_dir=self.path(f'{name}.blobs')),
            address, reconnect_delay=0.2)
        self.addCleanup(secondary.close)
        return secondary

    def test_our_secondary_falls_back_to_zrs21_once(self):
        address = ('127.0.0.1', support.free_port())
        peer = Peer('primary', self.path('p.fs'), address,
                    self.path('p.blobs'))
        self.addCleanup(peer.kill)
        self.assertEqual(peer.ask('commit 5 100'), 'done')
        secondary = self.our_secondary(address)
        last = peer.last_transaction()
        wait(lambda: secondary.lastTransaction() == last,
             timeout=support.TIMEOUT)
        self.assertEqual(secondary.replication_status()['protocol'],
                         'zrs2.1')
        # The original primary restarts: our secondary offers zrs2.2 again,
        # falls back again, and says so only once.
        peer.close()
        wait(lambda: not secondary.replication_status()['connected'],
             timeout=support.TIMEOUT)
        peer = Peer('primary', self.path('p.fs'), address,
                    self.path('p.blobs'))
        self.addCleanup(peer.kill)
        self.assertEqual(peer.ask('commit 5 1000'), 'done')
        last = peer.last_transaction()
        wait(lambda: secondary.lastTransaction() == last,
             timeout=support.TIMEOUT)
        fallbacks = [m for m in self.logs.messages(logging.INFO)
                     if 'does not speak zrs2.2' in m]
        self.assertEqual(fallbacks, [
            'primary 127.0.0.1:%s does not speak zrs2.2: replicating with '
            'zrs2.1' % address[1]])
        self.assertEqual(secondary.epoch, 0)  # an original has none
        peer.close()
        secondary.close()
        self.assertIdenticalReplica()

    def test_a_synchronous_primary_feeds_an_original_secondary(self):
        primary = zc.zrs.Primary(
            ZODB.FileStorage.FileStorage(self.path('p.fs'),
                                         blob_dir=self.path('p.blobs')),
            ('127.0.0.1', 0), synchronous=1, synchronous_timeout=0.5)
        self.addCleanup(primary.close)
        peer = Peer('secondary', self.path('s.fs'), primary.address,
                    self.path('s.blobs'))
        self.addCleanup(peer.kill)
        wait(lambda: [s['protocol'] for s in primary.replication_status()]
             == ['zrs2.1'], timeout=support.TIMEOUT)
        # The original secondary gets it, but never acknowledges it.
        with self.assertRaises(NotAcknowledged):
            store(primary, b'first')
        self.assertIsNone(primary.acknowledged())
        wait(lambda: peer.last_transaction() == primary.lastTransaction(),
             timeout=support.TIMEOUT, wait=0.1)
        # Ours does: synchronous commit resumes, the original follows.
        ours = self.our_secondary(primary.address, 'o')
        wait(lambda: primary.acknowledged() == primary.lastTransaction(),
             timeout=support.TIMEOUT)
        db = ZODB.DB(primary)
        for i in range(10):
            with db.transaction() as conn:
                conn.root()[f'k{i % 3}'] = os.urandom(100 * i)
            self.assertEqual(ours.lastTransaction(),
                             primary.lastTransaction())
        last = primary.lastTransaction()
        wait(lambda: peer.last_transaction() == last,
             timeout=support.TIMEOUT, wait=0.1)
        peer.close()
        ours.close()
        db.close()
        self.assertIdenticalReplica()
        self.assertTrue(support.same_bytes(self.path('p.fs'),
                                           self.path('o.fs')))
