"""The README doctest, against the real ZooKeeper of zc.zk.testing."""
import doctest
import os

import transaction
import ZODB.config

import zc.zk
import zc.zkzeo
import zc.zkzeo.nagios
import zc.zkzeo.runzeo
from zc.zk.testing import ZOOKEEPER
from zc.zkzeo.tests import helpers

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
README = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                      'README.rst')


def nagios(*args):
    """Run zkzeo-nagios; show its output and exit status."""
    print(zc.zkzeo.nagios.main(list(args)) or 0)


def read(path):
    with open(path) as f:
        return f.read()


def setUp(test):
    helpers.doctest_setUp(test, 'zc.zkzeo-test-')
    test.globs.update(
        zookeeper=ZOOKEEPER.connection_string, zc=zc,
        transaction=transaction, ZODB=ZODB, write=helpers.write, read=read,
        ZKRunZEO=helpers.ZKRunZEO, wait_registered=helpers.wait_registered,
        nagios=nagios)


def test_suite():
    suite = doctest.DocFileSuite(
        README, module_relative=False, setUp=setUp, tearDown=helpers.doctest_tearDown,
        optionflags=OPTIONS)
    suite.layer = ZOOKEEPER
    return suite
