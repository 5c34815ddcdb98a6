"""The ``<monitor>`` ZConfig section in ZEO and logger configs.

A real ZEO server (runzeo) with the section runs in the README and the
ZEO layer; the section in a real zdaemon's config is tested with the
other tests across distributions, in zc.stack.
"""
import io
import logging
import os
import shutil
import tempfile
import unittest
import urllib.request

import ZConfig
import ZEO

from zc.monitor.client import query
from zc.monitor.tests.helpers import TIMEOUT
from zc.monitor.tests.test_metrics import parse
from zc.monitor.zconfig import MonitorFactory, MonitorHandler


def schema(package, file='schema.xml'):
    return ZConfig.loadSchema(
        os.path.join(os.path.dirname(package.__file__), file))


ZEO_CONFIG = '''
%import zc.monitor
<zeo>
  address 127.0.0.1:0
</zeo>
<mappingstorage/>
<eventlog>
  <monitor>
    {monitor}
  </monitor>
</eventlog>
'''


class ZConfigTests(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)

    def load_zeo(self, monitor):
        """The monitor factory of a ZEO configuration."""
        config, _ = ZConfig.loadConfigFile(
            schema(ZEO), io.StringIO(ZEO_CONFIG.format(monitor=monitor)))
        [factory] = [handler for handler in config.eventlog.handler_factories
                     if isinstance(handler, MonitorFactory)]
        return factory

    def start(self, factory):
        """What configuring the logger does with the section."""
        handler = factory()
        self.addCleanup(handler.close)
        self.assertIsInstance(handler, MonitorHandler)
        return handler

    def test_in_a_zeo_configuration(self):
        path = os.path.join(self.directory, 'monitor.sock')
        handler = self.start(self.load_zeo(f'address {path}'))
        self.assertEqual(handler.listener.address, path)
        self.assertIn('help --', query(path, 'help'))
        self.assertIsNone(handler.metrics_server)
        self.assertEqual(handler.level, logging.NOTSET)
        handler.handle(logging.makeLogRecord({'msg': 'ignored'}))
        handler.close()
        self.assertFalse(os.path.exists(path))

    def test_defaults_and_options(self):
        factory = self.load_zeo('address 0')
        section = factory.section
        self.assertEqual((section.timeout, section.max_clients,
                          section.max_line, section.workers,
                          section.cpu_budget, section.metrics_address),
                         (120, 128, 65536, 4, 0.02, None))
        self.assertIsNone(self.load_zeo(
            'address 0\n    cpu-budget none').section.cpu_budget)
        self.assertEqual(self.load_zeo(
            'address 0\n    cpu-budget 0.5').section.cpu_budget, 0.5)
        handler = self.start(self.load_zeo('''
            address 127.0.0.1:0
            timeout 2s
            max-clients 3
            max-line 1KB
            workers 1
            cpu-budget 10%
            metrics-address 0'''))
        listener = handler.listener
        self.assertEqual((listener.timeout, listener.max_clients,
                          listener.max_line, listener.cpu_budget),
                         (2, 3, 1024, 0.1))
        self.assertEqual(query(listener.address, 'x' * 2000),
                         'Line too long (more than 1024 bytes).\n')
        with urllib.request.urlopen(
                'http://%s:%s/metrics' % handler.metrics_server.address,
                timeout=TIMEOUT) as response:
            self.assertIn('process_resident_memory_bytes',
                          parse(response.read().decode()))

    def test_an_address_in_use_is_a_warning(self):
        handler = self.start(self.load_zeo('address 127.0.0.1:0'))
        address = '%s:%s' % handler.listener.address
        with self.assertLogs('zc.monitor', 'WARNING') as logs:
            second = self.start(self.load_zeo(f'address {address}'))
        self.assertIsNone(second.listener)
        self.assertEqual(logs.output, [
            f'WARNING:zc.monitor:Cannot start the monitor at {address}: '
            f'address in use'])

    def test_bad_configurations_are_explained(self):
        for monitor, message in [
                ('', "no values for 'address'; 1 required"),
                ('address 127.0.0.1:99999',
                 "port out of range in monitor address '127.0.0.1:99999'"),
                ('address 0\n    max-clients many',
                 "invalid literal for int() with base 10: 'many'"),
                ('address 0\n    cpu-budget 200%',
                 "a CPU budget is more than 0% and at most 100%, not "
                 "'200%'")]:
            with self.assertRaises(ZConfig.ConfigurationError) as caught:
                self.load_zeo(monitor)
            self.assertIn(message, str(caught.exception))
            self.assertIn('line', str(caught.exception))

    def test_in_a_logger_section(self):
        # Zope's zope.conf has <logger> sections; the monitor fits there.
        logger_schema = ZConfig.loadSchemaFile(io.StringIO('''
            <schema>
              <import package="ZConfig.components.logger"/>
              <multisection type="logger" name="*" attribute="loggers"/>
            </schema>'''))
        path = os.path.join(self.directory, 'monitor.sock')
        config, _ = ZConfig.loadConfigFile(logger_schema, io.StringIO(f'''
            %import zc.monitor
            <logger>
              name zc.monitor.tests.app
              <monitor>
                address {path}
              </monitor>
            </logger>'''))
        [logger_factory] = config.loggers
        logger = logger_factory()
        [handler] = logger.handlers
        self.addCleanup(logger.removeHandler, handler)
        self.addCleanup(handler.close)
        self.assertIn('help --', query(path, 'help'))
