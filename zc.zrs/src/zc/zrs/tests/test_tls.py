"""Replication over TLS with mutual certificate authentication, configured
with the <replicate-to-ssl> / <replicate-from-ssl> sections."""
import logging
import os

import ZODB
import ZODB.config
from zope.testing.wait import wait

import zc.zrs.loop
from zc.zrs.tests import certs
from zc.zrs.tests import support
from zc.zrs.tests.test_replication import TempDirTest


class TLSLayer:
    """Makes the certificates once for the TLS tests."""

    @classmethod
    def setUp(cls):
        import tempfile
        cls._tmp = tempfile.TemporaryDirectory()
        cls.dir = cls._tmp.name
        certs.make_all(cls.dir)

    @classmethod
    def tearDown(cls):
        zc.zrs.loop.stop()
        cls._tmp.cleanup()


class TLSTests(TempDirTest):

    layer = TLSLayer

    def cert(self, name):
        return os.path.join(TLSLayer.dir, name)

    def open_primary(self, replication, name):
        """A <zrs> section with the primary's TLS section."""
        return ZODB.config.storageFromString(f'''
            %import zc.zrs
            <zrs>
              {replication}
              <replicate-to-ssl>
                certificate {self.cert('primary.pem')}
                key {self.cert('primary.key')}
                authenticate {self.cert('ca.pem')}
              </replicate-to-ssl>
              <filestorage>
                path {self.path(name)}
              </filestorage>
            </zrs>''')

    def setUp(self):
        super().setUp()
        self.primary = self.open_primary('replicate-to 127.0.0.1:0',
                                         'primary.fs')
        self.addCleanup(self.primary.close)
        self.db = ZODB.DB(self.primary)
        self.addCleanup(self.db.close)
        self.commit(self.db, 20)

    def tls_secondary(self, name, client, extra=''):
        ssl = f'''
              <replicate-from-ssl>
                certificate {self.cert(client + '.pem')}
                key {self.cert(client + '.key')}
                authenticate {self.cert('ca.pem')}
                {extra}
              </replicate-from-ssl>''' if client else ''
        secondary = ZODB.config.storageFromString(f'''
            %import zc.zrs
            <zrs>
              replicate-from {'%s:%s' % self.primary.address}
              reconnect-delay 1
              {ssl}
              <filestorage>
                path {self.path(name)}
              </filestorage>
            </zrs>''')
        self.addCleanup(secondary.close)
        return secondary

    def test_trusted_secondary_replicates_byte_identically(self):
        secondary = self.tls_secondary('secondary.fs', 'secondary')
        self.commit(self.db, 20)
        self.caught_up(secondary, self.primary)
        secondary.close()
        support.assert_replica(self, self.path('primary.fs'),
                               self.path('secondary.fs'))
        self.assertNoErrors()

    def test_checks_the_primarys_name(self):
        secondary = self.tls_secondary(
            'secondary.fs', 'secondary', 'server-hostname localhost')
        self.caught_up(secondary, self.primary)
        wrong = self.tls_secondary(
            'wrong.fs', 'secondary', 'server-hostname primary.example.com')
        wait(lambda: any('could not connect' in m
                         for m in self.logs.messages(logging.WARNING)),
             timeout=support.TIMEOUT)
        self.assertEqual(len(wrong), 0)

    def assertGetsNothing(self, secondary):
        wait(lambda: len([m for m in self.logs.messages(logging.WARNING)
                          if 'connect' in m]) >= 1,
             timeout=support.TIMEOUT)
        self.commit(self.db, 3)
        self.assertEqual(len(secondary), 0)
        self.assertEqual(self.primary.replication_status(), [])
        self.assertEqual(os.path.getsize(self.path('untrusted.fs')), 4)

    def test_untrusted_certificate_is_refused(self):
        self.assertGetsNothing(self.tls_secondary('untrusted.fs',
                                                  'intruder'))

    def test_secondary_without_tls_is_refused(self):
        self.assertGetsNothing(self.tls_secondary('untrusted.fs', None))

    def test_ssl_section_needs_its_address(self):
        with self.assertRaises(ValueError) as caught:
            self.open_primary('replicate-from 127.0.0.1:9999', 'other.fs')
        self.assertIn('replicate-to-ssl without replicate-to',
                      str(caught.exception))
