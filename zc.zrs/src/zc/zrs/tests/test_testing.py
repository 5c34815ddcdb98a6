"""zc.zrs.testing.server: a primary and a secondary in one call, as
storages or as ZEO servers."""
import os
import tempfile
import unittest

import ZEO
import ZODB
import ZODB.blob

import zc.zrs.loop
import zc.zrs.primary
import zc.zrs.secondary
import zc.zrs.testing
from zc.zrs.tests import support


class ServerTests(unittest.TestCase):

    def setUp(self):
        self.addCleanup(zc.zrs.loop.stop)
        self._tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self._tmp.cleanup)
        self.directory = self._tmp.name
        self.logs = support.LogCapture().install()
        self.addCleanup(self.logs.uninstall)

    def path(self, name):
        return os.path.join(self.directory, name)

    def test_storages(self):
        with zc.zrs.testing.server(self.directory, blobs=True) as pair:
            self.assertIsInstance(pair.primary, zc.zrs.primary.Primary)
            self.assertIsInstance(pair.secondary,
                                  zc.zrs.secondary.Secondary)
            self.assertEqual(pair.replication_address, pair.primary.address)
            db = ZODB.DB(pair.primary)
            with db.transaction() as conn:
                conn.root()['blob'] = blob = ZODB.blob.Blob()
                with blob.open('w') as f:
                    f.write(b'replicated')
            pair.caught_up()
            self.assertEqual(pair.secondary.replication_status()['address'],
                             '%s:%s' % pair.primary.address)
            db.close()
        self.assertTrue(zc.zrs.testing.same_bytes(
            self.path('primary.fs'), self.path('secondary.fs')))
        self.assertEqual(self.logs.messages(), [])

    def test_zeo_servers(self):
        pair = zc.zrs.testing.server(self.directory, zeo=True,
                                     keep_alive_delay=30)
        self.addCleanup(pair.stop)
        db = ZEO.DB(pair.primary, wait_timeout=support.TIMEOUT)
        with db.transaction() as conn:
            conn.root()['answer'] = 42
        db.close()
        pair.caught_up()
        reader = ZEO.DB(pair.secondary, read_only=True,
                        wait_timeout=support.TIMEOUT)
        with reader.transaction() as conn:
            self.assertEqual(conn.root()['answer'], 42)
        reader.close()
        pair.stop()
        self.assertTrue(zc.zrs.testing.same_bytes(
            self.path('primary.fs'), self.path('secondary.fs')))
