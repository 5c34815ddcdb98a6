"""ZooKeeper paths: absolute, normalized, joined."""
import posixpath


def normalize(path):
    """``path`` made absolute, with ``.``, ``..`` and ``//`` resolved."""
    path = posixpath.normpath('/' + path.strip())
    return '/' + path.lstrip('/')


def join(parent, name):
    return normalize(posixpath.join(parent, name))


def child(parent, name):
    """The path of child ``name`` of normalized path ``parent``, for a
    name known to be plain (no ``/``, not ``.`` or ``..``: the node names
    of a parsed tree); much cheaper than ``join``."""
    return ('' if parent == '/' else parent) + '/' + name
