"""``zc-stack`` refuses what it cannot do in one line, and starts nothing."""
import os
import shutil
import socket
import textwrap
import unittest

from zc.stack.cluster import config
from zc.stack.cluster.cli import _parser, settings_from
from zc.stack.tests.cluster_helpers import Base


class UpRefusalTests(unittest.TestCase):

    def setUp(self):
        self.base = Base()
        self.addCleanup(self.base.remove)

    def assertRefused(self, expected, *args, environ=None):
        saved = dict(os.environ)
        os.environ.update(environ or {})
        try:
            status, out, err = self.base(*args)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.assertEqual(status, 1, out)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn(expected, err)
        # Nothing was started, nothing remembered.
        self.assertEqual(os.listdir(self.base.directory), [])
        return err

    def test_front_port_taken(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            err = self.assertRefused(
                f'the front port 127.0.0.1:{port} is taken by another'
                ' program: stop it, or choose another port with'
                ' --front-port', 'up', '--only', 'zookeeper,front',
                '--front-port', port)
        self.assertTrue(err.startswith('zc-stack up: '))

    def test_packages_cannot_be_installed(self):
        self.assertRefused(
            'zc-stack up: Debian package(s) zookeeper not installed'
            ' (/nonexistent/zookeeper.jar missing) and there is no'
            ' /nonexistent/apt-get to install them', 'up', '--only',
            'zookeeper,front', '--front-port', self.base.front_port,
            '--apt-get', '/nonexistent/apt-get',
            environ={'ZC_ZK_JAR': '/nonexistent/zookeeper.jar'})
        self.assertRefused(
            f"{shutil.which('false')} update failed (1): no output", 'up',
            '--only', 'zookeeper', '--apt-get', 'false',
            environ={'ZC_ZK_JAR': '/nonexistent/zookeeper.jar'})

    def test_roles_without_zookeeper_need_one(self):
        self.assertRefused('without the zookeeper role, the cluster needs'
                           ' an existing ZooKeeper', 'up', '--only', 'front')

    def test_unknown_role(self):
        self.assertRefused("unknown role 'web': choose among zookeeper,"
                           ' primary, secondary, app, front',
                           'up', '--only', 'front,web')

    def test_bad_zookeeper_connection_string(self):
        self.assertRefused("bad ZooKeeper connection string 'nowhere'",
                           'up', '--zookeeper', 'nowhere')

    def test_bad_config_file(self):
        path = os.path.join(self.base.directory, '..',
                            os.path.basename(self.base.directory) + '.conf')
        self.addCleanup(os.remove, path)
        with open(path, 'w') as f:
            f.write('apps many\n')
        self.assertRefused(f'{path}: ', 'up', '--config', path)
        self.assertRefused('cannot read /nonexistent.conf', 'up',
                           '--config', '/nonexistent.conf')

    def test_commands_need_a_cluster(self):
        for command in ('status', 'failover', 'smoke', 'down'):
            self.assertRefused(f'zc-stack {command}: no cluster in'
                               f' {self.base.directory}: run zc-stack up'
                               ' first', command)


class ConfigTests(unittest.TestCase):

    def write(self, text):
        base = Base()
        self.addCleanup(base.remove)
        path = os.path.join(base.directory, 'cluster.conf')
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
        return path

    def test_defaults(self):
        settings = config.load(self.write(''))
        self.assertEqual(settings, config.Settings().validate())
        # Two database nodes, replicating synchronously; without
        # secondaries there is nothing to wait for.
        self.assertEqual((settings.secondaries, settings.synchronous,
                          settings.synchronous_fallback), (1, 1, 'async'))
        self.assertEqual(config.load(self.write('secondaries 0'))
                         .synchronous, 0)

    def test_every_key(self):
        settings = config.load(self.write("""
            zookeeper 127.0.0.1:2181,127.0.0.1:2182
            path /clusters/one
            database orders
            host 127.0.0.2
            secondaries 3
            synchronous 2
            synchronous-fallback fail
            apps 4
            front-port 8181
            """))
        self.assertEqual(settings, config.Settings(
            zookeeper='127.0.0.1:2181,127.0.0.1:2182', path='/clusters/one',
            database='orders', host='127.0.0.2', secondaries=3,
            synchronous=2, synchronous_fallback='fail', apps=4,
            front_port=8181))

    def test_invalid_values(self):
        for text, message in [
                ('apps 0', 'apps must be 1 or more'),
                ('secondaries -1', 'secondaries must be 0 or more'),
                ('synchronous 2', 'synchronous must be between 0 and'
                 ' secondaries (1), not 2'),
                ('synchronous -1', 'synchronous must be between 0 and'
                 ' secondaries (1), not -1'),
                ('synchronous-fallback wait', 'synchronous-fallback must be'
                 " async or fail, not 'wait'"),
                ('path zc', "path must be a ZooKeeper path below /, not 'zc'"),
                ('database a/b', "bad database name 'a/b'"),
                ('colour red', "not a known key name"),
                ('front-port 99999', '99999 is above upper bound (65535) (line 1')]:
            with self.assertRaises(config.ConfigError) as caught:
                config.load(self.write(text))
            self.assertIn(message, str(caught.exception))
            self.assertNotIn('\n', str(caught.exception))

    def test_only_roles_keep_start_order(self):
        self.assertEqual(config.parse_roles('front, app,zookeeper'),
                         ['zookeeper', 'app', 'front'])

    def test_command_line_wins_over_the_file(self):
        path = self.write('apps 4\nfront-port 8181\nsecondaries 2\n'
                          'synchronous 2\n')
        options = _parser().parse_args(['up', '--config', path, '--apps',
                                        '3', '--synchronous', '0'])
        settings = settings_from(options)
        self.assertEqual((settings.apps, settings.front_port,
                          settings.synchronous), (3, 8181, 0))
