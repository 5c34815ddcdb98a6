"""Replication under data-transforming storage wrappers (<hexstorage>)."""
import ZODB
import ZODB.config

from zc.zrs.tests import support
from zc.zrs.tests.test_replication import TempDirTest


class XformTests(TempDirTest):

    def open(self, replication, name):
        storage = ZODB.config.storageFromString(f'''
            %import zc.zrs
            %import zc.zrs.xformstorage
            <hexstorage>
              <zrs>
                {replication}
                reconnect-delay 1
                <filestorage>
                  path {self.path(name)}
                </filestorage>
              </zrs>
            </hexstorage>''')
        self.addCleanup(storage.close)
        return storage

    def test_hex_records_replicate(self):
        primary = self.open('replicate-to 127.0.0.1:0', 'primary.fs')
        db = ZODB.DB(primary)
        with db.transaction() as conn:
            conn.root()['word'] = 'replicated'
        address = primary.base.address
        secondary = self.open(f'replicate-from {address[0]}:{address[1]}',
                              'secondary.fs')
        self.caught_up(secondary, primary)
        secondary_db = ZODB.DB(secondary)
        with secondary_db.transaction() as conn:
            self.assertEqual(conn.root()['word'], 'replicated')
        with open(self.path('secondary.fs'), 'rb') as f:
            self.assertIn(b'.h', f.read())  # stored transformed
        with db.transaction() as conn:
            conn.root()['word'] = 'again'
        self.caught_up(secondary, primary)
        with secondary_db.transaction() as conn:
            self.assertEqual(conn.root()['word'], 'again')
        secondary_db.close()
        db.close()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertNoErrors()
