"""What runs: the services as ZooKeeper and zdaemon see them.

``registered_services`` reads every registration of a cluster (the demo
application's ``/status`` page shows it), with the role and epoch of each
database node as its election says; ``report`` joins it with the zdaemon
status of this machine's services (``zc-stack status``), and ``table``
prints the result.
"""
from zc.zrs.ruok import last_transaction_times

from zc.stack.cluster import database
from zc.stack.cluster.registry import registrations

#: Seconds to wait for a ZEO server's ``ruok`` answer.
RUOK_TIMEOUT = 2.0
COLUMNS = ('name', 'role', 'epoch', 'state', 'pid', 'address', 'monitor',
           'lag_seconds')
HEADINGS = ('NAME', 'ROLE', 'EPOCH', 'STATE', 'PID', 'ADDRESS', 'MONITOR',
            'LAG')


def replication_lag(primary, secondary):
    """Seconds the secondary's last transaction is behind the primary's
    (ZEO addresses; storage ``'1'``), or None when either cannot tell."""
    try:
        primary_time, secondary_time = (
            last_transaction_times(address, RUOK_TIMEOUT)['1']
            for address in (primary, secondary))
    except (OSError, ValueError, KeyError):
        return None
    if primary_time is None:   # an empty database: nothing to replicate
        return 0.0
    if secondary_time is None:
        return None
    return max(0.0, primary_time - secondary_time)


def registered_services(zk, layout):
    """Every service registered in the cluster: ``[{'kind', 'name',
    'role', 'epoch', 'address', 'pid', 'monitor', 'lag_seconds'}]``.

    ``kind`` is ``database``, ``app`` or ``front``; a database node's
    ``role`` and ``epoch`` are the election's (its ``name`` too; None for
    other services), its role ``database`` while it has none yet. Lag
    for secondaries only.
    """
    nodes = {node.pid: node for node in database.nodes(zk, layout)}
    services = []
    for kind, path in layout.by_kind():
        for address, properties in registrations(zk, path):
            pid = properties.get('pid')
            node = nodes.get(pid) if kind == 'database' else None
            services.append(dict(
                kind=kind, name=node and node.name,
                role=node.role if node else kind,
                epoch=node and node.epoch, address=address, pid=pid,
                monitor=properties.get('monitor'), lag_seconds=None))
    primary = next((s['address'] for s in services
                    if s['role'] == 'primary'), None)
    for service in services:
        if service['role'] == 'secondary' and primary is not None:
            service['lag_seconds'] = replication_lag(primary,
                                                     service['address'])
    return services


def local_service(service, status, registered):
    """The status row of one of this machine's services.

    ``status`` is zdaemon's (None when its manager does not run);
    ``registered`` the rows of ``registered_services``. A service that
    registers is ``running`` once its registration (found by pid) is
    there, ``starting`` until then.
    """
    pid = status and status['pid']
    row = dict(name=service.name, role=service.role, pid=pid,
               address=service.address, monitor=None, lag_seconds=None)
    if pid is None:
        row['state'] = 'stopped'
        return row
    row['state'] = 'running'
    if service.registered_at is not None:
        mine = next((r for r in registered if r['pid'] == pid
                     and r['kind'] == service.role), None)
        if mine is None:
            row['state'] = 'starting'
        else:
            registered.remove(mine)
            row.update(role=mine['role'], epoch=mine['epoch'],
                       address=mine['address'], monitor=mine['monitor'],
                       lag_seconds=mine['lag_seconds'])
    return row


def report(services, statuses, registered, zookeeper, front):
    """``zc-stack status --json``'s document: this machine's services,
    then those other machines registered (state ``remote``)."""
    registered = list(registered)
    rows = [local_service(service, status, registered)
            for service, status in zip(services, statuses)]
    for remote in registered:
        name = remote['name'] or remote['role']
        rows.append(dict(remote, name=f"{name}@{remote['address']}",
                         state='remote'))
    return dict(zookeeper=zookeeper, front=front,
                services=[{key: row.get(key) for key in COLUMNS}
                          for row in rows])


def _cell(key, value):
    if value is None:
        return '-'
    if key == 'lag_seconds':
        return f'{value:.3f}s'
    return str(value)


def table(document):
    """The report as the text ``zc-stack status`` prints."""
    rows = [HEADINGS] + [tuple(_cell(key, service[key]) for key in COLUMNS)
                         for service in document['services']]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [f"zookeeper: {document['zookeeper'] or '-'}",
             f"front:     {document['front'] or '-'}", '']
    lines += ['  '.join(cell.ljust(width) for cell, width
                        in zip(row, widths)).rstrip() for row in rows]
    return '\n'.join(lines) + '\n'
