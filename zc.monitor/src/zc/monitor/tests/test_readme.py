"""The README, run against a real ZEO server of its own.

The README shows exact cache statistics, so its server's storage must not
be shared with other tests.
"""
import doctest
import shutil
import tempfile

from zc.monitor.tests.helpers import ZEOServer


def setUp(test):
    directory = tempfile.mkdtemp(prefix='zc.monitor-readme-')
    server = test.globs['zeo_server'] = ZEOServer(directory)
    server.start()


def tearDown(test):
    import zc.monitor
    zc.monitor.stop()
    server = test.globs['zeo_server']
    if server.process is not None:
        server.stop()
    shutil.rmtree(server.directory)


def test_suite():
    return doctest.DocFileSuite(
        '../README.rst', setUp=setUp, tearDown=tearDown,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
