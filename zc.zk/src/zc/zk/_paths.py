"""ZooKeeper paths: absolute, normalized, joined."""
import posixpath


def normalize(path):
    """``path`` made absolute, with ``.``, ``..`` and ``//`` resolved."""
    path = posixpath.normpath('/' + path.strip())
    return '/' + path.lstrip('/')


def join(parent, name):
    return normalize(posixpath.join(parent, name))
