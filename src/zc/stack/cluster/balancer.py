"""Keep HAProxy's backend equal to the app servers registered in
ZooKeeper.

A zc.zk children watch on the apps' path wakes a worker thread, which
*reconciles*: a server registered but missing from HAProxy gets a free
slot of the backend (see ``haproxy``), made ready; a slot whose server
ZooKeeper no longer lists is put in maintenance (HAProxy sends it no new
request; those in progress finish) and is free again once its last
request is done. The worker also reconciles every ``interval`` seconds,
which gives the servers back to a restarted HAProxy.

Run as a process (``python -m zc.stack.cluster.balancer``), it also
registers the front door's address in ZooKeeper and runs a zc.monitor.
"""
import argparse
import logging
import signal
import sys
import threading

import zc.monitor
import zc.zk
from kazoo.exceptions import NodeExistsError

from zc.stack.cluster.haproxy import UNUSED, HAProxyError, Runtime

logger = logging.getLogger(__name__)

INTERVAL = 1.0
#: Seconds (zc.zk's unit) before the front door's registration outlives a
#: killed balancer; its successor registers the same address, so it waits
#: for that long at most.
SESSION_TIMEOUT = 2.0


class Balancer:
    """Follows the registrations under ``path`` (through the zc.zk
    session ``zk``) with the servers of ``runtime``'s backend."""

    def __init__(self, zk, path, runtime, interval=INTERVAL):
        self.zk = zk
        self.path = path
        self.runtime = runtime
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._wanted = set()
        self._lock = threading.Lock()
        self._thread = None
        self._children = None
        #: Set after each reconciliation that left HAProxy as wanted.
        self.in_step = threading.Event()

    def start(self):
        self._children = self.zk.children(self.path)
        self._children(self._changed)
        self._thread = threading.Thread(
            target=self._run, name='zc.stack.balancer', daemon=True)
        self._thread.start()
        return self

    def _changed(self, children=None):
        # In kazoo's thread: note the change, let the worker act on it.
        with self._lock:
            self._wanted = set(children or ())
        self.in_step.clear()
        self._wake.set()

    def _run(self):
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                if self.reconcile():
                    self.in_step.set()
            except HAProxyError as error:
                logger.warning('%s; trying again in %ss', error,
                               self.interval)
            self._wake.wait(self.interval)

    def reconcile(self):
        """Make one pass; return True when HAProxy sends requests to
        exactly the registered servers and none is still draining."""
        with self._lock:
            wanted = set(self._wanted)
        slots = self.runtime.servers()
        done = True
        for name, slot in sorted(slots.items()):
            if slot['ready'] and slot['address'] not in wanted:
                self.runtime.drain(name)
                slot['ready'] = False
                logger.info('draining app server %s', slot['address'])
            if not slot['ready'] and slot['sessions']:
                done = False  # still finishing requests
        held = {}
        for name, slot in sorted(slots.items()):
            if slot['address'] in wanted and (
                    slot['ready'] or slot['address'] not in held):
                held[slot['address']] = name
        for address in sorted(wanted):
            name = held.get(address)
            if name is None:
                name = self._free_slot(slots, wanted)
                if name is None:
                    logger.error('no free slot for app server %s: HAProxy'
                                 ' has %d', address, len(slots))
                    done = False
                    continue
                self.runtime.assign(name, address)
                logger.info('added app server %s', address)
            elif not slots[name]['ready']:
                self.runtime.ready(name)
                logger.info('app server %s is back', address)
            slots[name].update(address=address, ready=True)
        return done

    @staticmethod
    def _free_slot(slots, wanted):
        """A slot in maintenance, idle, holding no wanted address; one
        never used if there is one."""
        free = [name for name, slot in slots.items()
                if not slot['ready'] and not slot['sessions']
                and slot['address'] not in wanted]
        unused = [name for name in free if slots[name]['address'] == UNUSED]
        return (unused or free or [None])[0]

    def close(self):
        self._stopping.set()
        self._wake.set()
        if self._children is not None:
            self._children.close()
        if self._thread is not None:
            self._thread.join(10)


def register(zk, path, address, stop, retry=0.2, **properties):
    """Register ``address`` at ``path`` once the registration of a
    predecessor (a killed process whose session has not expired yet) is
    gone; False if ``stop`` was set first."""
    while not stop.is_set():
        try:
            zk.register(path, address, **properties)
            return True
        except NodeExistsError:
            logger.info('%s is still registered at %s by a previous'
                        ' process; waiting for its session to end',
                        address, path)
            stop.wait(retry)
    return False


def _parser():
    parser = argparse.ArgumentParser(
        prog='python -m zc.stack.cluster.balancer',
        description="Keep HAProxy's backend equal to the app servers"
                    ' registered in ZooKeeper, and register the front'
                    ' door.')
    parser.add_argument('--zookeeper', required=True,
                        help='ZooKeeper connection string')
    parser.add_argument('--apps', required=True,
                        help='ZooKeeper path of the app registrations')
    parser.add_argument('--socket', required=True,
                        help="HAProxy's admin socket")
    parser.add_argument('--front', required=True, metavar='HOST:PORT',
                        help="the front door's address, to register")
    parser.add_argument('--register', required=True, metavar='PATH',
                        help='ZooKeeper path to register the front door at')
    parser.add_argument('--monitor-server', default='127.0.0.1:0',
                        metavar='HOST:PORT',
                        help='zc.monitor address (default %(default)s)')
    return parser


def main(args=None):
    options = _parser().parse_args(args)
    logging.basicConfig(level=logging.INFO,
                        format='%(asctime)s %(levelname)s %(name)s %(message)s')
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    monitor = zc.monitor.start(zc.monitor.parse_address(options.monitor_server))
    # Waits (logging) until ZooKeeper answers; zdaemon runs us meanwhile.
    zk = zc.zk.ZooKeeper(options.zookeeper, SESSION_TIMEOUT, wait=True)
    balancer = Balancer(zk, options.apps, Runtime(options.socket)).start()
    properties = {}
    if monitor:
        properties['monitor'] = '{}:{}'.format(*monitor)
    try:
        if register(zk, options.register, options.front, stop,
                    **properties):
            logger.info('front door %s registered at %s', options.front,
                        options.register)
        while not stop.wait(1.0):
            pass
    finally:
        balancer.close()
        zk.close()
        zc.monitor.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
