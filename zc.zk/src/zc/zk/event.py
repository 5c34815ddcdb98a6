"""Events zc.zk announces: ``notify`` is ``zope.event.notify`` when
zope.event is installed, else a no-op that applications may replace
(``zc.zk.event.notify = my_notify``)."""
try:
    from zope.event import notify
except ImportError:  # zope.event is optional (the "event" extra)
    def notify(event):
        """Deliver ``event`` to nobody: zope.event is not installed."""


class RegisteringServer:
    """Sent just before ``ZooKeeper.register`` creates a server's node.

    Subscribers may add to ``properties``; they are stored in the node.
    ``zookeeper`` is the ``ZooKeeper`` registering.
    """

    def __init__(self, name, path, properties, zookeeper=None):
        self.name = name
        self.path = path
        self.properties = properties
        self.zookeeper = zookeeper

    def __repr__(self):
        return (f'RegisteringServer({self.name!r}, {self.path!r}, '
                f'{self.properties!r})')
