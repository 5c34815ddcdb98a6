"""The README, executed."""
import doctest
import functools
import logging
import os
import subprocess
import sys
import tempfile
import unittest

import zope.component.testing

import zc.zrs.loop
from zc.zk.testing import ZOOKEEPER
from zc.zrs.tests import support


def runzeo(test, config):
    """A ZEO server from ``config`` in a child process (stopped, if still
    running, after the test)."""
    process = subprocess.Popen(
        [sys.executable, '-m', 'ZEO.runzeo', '-C', config],
        env=support.python_env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    test.globs['_processes'].append(process)
    return process


def setUp(test):
    zope.component.testing.setUp()
    test.globs['_processes'] = []
    test.globs['runzeo'] = functools.partial(runzeo, test)
    test.globs['_old_cwd'] = os.getcwd()
    test.globs['_tmp'] = tempfile.TemporaryDirectory()
    os.chdir(test.globs['_tmp'].name)
    test.globs['_logs'] = support.LogCapture().install()


def tearDown(test):
    for process in test.globs['_processes']:
        if process.poll() is None:
            process.kill()
            process.wait(support.TIMEOUT)
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
