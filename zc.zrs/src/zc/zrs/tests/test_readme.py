"""The README, executed."""
import doctest
import logging
import os
import tempfile
import unittest

import zope.component.testing

import zc.zrs.loop
from zc.zk.testing import ZOOKEEPER
from zc.zrs.tests import support


def setUp(test):
    zope.component.testing.setUp()
    test.globs['_old_cwd'] = os.getcwd()
    test.globs['_tmp'] = tempfile.TemporaryDirectory()
    os.chdir(test.globs['_tmp'].name)
    test.globs['_logs'] = support.LogCapture().install()


def tearDown(test):
    zope.component.testing.tearDown()
    os.chdir(test.globs['_old_cwd'])
    test.globs['_tmp'].cleanup()
    zc.zrs.loop.stop()
    logs = test.globs['_logs']
    logs.uninstall()
    errors = logs.messages(logging.ERROR)
    assert not errors, f'the README logged errors: {errors}'


def test_suite():
    suite = doctest.DocFileSuite(
        '../README.rst', setUp=setUp, tearDown=tearDown,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        | doctest.IGNORE_EXCEPTION_DETAIL)
    suite.layer = ZOOKEEPER  # the ZooKeeper section runs against it
    return suite
