"""The cluster's database as its high-availability nodes see it: which
node is primary in which epoch, and the planned switchover.

The nodes (``zkrunzeo`` with a ``<zrs>`` storage and ``failover on``)
elect their primary in ZooKeeper under the database's path (see
``registry``); zc.zrs reads and drives that election, this module only
puts it in the cluster's terms: nodes by name and pid, and one-line
errors for ``zc-stack failover``.
"""
import dataclasses

import zc.zrs.election

#: Seconds ``zc-stack failover`` waits for the switchover to complete.
FAILOVER_TIMEOUT = 10.0
#: The roles of a node that serves (others: still starting or electing).
SERVING = ('primary', 'secondary')


class FailoverError(RuntimeError):
    """Why a switchover could not be done (one line for the user)."""


@dataclasses.dataclass(frozen=True)
class Node:
    """A database node: its ``name`` (``zeo-1``...), ``role`` and
    ``epoch`` as the election says, and the ``pid`` of its process."""
    name: str
    role: str
    epoch: int
    pid: int


def nodes(zk, layout):
    """The live nodes of the cluster's database, by name."""
    return _nodes(zc.zrs.election.status(zk, layout.database_path))


def _nodes(status):
    return [Node(node['name'], node.get('role'), node.get('epoch'),
                 node.get('pid')) for node in status['nodes']]


def primary(found):
    """The primary among ``found`` nodes, or None."""
    return next((node for node in found if node.role == 'primary'), None)


def failover(zk, layout, to=None, timeout=FAILOVER_TIMEOUT):
    """Hand the primary's role over to node ``to`` (the most up-to-date
    secondary when None) with no acknowledged commit lost; return the new
    primary ``Node``."""
    found = nodes(zk, layout)
    names = [node.name for node in found]
    current = primary(found)
    if to is not None and to not in names:
        raise FailoverError(
            f'no node {to!r} runs in the database {layout.database}:'
            f' choose among {", ".join(names) or "none"}')
    if current is None:
        raise FailoverError(f'the database {layout.database} has no primary'
                            ' now: nothing to fail over from')
    if to == current.name:
        raise FailoverError(f'{to} is the primary already (epoch'
                            f' {current.epoch})')
    if not any(node.role == 'secondary' for node in found):
        raise FailoverError(f'nothing to fail over to: {current.name} is'
                            f' the only node of the database'
                            f' {layout.database} running')
    try:
        after = zc.zrs.election.switchover(zk, layout.database_path, to=to,
                                           timeout=timeout)
    except (zc.zrs.election.SwitchoverFailed, ValueError) as error:
        raise FailoverError(str(error)) from None
    return primary(_nodes(after))
