"""``replicated-zeo.rst``: a ZEO primary and a read-only secondary from
configuration files alone, under zdaemon, registered and replicating
through the real ZooKeeper of zc.zk.testing."""
import doctest
import os
import re
import subprocess
import sys

from zope.testing.wait import wait
import ZODB

import zc.monitor.client
import zc.zk
import zc.zkzeo
import zc.zkzeo.runzeo
from zc.zk.testing import ZOOKEEPER
from zc.zkzeo.tests import helpers

DOCUMENT = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                        'replicated-zeo.rst')
ZKZEO_SCHEMA = os.path.join(os.path.dirname(zc.zkzeo.runzeo.__file__),
                            'schema.xml')
#: The servers' configuration files, stopped after the document even if
#: it fails half-way.
CONFIGURATIONS = ('secondary.conf', 'primary.conf')


def run_zdaemon(*args):
    """Run the zdaemon command line; return its status and output."""
    done = subprocess.run(
        [sys.executable, '-m', 'zdaemon', *args], env=helpers.python_env(),
        capture_output=True, text=True, timeout=helpers.TIMEOUT)
    return done.returncode, done.stdout + done.stderr


def zdaemon(*args):
    """Show the last line zdaemon printed (the lines before it are its
    progress dots), and its status when that is not 0."""
    status, output = run_zdaemon(*args)
    lines = output.strip().splitlines()
    print(lines[-1].strip(' .') if lines else '(no output)')
    if status:
        print(f'status {status}:\n{output}')


def zdaemon_pid(configuration):
    """The pid of the program zdaemon runs for ``configuration``."""
    status, output = run_zdaemon('-S', ZKZEO_SCHEMA, '-C', configuration,
                                 'status')
    found = re.search(r'pid=(\d+)', output)
    if found is None:
        raise AssertionError(f'not running ({status}): {output}')
    return int(found.group(1))


def registration(zk, path):
    """The properties of the one server registered at ``path``."""
    [properties] = helpers.registered(zk, path).values()
    return properties


def monitor(address, command):
    """A monitor's answer to ``command``; ``address`` as registered
    (``host:port``)."""
    host, port = address.rsplit(':', 1)
    return zc.monitor.client.ask((host, int(port)), command,
                                 timeout=helpers.TIMEOUT).rstrip()


def setUp(test):
    helpers.doctest_setUp(test, 'zc.stack-test-')
    test.globs.update(
        zookeeper=ZOOKEEPER.connection_string, zc=zc, ZODB=ZODB, wait=wait,
        write=helpers.write, wait_registered=helpers.wait_registered,
        zkrunzeo=helpers.zkrunzeo_script(test._directory.name),
        zkzeo_schema=ZKZEO_SCHEMA, zdaemon=zdaemon, zdaemon_pid=zdaemon_pid,
        registration=registration, monitor=monitor)


def tearDown(test):
    try:
        for configuration in CONFIGURATIONS:
            if os.path.exists(configuration):
                run_zdaemon('-S', ZKZEO_SCHEMA, '-C', configuration, 'stop')
    finally:
        helpers.doctest_tearDown(test)


def test_suite():
    suite = doctest.DocFileSuite(
        DOCUMENT, module_relative=False, setUp=setUp, tearDown=tearDown,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    suite.layer = ZOOKEEPER
    return suite
