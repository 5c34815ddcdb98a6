"""zkrunzeo as operators run it: under our zdaemon (``-p``, a ``<runner>``
of its own configuration, a ``<runner>`` inside zeo.conf), and with zc.zrs's
``<zrs>`` storage section, registered in a real ZooKeeper."""
import os
import re
import subprocess
import sys
import unittest

import zc.zkzeo
import zc.zkzeo.runzeo
from zc.zk.testing import ZOOKEEPER
from zc.zkzeo.tests import helpers

PATH = '/databases/main'


class ServerDirectory(unittest.TestCase):
    """A directory for a server's files, and a ZooKeeper session."""

    layer = ZOOKEEPER

    def setUp(self):
        self.directory = helpers.directory(self)
        self.program = helpers.zkrunzeo_script(self.directory)
        self.zk = helpers.session(self, ZOOKEEPER.connection_string)

    def write(self, name, text):
        return helpers.write(os.path.join(self.directory, name), text)

    def zeo_conf(self, head='', tail='', storage=None):
        if storage is None:
            storage = f'''
                <filestorage>
                  path {self.directory}/main.fs
                </filestorage>
                '''
        return self.write('zeo.conf', f'''
            {head}
            <zeo>
              address 127.0.0.1:0
            </zeo>
            <zookeeper>
              connection {ZOOKEEPER.connection_string}
              path {PATH}
            </zookeeper>
            {storage}
            <eventlog>
              <logfile>
                path {self.directory}/zeo.log
              </logfile>
            </eventlog>
            {tail}
            ''')

    def zdaemon(self, *args):
        done = subprocess.run(
            [sys.executable, '-m', 'zdaemon', *args], cwd=self.directory,
            env=helpers.python_env(), capture_output=True, text=True,
            timeout=helpers.TIMEOUT)
        return done.returncode, done.stdout + done.stderr

    def start(self, *args):
        self.running = True
        self.addCleanup(self.stop_if_running, *args)
        status, output = self.zdaemon(*args, 'start')
        self.assertEqual(status, 0, output)
        return int(re.search(r'pid=(\d+)', output).group(1))

    def stop(self, *args):
        status, output = self.zdaemon(*args, 'stop')
        self.running = False
        self.assertEqual(status, 0, output)
        self.assertIn('daemon process stopped', output)

    def stop_if_running(self, *args):
        """Clean-up for a test that failed before it stopped the server
        (one more zdaemon process costs a second on a busy machine)."""
        if self.running:
            self.zdaemon(*args, 'stop')

    def check_registered_and_serving(self, pid):
        [properties] = helpers.wait_registered(self.zk, PATH).values()
        self.assertEqual(properties['pid'], pid)
        db = zc.zkzeo.DB(ZOOKEEPER.connection_string, PATH,
                         wait_timeout=helpers.TIMEOUT)
        try:
            helpers.commit(db, 'under zdaemon')
        finally:
            db.close()



class ZdaemonTests(ServerDirectory):

    def test_program_option(self):
        self.zeo_conf()
        command = ('-p', f'{self.program} -C zeo.conf')
        pid = self.start(*command)
        self.check_registered_and_serving(pid)
        self.stop(*command)
        self.assertEqual(helpers.registered(self.zk, PATH), {})

    def test_runner_configuration(self):
        self.zeo_conf()
        self.write('zdaemon.conf', f'''
            <runner>
              program {self.program} -C {self.directory}/zeo.conf
              transcript {self.directory}/transcript.log
            </runner>
            ''')
        pid = self.start('-C', 'zdaemon.conf')
        self.check_registered_and_serving(pid)
        self.stop('-C', 'zdaemon.conf')
        self.assertEqual(helpers.registered(self.zk, PATH), {})

    def test_runner_inside_zeo_conf(self):
        self.zeo_conf(tail=f'''
            <runner>
              program {self.program} -C {self.directory}/zeo.conf
            </runner>
            ''')
        schema = os.path.join(os.path.dirname(zc.zkzeo.runzeo.__file__),
                              'schema.xml')
        command = ('-S', schema, '-C', 'zeo.conf')
        pid = self.start(*command)
        self.check_registered_and_serving(pid)
        self.stop(*command)
        self.assertEqual(helpers.registered(self.zk, PATH), {})


class ZRSTests(ServerDirectory):
    """A zc.zrs primary's configuration passes through zkrunzeo."""

    def test_zrs_primary(self):
        self.zeo_conf(head='%import zc.zrs', storage=f'''
            <zrs 1>
              replicate-to 127.0.0.1:0
              <filestorage>
                path {self.directory}/main.fs
              </filestorage>
            </zrs>
            ''')
        with helpers.ZKRunZEO(os.path.join(self.directory, 'zeo.conf'),
                              cwd=self.directory) as server:
            self.check_registered_and_serving(server.pid)
            self.assertEqual(server.stop(), 0, server.output)
        log = helpers.read(os.path.join(self.directory, 'zeo.log'))
        self.assertRegex(log, r'zc\.zrs\.primary Primary .*main\.fs'
                              r" replicating on \('127\.0\.0\.1', \d+\)")
