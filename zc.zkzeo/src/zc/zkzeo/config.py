"""The ``<zkzeoclient>`` section (component.xml): ZODB's ``<zeoclient>``
whose one ``server`` is a ZooKeeper path."""
import ZODB.config

from zc.zkzeo._client import client

#: zeoclient keys passed to ClientStorage under the same name, when set.
_OPTIONAL = ('blob_cache_size', 'blob_cache_size_check', 'client_label')
_ALWAYS = ('blob_dir', 'shared_blob_dir', 'storage', 'cache_size', 'name',
           'client', 'var', 'min_disconnect_poll', 'max_disconnect_poll',
           'wait', 'read_only', 'read_only_fallback',
           'drop_cache_rather_verify', 'username', 'password', 'realm')


def server_path(servers):
    """The ZooKeeper path of the section's ``server`` keys (parsed as
    socket addresses by zeoclient's schema), or TypeError."""
    if len(servers) != 1:
        raise TypeError('Only one server option is allowed')
    path = servers[0].address
    if not (isinstance(path, str) and path.startswith('/')):
        raise TypeError('server must be a ZooKeeper path')
    return path


class ZKZEOClient(ZODB.config.BaseConfig):
    """Opens ``zc.zkzeo.client`` with the section's settings."""

    def open(self):
        config = self.config
        path = server_path(config.server)
        options = {name: getattr(config, name) for name in _ALWAYS}
        options.update((name, getattr(config, name)) for name in _OPTIONAL
                       if getattr(config, name) is not None)
        return client(config.zookeeper, path, **options)
