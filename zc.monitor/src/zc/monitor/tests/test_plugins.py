"""How commands and metrics are found: entry points of installed
distributions, utilities, ZCML."""
import os
import shutil
import sys
import importlib.metadata
import tempfile
import unittest

import zope.component
import zope.interface
from zope.configuration import xmlconfig

import zc.monitor
import zc.monitor.basics
import zc.monitor.metrics
import zc.monitor.process
import zc.monitor.zodb
from zc.monitor.client import query
from zc.monitor.interfaces import IMetricsProvider, IMonitorPlugin
from zc.monitor.tests.helpers import MonitorTestCase
from zc.monitor.tests.test_metrics import parse

#: A distribution, as pip would install it, offering a command and metrics
#: through entry points without importing zc.monitor.
PLUGIN_MODULE = '''
def fleet(connection, path='/'):
    """List the fleet registered at a path

    A sample plug-in.
    """
    connection.write(f'fleet at {path}\\n')


def metrics():
    return [('sample_things', 'gauge', 'Things.', [({'kind': 'a'}, 7)])]
'''
ENTRY_POINTS = '''
[zc.monitor]
fleet = zc_monitor_sample:fleet
broken = zc_monitor_sample_missing:fleet

[zc.monitor.metrics]
sample = zc_monitor_sample:metrics
'''


def unregister(interface, name):
    zope.component.getGlobalSiteManager().unregisterUtility(
        provided=interface, name=name)


