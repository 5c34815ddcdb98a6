"""The ZooKeeper side of high availability (``failover on``): which node
of a database is its primary, in which epoch.

Every node of a database works under the database's ZooKeeper path::

    <path>/nodes/<name>    ephemeral, one per live node: its role, the
                           epoch its data follows, its last tid, its
                           replication and ZEO addresses, its pid
    <path>/epochs          persistent: every epoch so far, as
                           [epoch, start tid (hex), primary's name],
                           appended with a versioned compare-and-set
    <path>/leader          the election (kazoo's Lock recipe): the
                           primary holds it
    <path>/replication     the primary's replication address (an
                           ephemeral host:port child), for secondaries
    <path>/primary         the primary's ZEO address (the same way), for
                           zkzeo clients: registered only while primary
    <path>/switchover      present during a planned switchover

An ``Elector`` runs the election for one node in a thread of its own.
When nobody holds the leader lock (the primary's session ended), every
live node first brings its data into the current epoch (a node whose
data followed an older epoch cuts what the later epochs never had), then
publishes its last tid as ready; once every live node is ready (or
``election_timeout`` has passed), only the node with the newest last tid
(ties: a planned switchover's target, else the smallest name) contends.
The winner records the next epoch, starting at its last tid, and is
promoted. The others follow it. A winner whose promotion fails (its
replication port taken, say) gives the lock up and stays out of elections
for ``PROMOTION_RETRY`` seconds, so that another node wins the next
epoch.

The elector drives its node through a small interface (see
zc.zrs.node.Node): ``last_tid()``, ``settled()``, ``data_epoch``,
``promote(epoch)``, ``follow(epoch, truncate_after)``, ``step_down()``,
``fence(reason)``, ``unfence()``, ``disconnect_clients()``,
``replication_address()``,
``zeo_address()`` and ``role``.
"""
import json
import logging
import os
import posixpath
import threading
import time

from kazoo.exceptions import (BadVersionError, KazooException,
                              NodeExistsError, NoNodeError)
from kazoo.protocol.states import KazooState
from kazoo.recipe.lock import Lock

from zc.zrs.zk import session as zk_session

logger = logging.getLogger(__name__)

NODES = 'nodes'
EPOCHS = 'epochs'
LEADER = 'leader'
REPLICATION = 'replication'
PRIMARY = 'primary'
SWITCHOVER = 'switchover'

#: Seconds an election waits for live nodes that are not ready yet.
ELECTION_TIMEOUT = 5.0
#: How often the elector looks, in steady state and during an election
#: (watches wake it earlier).
STEADY_POLL = 0.5
ELECTION_POLL = 0.05
#: Seconds a primary handing over waits for its target to catch up.
SWITCHOVER_CATCH_UP = 5.0
#: Seconds a node whose promotion failed stays out of elections (another
#: node wins meanwhile, if there is one).
PROMOTION_RETRY = 10.0


def _hex(tid):
    return tid.hex()


def _address(address):
    return None if address is None else '%s:%s' % tuple(address)


# Epochs

def read_epochs(client, path):
    """``(entries, version)``: the epochs recorded under ``path``, each
    ``(epoch, start_tid, name)``, oldest first."""
    try:
        data, stat = client.get(posixpath.join(path, EPOCHS))
    except NoNodeError:
        return [], -1
    entries = json.loads(data.decode()) if data else []
    return ([(epoch, bytes.fromhex(tid), name)
             for epoch, tid, name in entries], stat.version)


def record_epoch(client, path, entries, version, start_tid, name):
    """Append the next epoch, if ``version`` is still the epochs' version
    (BadVersionError or NodeExistsError otherwise); return it."""
    epoch = entries[-1][0] + 1 if entries else 1
    data = json.dumps([[e, _hex(t), n] for e, t, n in entries]
                      + [[epoch, _hex(start_tid), name]]).encode()
    node = posixpath.join(path, EPOCHS)
    if version < 0:
        client.create(node, data, makepath=True)
    else:
        client.set(node, data, version=version)
    return epoch


