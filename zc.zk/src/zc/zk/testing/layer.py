"""A zope.testrunner layer running a real ZooKeeper server.

``ZOOKEEPER`` is the layer zc.zk's tests and the packages built on zc.zk
share: one server for every test of the layer, started in the layer's
``setUp``, and a fresh chroot for each test::

    from zc.zk.testing import ZOOKEEPER

    class RegistrationTests(unittest.TestCase):
        layer = ZOOKEEPER

        def test_register(self):
            with zc.zk.ZooKeeper(ZOOKEEPER.connection_string) as zk:
                ...

A package whose own servers need ZooKeeper makes a layer on top of it
(``bases=(ZOOKEEPER,)``), or subclasses ``ZooKeeperLayer`` (calling
``super().setUp()``) for a server of its own.

With ``TEST_ZOOKEEPER_CONNECTION`` set, the layer uses that server instead
of starting one. While the layer is set up, it sets that variable to its
server, so ``zc.zk.testing.setUp`` and subprocesses find it.
"""
import logging
import os
import sys
import uuid

from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError, NoNodeError

from zc.zk.testing.server import SUPERUSER, Server, ZooKeeperUnavailable

logger = logging.getLogger(__name__)

CONNECTION_VARIABLE = 'TEST_ZOOKEEPER_CONNECTION'
CONNECT_TIMEOUT = 30


def connect(hosts, timeout=CONNECT_TIMEOUT):
    """A started kazoo client (the superuser of our test servers), or a
    one-line ZooKeeperUnavailable."""
    client = KazooClient(hosts, timeout=10.0,
                         auth_data=[('digest', SUPERUSER)])
    try:
        client.start(timeout=timeout)
    except Exception as error:
        client.close()
        raise ZooKeeperUnavailable(
            f'cannot connect to ZooKeeper at {hosts} ({error})') from None
    return client


def delete_tree(client, path):
    """Delete ``path`` and everything under it, whatever is in it."""
    try:
        client.delete(path, recursive=True)
    except NoNodeError:
        pass
    except NoAuthError:  # a server of someone else's: we are no superuser
        logger.warning('could not delete %s: not allowed', path)


class ZooKeeperLayer:
    """A layer (an instance: ``ZooKeeperLayer('NAME', __name__)``) that
    runs one real ZooKeeper for its tests and gives each test a chroot.

    ``hosts`` is the server's connection string, ``chroot`` the current
    test's node and ``connection_string`` both together.
    """

    def __init__(self, name, module=None, bases=()):
        self.__name__ = name
        self.__module__ = module or sys._getframe(1).f_globals['__name__']
        self.__bases__ = tuple(bases)
        self.server = None
        self.hosts = None
        self.chroot = ''
        self._client = None
        self._saved_variable = None

    def __repr__(self):
        return f'<ZooKeeperLayer {self.__module__}.{self.__name__}>'

    @property
    def connection_string(self):
        return self.hosts + self.chroot

    def setUp(self):
        self._saved_variable = os.environ.get(CONNECTION_VARIABLE)
        if self._saved_variable:
            self.hosts = self._saved_variable
        else:
            self.server = Server()
            try:
                self.server.start()
            except BaseException:
                self._stop_server()
                raise
            self.hosts = self.server.address
        try:
            self._client = connect(self.hosts)
        except ZooKeeperUnavailable:
            self._stop_server()
            raise
        os.environ[CONNECTION_VARIABLE] = self.hosts

    def tearDown(self):
        if self._saved_variable is None:
            os.environ.pop(CONNECTION_VARIABLE, None)
        else:
            os.environ[CONNECTION_VARIABLE] = self._saved_variable
        if self._client is not None:
            self._client.stop()
            self._client.close()
            self._client = None
        self._stop_server()

    def _stop_server(self):
        if self.server is not None:
            self.server.close()
            self.server = None

    def testSetUp(self):
        self.chroot = f'/zc.zk.testing.test-root{uuid.uuid4().hex}'
        self._client.create(self.chroot)

    def testTearDown(self):
        chroot, self.chroot = self.chroot, ''
        if chroot:
            delete_tree(self._client, chroot)


#: The layer zc.zk and the packages built on it share.
ZOOKEEPER = ZooKeeperLayer('ZOOKEEPER', 'zc.zk.testing')


class RestartableZooKeeperLayer:
    """A layer (an instance: ``RestartableZooKeeperLayer('NAME',
    __name__)``) with a ZooKeeper server of its own, for tests that stop,
    kill or restart it; so no other layer's tests share it.

    Each test starts with the server running (one a test left stopped is
    started again), and kazoo's warnings about the connections those tests
    drop on purpose are silenced while the test runs. ``server`` is the
    ``zc.zk.testing.Server``; ``hosts`` (= ``connection_string``) its
    address.
    """

    __bases__ = ()

    def __init__(self, name, module=None):
        self.__name__ = name
        self.__module__ = module or sys._getframe(1).f_globals['__name__']
        self.server = None

    @property
    def hosts(self):
        return self.server.address

    connection_string = hosts

    def setUp(self):
        self.server = Server()
        try:
            self.server.start()
        except BaseException:
            self.server.close()
            raise

    def tearDown(self):
        self.server.close()
        self.server = None

    def testSetUp(self):
        logging.getLogger('kazoo').setLevel(logging.CRITICAL)

    def testTearDown(self):
        logging.getLogger('kazoo').setLevel(logging.NOTSET)
        if not self.server.running:
            self.server.start()