class EntryPointTests(MonitorTestCase):

    def setUp(self):
        self.site = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.site)
        with open(os.path.join(self.site, 'zc_monitor_sample.py'), 'w') as f:
            f.write(PLUGIN_MODULE)
        info = os.path.join(self.site, 'zc_monitor_sample-1.0.dist-info')
        os.mkdir(info)
        with open(os.path.join(info, 'METADATA'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: zc-monitor-sample\n'
                    'Version: 1.0\n')
        with open(os.path.join(info, 'entry_points.txt'), 'w') as f:
            f.write(ENTRY_POINTS)
        sys.path.append(self.site)
        self.addCleanup(sys.path.remove, self.site)
        self.addCleanup(sys.modules.pop, 'zc_monitor_sample', None)
        self.listen()

    def test_an_installed_distribution_adds_a_command(self):
        self.assertEqual(self.ask('fleet /databases'),
                         'fleet at /databases\n')
        self.assertEqual(
            self.ask('help fleet'),
            'Help for fleet:\n\nList the fleet registered at a path\n\n'
            'A sample plug-in.\n')
        self.assertNotIn('zc.monitor', sys.modules['zc_monitor_sample'].__dict__)

    def test_help_lists_it_and_skips_a_broken_one_with_a_warning(self):
        with self.assertLogs('zc.monitor', 'WARNING') as logs:
            answer = self.ask('help')
        self.assertIn('  fleet -- List the fleet registered at a path\n',
                      answer)
        self.assertIn('  help -- Get help about server commands\n', answer)
        self.assertNotIn('broken', answer)
        self.assertIn("Cannot load zc.monitor plug-in 'broken'",
                      logs.output[0])

    def test_running_a_broken_one_tells_why(self):
        with self.assertLogs('zc.monitor', 'WARNING'):
            answer = self.ask('broken')
        self.assertIn("ModuleNotFoundError: No module named "
                      "'zc_monitor_sample_missing'\n\n", answer)

    def test_an_installed_distribution_adds_metrics(self):
        families = parse(self.ask('metrics'))
        self.assertEqual(families['sample_things'],
                         ('gauge', {('sample_things', (('kind', 'a'),)): 7.0}))

    def test_a_utility_takes_precedence(self):
        def fleet(connection, *args):
            """Local override"""
            connection.write('overridden\n')
        self.register(fleet, 'fleet')
        self.assertEqual(self.ask('fleet /x'), 'overridden\n')
        self.assertIn('  fleet -- Local override\n', self.ask('help'))

    def test_entry_points_are_read_when_the_server_starts(self):
        os.rename(os.path.join(self.site, 'zc_monitor_sample-1.0.dist-info'),
                  os.path.join(self.site, 'elsewhere'))
        self.assertEqual(self.ask('fleet'), 'fleet at /\n')
        later = self.listen()
        self.assertEqual(query(later.address, 'fleet'),
                         'Invalid command \'fleet\'. Try "help".\n')


class IZ3MonitorPlugin(IMonitorPlugin):
    """Like zc.z3monitor's: a more specific kind of monitor plug-in."""


class UtilityTests(MonitorTestCase):

    def setUp(self):
        self.listen()

    def test_register_names_the_command_after_the_function(self):
        def uptime(connection):
            connection.write('long\n')
        zc.monitor.register(uptime)
        self.addCleanup(unregister, IMonitorPlugin, 'uptime')
        zc.monitor.register(uptime, 'up')
        self.addCleanup(unregister, IMonitorPlugin, 'up')
        self.assertEqual((self.ask('uptime'), self.ask('up')),
                         ('long\n', 'long\n'))
        self.assertIn('  up -- ?\n', self.ask('help'))

    def test_utilities_of_a_sub_interface_are_found(self):
        @zope.interface.implementer(IZ3MonitorPlugin)
        class Status:
            """Say OK"""

            def __call__(self, connection):
                connection.write('OK\n')

        self.provide(Status(), IZ3MonitorPlugin, 'status')
        self.assertEqual(self.ask('status'), 'OK\n')
        self.assertIn('  status -- Say OK\n', self.ask('help'))

    def test_register_basics(self):
        zc.monitor.register_basics()
        for name in ('help', 'interactive', 'quit'):
            self.addCleanup(unregister, IMonitorPlugin, name)
            self.assertIs(
                zope.component.getUtility(IMonitorPlugin, name),
                getattr(zc.monitor, name))
        self.assertEqual(self.ask('quit'), 'Goodbye.\n')

    def test_configure_zcml_registers_the_standard_commands(self):
        xmlconfig.file('configure.zcml', package=zc.monitor)
        commands = dict(zope.component.getUtilitiesFor(IMonitorPlugin))
        providers = dict(zope.component.getUtilitiesFor(IMetricsProvider))
        for name in commands:
            self.addCleanup(unregister, IMonitorPlugin, name)
        for name in providers:
            self.addCleanup(unregister, IMetricsProvider, name)
        self.assertEqual(commands, {
            'help': zc.monitor.basics.help,
            'interactive': zc.monitor.basics.interactive,
            'quit': zc.monitor.basics.quit,
            'metrics': zc.monitor.metrics.metrics,
            'monitor': zc.monitor.zodb.monitor,
            'dbinfo': zc.monitor.zodb.dbinfo,
            'zeocache': zc.monitor.zodb.zeocache,
            'zeostatus': zc.monitor.zodb.zeostatus,
        })
        self.assertEqual(providers, {
            'process': zc.monitor.process.metrics,
            'zodb': zc.monitor.zodb.metrics,
        })
        self.assertEqual(self.ask('dbinfo'), 'No main database is registered.\n')


class EntryPointDeclarationTests(unittest.TestCase):
    """zc.monitor's own commands come from its entry points, which match
    what configure.zcml registers."""

    def test_own_entry_points(self):
        declared = {
            entry_point.name: entry_point.value
            for entry_point in importlib.metadata.entry_points(
                group='zc.monitor')
            if entry_point.value.startswith('zc.monitor.')}
        self.assertEqual(sorted(declared), [
            'dbinfo', 'help', 'interactive', 'metrics', 'monitor', 'quit',
            'zeocache', 'zeostatus'])
        with open(os.path.join(os.path.dirname(zc.monitor.__file__),
                               'configure.zcml')) as f:
            zcml = f.read()
        for name, value in declared.items():
            module, attribute = value.rsplit(':', 1)
            self.assertIn(
                f'component=".{module.split(".")[-1]}.{attribute}"', zcml)
            self.assertIn(f'name="{name}"', zcml)

