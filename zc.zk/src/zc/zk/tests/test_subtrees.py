"""``zc.zk.subtrees`` on a plain kazoo client: import, export and deletion
of subtrees need nothing but kazoo's public API."""
import contextlib
import io
import unittest

from kazoo.security import OPEN_ACL_UNSAFE

from zc.zk import subtrees
from zc.zk.testing import ZOOKEEPER
from zc.zk.testing.layer import connect


class SubtreeTests(unittest.TestCase):

    layer = ZOOKEEPER

    def setUp(self):
        self.client = connect(ZOOKEEPER.connection_string)

    def tearDown(self):
        self.client.stop()
        self.client.close()

    tree = ('/cms : z4m\n'
            '  workers = [1, 2]\n'
            '  store -> /db\n'
            '  /providers\n'
            '/db\n'
            '  /tables\n'
            '    size = 10\n')

    def test_import_export_and_delete(self):
        subtrees.import_tree(self.client, self.tree, '/top')
        indented = ''.join(f'  {line}\n' for line in self.tree.splitlines())
        self.assertEqual(subtrees.export_tree(self.client, '/top'),
                         '/top\n' + indented)
        self.client.create('/top/cms/providers/h:1', ephemeral=True)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            subtrees.delete_recursive(self.client, '/top')
        self.assertEqual(out.getvalue(),
                         "Not deleting /top/cms/providers/h:1 because it's"
                         " ephemeral.\n"
                         '/top/cms/providers not deleted due to ephemeral'
                         ' descendent.\n/top/cms not deleted due to'
                         ' ephemeral descendent.\n/top not deleted due to'
                         ' ephemeral descendent.\n')
        self.assertIsNone(self.client.exists('/top/db/tables'))
        subtrees.delete_recursive(self.client, '/top', force=True)
        self.assertIsNone(self.client.exists('/top'))

    def test_large_values_are_imported_in_requests_the_server_takes(self):
        # 1.2 MB of data: more than ZooKeeper takes in one request (1 MB),
        # in fewer nodes than a transaction holds.
        value = 'x' * 100_000
        tree = ''.join(f'/n{i}\n  blob = {value!r}\n' for i in range(12))
        subtrees.import_tree(self.client, tree, '/big')
        self.assertEqual(len(self.client.get_children('/big')), 12)
        self.assertEqual(self.client.get('/big/n11')[0],
                         b'{"blob":"' + value.encode() + b'"}')

    def test_a_dry_run_changes_nothing(self):
        subtrees.import_tree(self.client, self.tree, acl=OPEN_ACL_UNSAFE)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            subtrees.import_tree(self.client,
                                 self.tree.replace('size = 10', 'size = 11'),
                                 dry_run=True)
        self.assertEqual(out.getvalue(),
                         '/db/tables size change from 10 to 11\n')
        self.assertEqual(self.client.get('/db/tables')[0], b'{"size":10}')
