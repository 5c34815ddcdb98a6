"""zc.zk's exceptions."""


class FailedConnect(Exception):
    """No ZooKeeper server of the connection string could be reached."""


class CancelWatch(Exception):
    """Raised by a callback to stop being called, quietly."""


class LinkLoop(Exception):
    """Following links led back to where it started."""


class BadPropertyLink(Exception):
    """A property link (``name => path [property]``) cannot be followed."""