def truncation_point(entries, data_epoch):
    """Where data that followed epoch ``data_epoch`` must be cut to follow
    the last epoch: the earliest start tid of the later epochs (None when
    there is no later epoch)."""
    later = [tid for epoch, tid, _ in entries if epoch > data_epoch]
    return min(later) if later else None


# What other processes ask (zc-stack status, zc-stack failover)

def status(zookeeper, path):
    """The current ``epoch`` and ``primary`` (name, or None) of the
    database at ``path`` and its live ``nodes``: a list, by name, of
    dicts with ``name``, ``role``, ``epoch`` (of the node's data),
    ``last_tid``, ``zeo`` and ``replication`` addresses and ``pid``.
    ``zookeeper``: a connection string or a ``zc.zk.ZooKeeper``."""
    zk, owned = zk_session(zookeeper)
    try:
        client = zk.client
        entries, _ = read_epochs(client, path)
        nodes = _live_nodes(client, path)
    finally:
        if owned:
            zk.close()
    primaries = [n['name'] for n in nodes if n.get('role') == 'primary']
    return dict(epoch=entries[-1][0] if entries else 0,
                primary=primaries[0] if primaries else None,
                nodes=nodes)


def _live_nodes(client, path):
    parent = posixpath.join(path, NODES)
    try:
        names = client.get_children(parent)
    except NoNodeError:
        return []
    nodes = []
    for name in sorted(names):
        try:
            data, _ = client.get(posixpath.join(parent, name))
        except NoNodeError:
            continue
        properties = json.loads(data.decode()) if data else {}
        properties['name'] = name
        nodes.append(properties)
    return nodes


class SwitchoverFailed(Exception):
    """A planned switchover did not complete in time (the primary keeps
    its role, or an election chooses the next one)."""


def switchover(zookeeper, path, to=None, timeout=10):
    """Move the primary role of the database at ``path`` to node ``to``
    (default: the most up-to-date secondary), without losing a commit:
    the primary stops accepting commits, waits until the target has its
    last transaction, and steps down; the target wins the election.
    Returns ``status()`` once the new primary serves; raises
    SwitchoverFailed after ``timeout`` seconds, and ValueError for an
    unknown target or a database with no primary."""
    zk, owned = zk_session(zookeeper)
    try:
        client = zk.client
        before = status(zk, path)
        if before['primary'] is None:
            raise ValueError(f'{path} has no primary to switch over from')
        names = [n['name'] for n in before['nodes']]
        if to is not None and to not in names:
            raise ValueError(f'{path} has no live node {to!r} (live: '
                             f'{", ".join(names)})')
        if to is None:
            to = _most_current([n for n in before['nodes']
                                if n['name'] != before['primary']])
            if to is None:
                raise ValueError(f'{path} has no secondary to switch '
                                 f'over to')
        if to == before['primary']:
            return before
        request = posixpath.join(path, SWITCHOVER)
        client.create(request, json.dumps(
            dict(to=to, primary=before['primary'],
                 epoch=before['epoch'])).encode(), ephemeral=True)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                now = status(zk, path)
                if (now['epoch'] > before['epoch']
                        and now['primary'] is not None
                        and now['primary'] != before['primary']
                        and _serving(now)):
                    return now
                time.sleep(ELECTION_POLL)
            raise SwitchoverFailed(
                f'switchover of {path} from {before["primary"]} did not '
                f'complete within {timeout} seconds')
        finally:
            try:
                client.delete(request)
            except NoNodeError:
                pass
    finally:
        if owned:
            zk.close()


def _most_current(nodes, preferred=None):
    """The name of the node with the newest last tid (ties: node
    ``preferred``, else the smallest name), or None."""
    if not nodes:
        return None
    return min(nodes, key=lambda n: (-int(n.get('last_tid') or '0', 16),
                                     n['name'] != preferred,
                                     n['name']))['name']


def _serving(state):
    [primary] = [n for n in state['nodes'] if n['name'] == state['primary']]
    return primary.get('epoch') == state['epoch']


# One node's part

