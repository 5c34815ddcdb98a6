"""``zc.zk.subtrees`` on a plain kazoo client: import, export and deletion
of subtrees need nothing but kazoo's public API."""
import contextlib
import io
import unittest

from kazoo.security import OPEN_ACL_UNSAFE

from zc.zk import subtrees
from zc.zk.testing import ZOOKEEPER
from zc.zk.testing.layer import connect

TREE = '''\
/app : web
  threads = 4
  db -> /db
  /providers
/db
  size = 10
'''


class SubtreeTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.client = connect(ZOOKEEPER.connection_string)
        self.addCleanup(self.client.close)
        self.addCleanup(self.client.stop)

    def test_import_export_and_delete(self):
        subtrees.import_tree(self.client, TREE, '/top')
        self.assertEqual(subtrees.export_tree(self.client, '/top'),
                         '/top\n' + ''.join(f'  {line}\n'
                                            for line in TREE.splitlines()))
        self.client.create('/top/app/providers/h:1', ephemeral=True)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            subtrees.delete_recursive(self.client, '/top')
        self.assertEqual(out.getvalue(),
                         "Not deleting /top/app/providers/h:1 because it's"
                         " ephemeral.\n"
                         '/top/app/providers not deleted due to ephemeral'
                         ' descendent.\n/top/app not deleted due to'
                         ' ephemeral descendent.\n/top not deleted due to'
                         ' ephemeral descendent.\n')
        self.assertIsNone(self.client.exists('/top/db'))
        subtrees.delete_recursive(self.client, '/top', force=True)
        self.assertIsNone(self.client.exists('/top'))

    def test_a_dry_run_changes_nothing(self):
        subtrees.import_tree(self.client, TREE, acl=OPEN_ACL_UNSAFE)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            subtrees.import_tree(self.client,
                                 TREE.replace('size = 10', 'size = 11'),
                                 dry_run=True)
        self.assertEqual(out.getvalue(), '/db size change from 10 to 11\n')
        self.assertEqual(self.client.get('/db')[0], b'{"size":10}')
