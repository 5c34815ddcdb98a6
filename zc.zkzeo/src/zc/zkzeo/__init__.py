"""ZEO servers registered in ZooKeeper, and ZEO clients that find them.

``client`` / ``DB`` / ``connection`` open ZEO clients whose addresses are
the servers registered at a ZooKeeper path, kept current; ``zkrunzeo``
(``zc.zkzeo.runzeo``) runs a ZEO server that registers itself;
``%import zc.zkzeo`` provides the ``<zkzeoclient>`` ZConfig section. The
documentation is README.rst in this package.
"""
from zc.zkzeo._client import DB, ClientStorage, client, connection

__all__ = ['client', 'DB', 'connection', 'ClientStorage']
