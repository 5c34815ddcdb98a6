"""Test helpers: a replicating primary and secondary in one call.

``server()`` is to replication what ``ZEO.server()`` is to a ZEO server:
it starts a primary and a secondary replicating from it on free ports of
127.0.0.1, either as storages of this process or as ZEO servers (in
threads of this process, through ``ZEO.server``) whose storages are
``<zrs>`` sections, and returns a ``Replication`` whose ``stop()`` stops
both. Needs zc.zrs's ``test`` extra (zc.zk's testing module, for its
``free_port``).
"""
import filecmp
import os

import ZODB.FileStorage
from zope.testing.wait import wait

from zc.zk.testing import free_port
from zc.zrs.primary import Primary
from zc.zrs.ruok import status as zeo_status
from zc.zrs.secondary import Secondary

#: Bound on waiting for the secondary to catch up.
TIMEOUT = 60

__all__ = ['server', 'Replication', 'same_bytes', 'free_port']


def same_bytes(a, b):
    """Whether two files hold the same bytes (a replica and its primary)."""
    return filecmp.cmp(a, b, shallow=False)


class Replication:
    """A running primary and secondary. ``primary`` and ``secondary`` are
    the storages, or with ZEO the servers' ``(host, port)`` addresses;
    ``replication_address`` is where the primary serves secondaries."""

    def __init__(self, primary, secondary, replication_address,
                 last_transaction, stop):
        self.primary = primary
        self.secondary = secondary
        self.replication_address = replication_address
        self._last_transaction = last_transaction
        self._stop = stop

    def caught_up(self, timeout=TIMEOUT):
        """Wait until the secondary has the primary's last transaction."""
        last = self._last_transaction
        wait(lambda: last(self.secondary) == last(self.primary),
             timeout=timeout)

    def stop(self):
        """Stop the secondary, then the primary (once)."""
        stop, self._stop = self._stop, None
        if stop is not None:
            stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def server(directory='.', blobs=False, zeo=False, **secondary_options):
    """Start a primary (``primary.fs`` in ``directory``) and a secondary
    replicating from it (``secondary.fs``); with ``blobs``, both have a
    blob directory beside their file. ``secondary_options`` go to
    ``Secondary`` (``reconnect_delay`` defaults to 0.1 second, and with
    ZEO, whose configuration takes whole seconds, to 1).

    Without ``zeo``, ``primary`` and ``secondary`` are the storages
    (``zc.zrs.Primary`` and ``zc.zrs.Secondary``); with ``zeo``, they
    are the addresses of two ZEO servers (the secondary's read-only)
    serving storage '1'."""
    secondary_options.setdefault('reconnect_delay', 1 if zeo else 0.1)
    paths = [os.path.join(directory, f'{role}.fs')
             for role in ('primary', 'secondary')]
    if zeo:
        return _zeo_servers(paths, blobs, secondary_options)
    primary, secondary = (
        ZODB.FileStorage.FileStorage(
            path, blob_dir=path + '.blobs' if blobs else None)
        for path in paths)
    primary = Primary(primary, ('127.0.0.1', 0))
    try:
        secondary = Secondary(secondary, primary.address,
                              **secondary_options)
    except BaseException:
        primary.close()
        raise

    def stop():
        secondary.close()
        primary.close()

    return Replication(primary, secondary, primary.address,
                       lambda storage: storage.lastTransaction(), stop)


_ZRS_SECTION = '''
%import zc.zrs
<zrs 1>
  {replication}
  <filestorage>
    path {path}
    {blob_dir}
  </filestorage>
</zrs>
'''


def _zrs_section(path, blobs, *replication):
    return _ZRS_SECTION.format(
        path=path, replication='\n  '.join(replication),
        blob_dir=f'blob-dir {path}.blobs' if blobs else '')


def _zeo_servers(paths, blobs, secondary_options):
    import ZEO
    replication_address = ('127.0.0.1', free_port())
    where = '%s:%s' % replication_address
    primary, stop_primary = ZEO.server(storage_conf=_zrs_section(
        paths[0], blobs, f'replicate-to {where}'))
    try:
        secondary, stop_secondary = ZEO.server(
            storage_conf=_zrs_section(
                paths[1], blobs, f'replicate-from {where}',
                *(f"{name.replace('_', '-')} {_option(value)}"
                  for name, value in secondary_options.items())),
            zeo_conf=dict(read_only=True))
    except BaseException:
        stop_primary()
        raise

    def stop():
        stop_secondary()
        stop_primary()

    return Replication(primary, secondary, replication_address,
                       _zeo_last_transaction, stop)


def _option(value):
    """A Python value as a ZConfig value."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def _zeo_last_transaction(address):
    return zeo_status('%s:%s' % address)['1']['last-transaction']
