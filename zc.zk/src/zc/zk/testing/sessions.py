"""Making a real ZooKeeper server end a client's session."""
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss
from kazoo.protocol.states import KazooState


def expire_session(client, hosts, timeout=10.0):
    """Make the server expire ``client``'s session, for real.

    A second client attaches to the same session and closes it, which is
    what the server does when a session times out: ephemeral nodes go and
    ``client`` sees LOST, then reconnects on a new session. ``hosts`` is
    the server list without a chroot.
    """
    lost = threading.Event()

    def on_state(state):
        if state == KazooState.LOST:
            lost.set()
            return True     # done listening
    client.add_listener(on_state)
    try:
        for _ in range(5):
            other = KazooClient(hosts, client_id=client.client_id)
            try:
                other.start(timeout=timeout)
                other.stop()
            except ConnectionLoss:
                pass    # the first client re-attached first; again
            finally:
                other.close()
            if lost.wait(timeout / 5):
                return
        raise AssertionError('the session did not expire')
    finally:
        client.remove_listener(on_state)
