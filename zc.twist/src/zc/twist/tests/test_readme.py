"""The README, run as a doctest against a real reactor and real databases."""
import doctest
import logging
import os
import shutil
import sys
import tempfile
import types

import zope.component
import zope.testing.wait
from transaction.interfaces import ITransactionManager
from ZODB.interfaces import IConnection

import zc.twist
from zc.twist.tests import support

#: The doctest's globals are this module's namespace, so that the
#: persistent classes the README defines can be loaded by ZODB.
MODULE = 'zc_twist_README'


def setUp(test):
    module = types.ModuleType(MODULE)
    module.__dict__.update(test.globs)
    module.__dict__.update(
        __name__=MODULE,
        in_reactor=support.in_reactor,
        reactor=support.global_reactor(),
        commit_elsewhere=support.commit_elsewhere,
        wait=zope.testing.wait.wait,
        log=support.LogRecords(),
        # ZEO logs the disconnections the README causes on purpose
        _zeo_log=support.LogRecords('ZEO', logging.WARNING),
        _threads=support.NoThreadsLeftBehind(),
        _here=os.getcwd(),
        _directory=tempfile.mkdtemp(prefix='zc.twist-'),
    )
    sys.modules[MODULE] = module
    test.globs = module.__dict__
    os.chdir(test.globs['_directory'])


def tearDown(test):
    globs = test.globs
    globs['log'].uninstall()
    globs['_zeo_log'].uninstall()
    registry = zope.component.getGlobalSiteManager()
    registry.unregisterAdapter(zc.twist.connection)
    registry.unregisterAdapter(zc.twist.transactionManager)
    registry.unregisterAdapter(zc.twist.transactionManager, (IConnection,),
                               ITransactionManager)
    os.chdir(globs['_here'])
    shutil.rmtree(globs['_directory'])
    del sys.modules[MODULE]
    globs['_threads'].check()


def test_suite():
    suite = doctest.DocFileSuite(
        '../README.rst', setUp=setUp, tearDown=tearDown,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    suite.layer = support.ReactorLayer
    return suite
