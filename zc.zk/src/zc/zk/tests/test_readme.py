"""The README doctest, against the fake and against a real server."""
import doctest
import os
import unittest

import zc.zk.testing

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
README = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                      'README.rst')


def setUp_fake(test):
    zc.zk.testing.setUp(test, real=False)


def setUp_real(test):
    zc.zk.testing.setUp(test, real=True)


def test_suite():
    fake = doctest.DocFileSuite(
        README, module_relative=False, setUp=setUp_fake,
        tearDown=zc.zk.testing.tearDown, optionflags=OPTIONS)
    real = doctest.DocFileSuite(
        README, module_relative=False, setUp=setUp_real,
        tearDown=zc.zk.testing.tearDown, optionflags=OPTIONS)
    real.layer = zc.zk.testing.ZOOKEEPER
    return unittest.TestSuite([fake, real])