class Elector:
    """Runs the election for ``node`` under ``path`` as ``name``, through
    ``zk`` (a ``zc.zk.ZooKeeper``), in a thread started by ``start()``."""

    def __init__(self, zk, path, name, node,
                 election_timeout=ELECTION_TIMEOUT):
        self.zk = zk
        self.client = zk.client
        self.path = path
        self.name = name
        self.node = node
        self.election_timeout = election_timeout
        self.leader = False
        self.epoch = 0  # the last epoch seen
        self._session = None
        self._lock = None
        self._fenced_by_suspension = False
        self._disconnected_since = None
        self._clients_sent_away = False
        self._published = None
        self._no_primary_since = None
        self._promotion_failed_at = None
        self._waited_for = None  # the session of our previous life
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f'zc.zrs election {name}')
        for child in (NODES, LEADER, REPLICATION, PRIMARY):
            self.client.ensure_path(posixpath.join(path, child))
        self.client.add_listener(self._on_state)
        # What wakes us: zc.zk views, which ask ZooKeeper nothing once
        # closed (with us, and by the session's close before it ends). A
        # kazoo watch recipe reads its node again on every event, even
        # after its callback is done with, and a read issued while the
        # session closes may never be answered: kazoo's stop() then waits
        # for ever for its callback thread, and the node never exits.
        self._views = [
            self.zk.children(posixpath.join(path, LEADER)),
            self.zk.children(posixpath.join(path, NODES)),
            # A new primary's registration: we join its epoch before
            # following.
            self.zk.children(posixpath.join(path, REPLICATION)),
            # A switchover request (SWITCHOVER) comes and goes.
            self.zk.children(path)]
        for view in self._views:
            view(self._changed)

    def start(self):
        """Take the first step at once (so that a rejoining node cuts
        its data before it serves anything), then go on in a thread."""
        self._wake.clear()
        try:
            self._step()
        except KazooException as exc:
            logger.info('election %s: %s; trying again', self.name,
                        type(exc).__name__)
        self._thread.start()

    def close(self):
        """Stop taking part (the caller closes the node and the session,
        which removes this node's ephemeral nodes)."""
        if self._closed:
            return
        self._closed = True
        for view in self._views:
            view.close()
        self.client.remove_listener(self._on_state)
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(30)
        if self.leader:
            self._unregister_primary()

    # Notifications (kazoo's threads: never block)

    def _changed(self, view=None):
        self._wake.set()

    def _on_state(self, state):
        if state == KazooState.CONNECTED:
            self._disconnected_since = None
            self._clients_sent_away = False
        elif self._disconnected_since is None:
            self._disconnected_since = time.monotonic()
        if state != KazooState.CONNECTED and self.leader:
            self._fenced_by_suspension = True
            self.node.fence(f'ZooKeeper session {state.lower()}')
        self._wake.set()

    # The loop

    def _run(self):
        while not self._closed:
            try:
                delay = self._step()
            except KazooException as exc:
                logger.info('election %s: %s; trying again', self.name,
                            type(exc).__name__)
                delay = ELECTION_POLL * 4
            except Exception:
                logger.exception('election %s', self.name)
                delay = STEADY_POLL
            self._wake.wait(delay)
            self._wake.clear()

    def _step(self):
        if not self.client.connected:
            since = self._disconnected_since
            if (self.leader and since is not None and time.monotonic() - since
                    > self.zk.session_timeout and not self._clients_sent_away):
                # ZooKeeper may have expired our session by now (unless it
                # is down itself): another node may be primary already.
                # Fenced and read-only, we send our clients away (to the
                # new primary, if their ZooKeeper shows one), but remain
                # the primary until we learn whether the session is lost.
                self._clients_sent_away = True
                logger.warning('node %s: ZooKeeper unreachable for longer '
                               'than the session timeout: disconnecting '
                               'ZEO clients', self.name)
                self.node.disconnect_clients()
            return ELECTION_POLL if self.leader else STEADY_POLL
        session = self.client.client_id[0]
        if session != self._session:
            if self.leader:
                self._step_down('its ZooKeeper session was lost')
            self._session = session
            self._lock = Lock(self.client, posixpath.join(self.path, LEADER),
                              identifier=self.name)
            self._published = None
        if self.leader:
            return self._lead()
        if self._lock.is_acquired:
            # We stepped down while ZooKeeper was unreachable, and it kept
            # our session: let the others elect (us, maybe) anew.
            self._lock.release()
        entries, version = read_epochs(self.client, self.path)
        self.epoch = entries[-1][0] if entries else 0
        self._join_epoch(entries)
        if self._published is None and self._previous_life():
            return STEADY_POLL  # the nodes' watch wakes us when it is gone
        if self._lock.contenders():
            self._no_primary_since = None
            self._publish()
            # During a switchover, the primary waits for what we publish.
            return (ELECTION_POLL if self._switchover_request() is not None
                    else STEADY_POLL)
        return self._elect(entries, version)

    def _join_epoch(self, entries):
        """Follow the current epoch; data that followed an older one is
        cut first where the later epochs start."""
        node = self.node
        if node.role == 'secondary' and node.data_epoch == self.epoch:
            return
        truncate = (truncation_point(entries, node.data_epoch)
                    if node.data_epoch < self.epoch else None)
        node.follow(self.epoch, truncate)

    def _previous_life(self):
        """Whether our node under ``nodes`` belongs to another session:
        this node's previous process (killed, and restarted at once by
        zdaemon, say), whose session ZooKeeper has not expired yet. Until
        it has, we neither publish (into a node that is about to vanish)
        nor contend (the others count that life as live, and as primary
        if it was)."""
        stat = self.client.exists(posixpath.join(self.path, NODES,
                                                 self.name))
        if stat is None or stat.ephemeralOwner == self._session:
            self._waited_for = None
            return False
        if self._waited_for != stat.ephemeralOwner:
            self._waited_for = stat.ephemeralOwner
            logger.info('node %s: waiting until ZooKeeper ends the session '
                        '%#x of its previous life', self.name,
                        stat.ephemeralOwner)
        return True

    def _publish(self, **more):
        node = self.node
        properties = dict(role=node.role, epoch=node.data_epoch,
                          last_tid=_hex(node.last_tid()),
                          replication=_address(node.replication_address()),
                          zeo=_address(node.zeo_address()), pid=os.getpid(),
                          **more)
        if properties == self._published:
            return
        data = json.dumps(properties).encode()
        mine = posixpath.join(self.path, NODES, self.name)
        try:
            self.client.set(mine, data)
        except NoNodeError:
            self.client.create(mine, data, ephemeral=True)
        self._published = properties

    def _switchover_request(self):
        try:
            data, _ = self.client.get(posixpath.join(self.path, SWITCHOVER))
        except NoNodeError:
            return None
        return json.loads(data.decode())

    def _switchover_target(self):
        """The node a planned switchover names, or None."""
        request = self._switchover_request()
        return None if request is None else request.get('to')

    def _elect(self, entries, version):
        now = time.monotonic()
        if self._no_primary_since is None:
            self._no_primary_since = now
            logger.info('node %s: no primary in epoch %s', self.name,
                        self.epoch)
        if not self.node.settled():
            return ELECTION_POLL
        if self._candidate(now):
            self._publish(ready=self.epoch)
        else:
            self._publish(ready=self.epoch, candidate=False)
        nodes = _live_nodes(self.client, self.path)
        ready = [n for n in nodes if n.get('ready') == self.epoch]
        if (len(ready) < len(nodes) and now - self._no_primary_since
                < self.election_timeout):
            return ELECTION_POLL
        # A planned switchover's target wins the ties: it caught up with
        # the primary that stepped down. Not more: should that primary
        # have died before, the target may lack commits another node has.
        if _most_current([n for n in ready if n.get('candidate', True)],
                         self._switchover_target()) != self.name:
            return ELECTION_POLL
        if not self._lock.acquire(blocking=False):
            return ELECTION_POLL
        last = self.node.last_tid()
        try:
            epoch = record_epoch(self.client, self.path, entries, version,
                                 last, self.name)
        except (BadVersionError, NodeExistsError):
            self._lock.release()
            return 0
        self.leader = True
        self.epoch = epoch
        self._fenced_by_suspension = False
        self._no_primary_since = None
        logger.info('node %s won the election: primary of epoch %s, '
                    'starting after %s', self.name, epoch, _hex(last))
        try:
            self.node.promote(epoch)
        except Exception:
            self._give_up(epoch)
            return 0
        self._register(REPLICATION, self.node.replication_address())
        self._publish()
        return 0

    def _candidate(self, now):
        """Whether we contend: not while we back off after a failed
        promotion."""
        failed = self._promotion_failed_at
        return failed is None or now - failed >= PROMOTION_RETRY

    def _give_up(self, epoch):
        """Our promotion failed: release the lock, so that another node
        wins the next epoch rather than the database staying without a
        primary (what we alone had is then cut when we follow it)."""
        logger.exception('node %s could not become the primary of epoch '
                         '%s: giving the election up for %s seconds',
                         self.name, epoch, PROMOTION_RETRY)
        self.leader = False
        self._promotion_failed_at = time.monotonic()
        self._lock.release()

    def _lead(self):
        if self._fenced_by_suspension:
            if not self._lock.is_acquired or not self._holds_lock():
                return STEADY_POLL  # a lost session: the next step sees it
            self._fenced_by_suspension = False
            self.node.unfence()
            logger.info('node %s: ZooKeeper connection back, same session: '
                        'primary again', self.name)
        if self._registered(PRIMARY) is None:
            self._register(PRIMARY, self.node.zeo_address())
        request = self._switchover_request()
        if request is not None and request.get('primary') == self.name:
            self._switch_over(request)
            return 0
        self._publish()
        return STEADY_POLL

    def _holds_lock(self):
        return self.name in self._lock.contenders()[:1]

    # Registrations of the primary's addresses

    def _registered(self, kind):
        """The name of this session's registration under ``kind``."""
        parent = posixpath.join(self.path, kind)
        for name in self.client.get_children(parent):
            stat = self.client.exists(posixpath.join(parent, name))
            if stat is not None and stat.ephemeralOwner == self._session:
                return name
        return None

    def _register(self, kind, address):
        if address is None:
            return
        try:
            self.client.create(
                posixpath.join(self.path, kind, _address(address)),
                json.dumps(dict(name=self.name, epoch=self.epoch,
                                pid=os.getpid())).encode(),
                ephemeral=True)
        except NodeExistsError:
            pass
        logger.info('node %s: %s address %s registered', self.name, kind,
                    _address(address))

    def _unregister_primary(self):
        for kind in (PRIMARY, REPLICATION):
            try:
                name = self._registered(kind)
                if name is not None:
                    self.client.delete(posixpath.join(self.path, kind, name))
            except KazooException:
                pass  # the session's end removes it

    # Stepping down

    def _step_down(self, reason):
        logger.warning('node %s steps down as primary of epoch %s: %s',
                       self.name, self.epoch, reason)
        self.leader = False
        self.node.step_down()

    def _switch_over(self, request):
        target = request.get('to')
        # Commits begun before the gate closed finish (or fail) first:
        # read before they end, the last tid would leave out commits
        # that go on to be acknowledged, and that the target may lack.
        if not self.node.drain('planned switchover', SWITCHOVER_CATCH_UP):
            failure = 'commits in progress did not end'
        elif not self._caught_up(target, self.node.last_tid()):
            failure = 'it did not catch up'
        else:
            failure = None
        if failure is not None:
            logger.warning('node %s: switchover to %s failed: %s; primary '
                           'again', self.name, target, failure)
            self.node.unfence()
            try:
                self.client.delete(posixpath.join(self.path, SWITCHOVER))
            except NoNodeError:
                pass
            return
        self._unregister_primary()
        self._step_down(f'planned switchover to {target}')
        self._lock.release()
        self._publish()

    def _caught_up(self, target, tid, timeout=SWITCHOVER_CATCH_UP):
        """Wait until node ``target`` publishes ``tid``, or a newer one, as
        its last."""
        node = posixpath.join(self.path, NODES, target)
        wanted = int.from_bytes(tid, 'big')
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, _ = self.client.get(node)
            except NoNodeError:
                return False
            published = json.loads(data.decode()).get('last_tid') or '0'
            if int(published, 16) >= wanted:
                return True
            time.sleep(ELECTION_POLL / 5)
        return False

