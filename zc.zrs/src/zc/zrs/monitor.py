"""Replication status for zc.monitor (extra ``monitor``).

zc.monitor finds these through entry points, so zc.zrs does not need it:

- the command ``replication [NAME]`` prints a line per connected secondary
  of each primary this process runs, and a line per secondary::

      1 primary secondary=10.0.0.7:41234 protocol=zrs2.1 last=03ef...
        lag=0.000 behind=0
      1 secondary primary=10.0.0.5:8100 connected=yes last=03ef... pending=0

  (``key=value`` words, one line each; a primary with no secondary says
  ``secondaries=0``; a relay shows both its roles);
- ``metrics`` adds ``zrs_secondaries``, ``zrs_secondary_lag_seconds``,
  ``zrs_secondary_bytes_behind`` and ``zrs_connected_to_primary``.

Storages are found as named ``IReplicationStatus`` utilities: ``register``
adds one, and a ``<zrs>`` configuration section registers its storage
under the section's name (the ZEO storage name) when zope.component is
installed.
"""
import zope.component

from zc.zrs.interfaces import IReplicationStatus
from zc.zrs.primary import Primary
from zc.zrs.secondary import Secondary


def register(storage, name='1'):
    """Make a Primary, Secondary or relay visible to the ``replication``
    command and to ``metrics`` under ``name``."""
    zope.component.provideUtility(storage, IReplicationStatus, name)


def replication(connection, name=None):
    """Show the replication status of this process's storages

    With a NAME, only that storage's. One line per secondary of a primary
    (its address, protocol, last transaction sent, lag in seconds of
    transaction time, bytes behind) and one line per secondary (its
    primary, whether connected, last transaction applied, data waiting to
    be applied).
    """
    storages = _registered()
    if name is not None:
        storages = [(n, s) for n, s in storages if n == name]
        if not storages:
            connection.write(f'No replicated storage named {name!r}\n')
            return
    for storage_name, storage in storages:
        for role, part in _roles(storage):
            for words in _describe(role, part):
                connection.write(' '.join([storage_name, role, *words])
                                 + '\n')


def metrics():
    """Prometheus metric families (zc.monitor's ``metrics`` command)."""
    secondaries, lag, behind, connected = [], [], [], []
    for storage_name, storage in _registered():
        for role, part in _roles(storage):
            status = part.replication_status()
            if role == 'primary':
                secondaries.append(({'storage': storage_name},
                                    len(status)))
                for each in status:
                    labels = {'storage': storage_name,
                              'secondary': each['address']}
                    if each['lag'] is not None:
                        lag.append((labels, each['lag']))
                    behind.append((labels, each['bytes_behind']))
            else:
                connected.append((
                    {'storage': storage_name,
                     'primary': status['address'] or ''},
                    int(status['connected'])))
    return [
        ('zrs_secondaries', 'gauge',
         'Secondaries connected to this primary.', secondaries),
        ('zrs_secondary_lag_seconds', 'gauge',
         'Transaction time between the primary\'s last transaction and the'
         ' last one sent to a secondary.', lag),
        ('zrs_secondary_bytes_behind', 'gauge',
         'Bytes of the primary\'s data file not yet sent to a secondary.',
         behind),
        ('zrs_connected_to_primary', 'gauge',
         'Whether this secondary is connected to its primary (1) or not.',
         connected),
    ]


def _registered():
    return sorted(zope.component.getUtilitiesFor(IReplicationStatus))


def _roles(storage):
    """``(role, storage)`` for each replicating layer, outermost first: a
    relay is a secondary over a primary."""
    while storage is not None:
        if isinstance(storage, Secondary):
            yield 'secondary', storage
        elif isinstance(storage, Primary):
            yield 'primary', storage
        storage = vars(storage).get('_storage')


def _describe(role, storage):
    status = storage.replication_status()
    if role == 'secondary':
        return [[f'primary={status["address"] or "-"}',
                 f'connected={"yes" if status["connected"] else "no"}',
                 f'last={status["last_tid"] or "-"}',
                 f'pending={status["pending"]}']]
    if not status:
        return [['secondaries=0']]
    return [[f'secondary={each["address"]}',
             f'protocol={each["protocol"]}',
             f'last={each["last_tid"] or "-"}',
             'lag=-' if each['lag'] is None else f'lag={each["lag"]:.3f}',
             f'behind={each["bytes_behind"]}']
            for each in status]
