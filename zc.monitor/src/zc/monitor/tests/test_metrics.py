"""``metrics`` output, read back by the Prometheus client's own parser."""
import unittest
import urllib.error
import urllib.request

import ZODB
import transaction
from prometheus_client.parser import text_string_to_metric_families

import zc.monitor.zodb
from zc.monitor.interfaces import IMetricsProvider
from zc.monitor.metrics_http import MetricsServer
from zc.monitor.tests.helpers import TIMEOUT, MonitorTestCase


def parse(text):
    """``{family name: (type, {(sample name, labels): value})}``."""
    return {
        family.name: (family.type, {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for sample in family.samples})
        for family in text_string_to_metric_families(text)}


class MetricsTests(MonitorTestCase):

    def setUp(self):
        self.listen()

    def add_provider(self, provider, name):
        self.provide(provider, IMetricsProvider, name)

    def metrics(self):
        return self.ask('metrics')

    def test_process_memory(self):
        families = parse(self.metrics())
        kind, samples = families['process_resident_memory_bytes']
        self.assertEqual(kind, 'gauge')
        [value] = samples.values()
        self.assertGreater(value, 1024 * 1024)
        self.assertIn('process_virtual_memory_bytes', families)

    def test_database_numbers_match_the_commands(self):
        db = ZODB.DB(None)
        self.addCleanup(db.close)
        zc.monitor.zodb.register_database(db, 'scratch')
        self.addCleanup(zc.monitor.zodb.unregister_database, 'scratch')
        connection = db.open()
        connection.root()['x'] = 1
        transaction.commit()
        families = parse(self.metrics())
        labels = (('database', 'scratch'),)
        self.assertEqual(families['zodb_connections_open'],
                         ('gauge', {('zodb_connections_open', labels): 1}))
        connection.close()
        families = parse(self.metrics())
        dbinfo = [float(n) for n in
                  self.ask('dbinfo scratch').split()]
        self.assertEqual(
            [families[f'zodb_{name}'][1][(f'zodb_{name}', labels)]
             for name in ('recent_loads', 'recent_stores',
                          'recent_connections', 'cache_objects',
                          'cache_non_ghost_objects')],
            dbinfo)
        self.assertGreater(dbinfo[1], 0)  # the commit was counted
        self.assertNotIn('zeo_connected', families)  # not a ZEO client

    def test_labels_and_help_are_escaped(self):
        self.add_provider(lambda: [
            ('odd_total', 'counter', 'Back\\slash and\nnewline.',
             [({'path': 'C:\\dir "quoted"\nnext'}, 3),
              ({'path': 'plain'}, 1.5)]),
            ('special', 'gauge', 'Not numbers.',
             [({'kind': 'nan'}, float('nan')), ({'kind': 'inf'}, float('inf')),
              ({'kind': 'true'}, True)]),
        ], 'odd')
        text = self.metrics()
        self.assertIn('# HELP odd_total Back\\\\slash and\\nnewline.\n', text)
        families = parse(text)
        kind, samples = families['odd']  # the parser drops _total
        self.assertEqual(kind, 'counter')
        self.assertEqual(samples, {
            ('odd_total', (('path', 'C:\\dir "quoted"\nnext'),)): 3.0,
            ('odd_total', (('path', 'plain'),)): 1.5})
        kind, samples = families['special']
        self.assertEqual(samples[('special', (('kind', 'inf'),))],
                         float('inf'))
        self.assertEqual(samples[('special', (('kind', 'true'),))], 1.0)
        nan = samples[('special', (('kind', 'nan'),))]
        self.assertNotEqual(nan, nan)

    def test_a_failing_provider_is_reported_and_skipped(self):
        def broken():
            raise OSError('disk on fire')
        self.add_provider(broken, 'broken')
        self.add_provider(lambda: [('fine', 'gauge', 'Fine.', [({}, 1)])], 'fine')
        with self.assertLogs('zc.monitor', 'WARNING'):
            text = self.metrics()
        self.assertIn("# provider 'broken' failed: OSError: disk on fire\n",
                      text)
        families = parse(text)
        self.assertEqual(families['fine'], ('gauge', {('fine', ()): 1.0}))
        self.assertIn('process_resident_memory_bytes', families)

    def test_malformed_metrics_are_refused_with_a_reason(self):
        cases = {
            'name': [('bad-name', 'gauge', '', [({}, 1)])],
            'type': [('good', 'histogram', '', [({}, 1)])],
            'label': [('good', 'gauge', '', [({'bad-label': 'x'}, 1)])],
            'reserved': [('good', 'gauge', '', [({'__name__': 'x'}, 1)])],
            'value': [('good', 'gauge', '', [({}, 'many')])],
        }
        for name, metrics in cases.items():
            self.add_provider(lambda metrics=metrics: metrics, name)
        with self.assertLogs('zc.monitor', 'WARNING'):
            text = self.metrics()
        problems = [line for line in text.splitlines()
                    if line.startswith('# provider')]
        self.assertEqual(problems, [
            "# provider 'label' failed: ValueError: invalid label name "
            "'bad-label' in good",
            "# provider 'name' failed: ValueError: invalid metric name "
            "'bad-name'",
            "# provider 'reserved' failed: ValueError: invalid label name "
            "'__name__' in good",
            "# provider 'type' failed: ValueError: invalid type 'histogram' "
            "of good",
            "# provider 'value' failed: ValueError: value 'many' of good is "
            "not a number",
        ])
        self.assertNotIn('good', parse(text))

    def test_families_of_several_providers_merge_unless_types_differ(self):
        self.add_provider(lambda: [('shared', 'gauge', 'A.', [({'p': 'a'}, 1)])],
                     'a')
        self.add_provider(lambda: [('shared', 'gauge', 'B.', [({'p': 'b'}, 2)])],
                     'b')
        self.add_provider(lambda: [('shared', 'counter', 'C.', [({'p': 'c'}, 3)])],
                     'c')
        text = self.metrics()
        self.assertIn("# provider 'c': shared is a counter here but a gauge "
                      "elsewhere; skipped\n", text)
        self.assertEqual(parse(text)['shared'], ('gauge', {
            ('shared', (('p', 'a'),)): 1.0, ('shared', (('p', 'b'),)): 2.0}))


class MetricsHTTPTests(unittest.TestCase):

    def setUp(self):
        self.server = MetricsServer(0)
        self.addCleanup(self.server.close)
        self.url = 'http://%s:%s' % self.server.address

    def test_scrape(self):
        with urllib.request.urlopen(self.url + '/metrics',
                                    timeout=TIMEOUT) as response:
            self.assertEqual(response.status, 200)
            self.assertEqual(response.headers['Content-Type'],
                             'text/plain; version=0.0.4; charset=utf-8')
            families = parse(response.read().decode())
        self.assertIn('process_resident_memory_bytes', families)

    def test_other_paths_are_not_found(self):
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(self.url + '/', timeout=TIMEOUT)
        self.assertEqual(caught.exception.code, 404)
        caught.exception.close()

    def test_close_frees_the_port(self):
        self.server.close()
        with self.assertRaises(urllib.error.URLError):
            urllib.request.urlopen(self.url + '/metrics', timeout=TIMEOUT)
        MetricsServer(self.server.address).close()

    def test_needs_a_tcp_address(self):
        with self.assertRaisesRegex(ValueError, 'needs a TCP address'):
            MetricsServer('/tmp/metrics.sock')
