"""ZConfig datatypes of ``%import zc.zrs`` (component.xml)."""
import os
import sys

import ZEO.zconfig
import ZODB.config

#: Hosts a listening socket takes every interface with.
_ANY_HOST = ('', '0.0.0.0', '::')


def zookeeper_connection(value):
    """A ZooKeeper connection string: ``host:port[,host:port...][/chroot]``
    (checked here, so a typo is a configuration error naming the key)."""
    hosts, slash, chroot = value.strip().partition('/')
    for server in hosts.split(','):
        host, colon, port = server.strip().rpartition(':')
        if not (host and colon and port.isdigit()
                and 0 < int(port) < 65536):
            raise ValueError(
                f'zookeeper: {value!r} is not host:port[,host:port...]'
                f'[/chroot] (bad server {server.strip()!r})')
    return value.strip()


def synchronous_fallback(value):
    """``fail`` or ``async``."""
    from zc.zrs.synchronous import FALLBACKS
    if value not in FALLBACKS:
        raise ValueError(f'synchronous-fallback must be fail or async, not '
                         f'{value!r}')
    return value


def server_ssl(section):
    """A server-side ssl.SSLContext requiring trusted client
    certificates."""
    return ZEO.zconfig.ssl_config(section, True)


def client_ssl(section):
    """``(ssl.SSLContext, server_hostname)`` for a secondary."""
    return ZEO.zconfig.ssl_config(section, False)


class ZRS(ZODB.config.BaseConfig):
    """Opens the ``<zrs>`` section: a Primary, a Secondary or a relay."""

    def __init__(self, config):
        super().__init__(config)
        _check_failover_keys(config)
        _check_zookeeper_keys(config)
        _check_synchronous_keys(config)

    def open(self):
        config = self.config
        to, from_ = config.replicate_to, config.replicate_from
        if config.failover:
            return self._open_node()
        if to is None and from_ is None:
            raise ValueError(
                'zrs section needs replicate-to (a primary), replicate-from '
                '(a secondary) or both (a relay)')
        if to is not None and from_ is not None \
                and _same(to.address, from_.address):
            raise ValueError(
                f'zrs section replicates to and from the same address '
                f'{_show(to.address)}')
        if to is None and config.replicate_to_ssl is not None:
            raise ValueError('replicate-to-ssl without replicate-to')
        if from_ is None and config.replicate_from_ssl is not None:
            raise ValueError('replicate-from-ssl without replicate-from')
        server = _opening_zeo_server()
        if to is not None:
            self._refuse_zeo_address(server, to.address)
        storage = config.base.open()
        try:
            if to is not None:
                from zc.zrs.primary import Primary
                storage = Primary(
                    storage, to.address, ssl=config.replicate_to_ssl,
                    **_synchronous(config),
                    **(_zookeeper(config, zookeeper_path=config.zookeeper_path)
                       if config.zookeeper_path else {}))
            if from_ is not None:
                from zc.zrs.secondary import Secondary
                ssl, hostname = config.replicate_from_ssl or (None, None)
                storage = Secondary(
                    storage, from_.address,
                    reconnect_delay=config.reconnect_delay,
                    check_checksums=config.check_checksums,
                    keep_alive_delay=config.keep_alive_delay,
                    ssl=ssl, ssl_server_hostname=hostname,
                    **_zookeeper(config))
        except BaseException as exc:
            storage.close()
            self._explain(exc, server)
            raise
        _register_for_monitoring(storage, self.name)
        return storage

    def _open_node(self):
        """A high-availability node (zc.zrs.node)."""
        from zc.zrs.node import Node
        from zc.zrs.zeoserver import ZEOServer
        config = self.config
        server = _opening_zeo_server()
        to = config.replicate_to.address
        self._refuse_zeo_address(server, to)
        ssl, hostname = config.replicate_from_ssl or (None, None)
        try:
            node = Node(
                config.base.open, to, config.zookeeper,
                config.zookeeper_path, name=config.node_name,
                zookeeper_session_timeout=config.zookeeper_session_timeout,
                zeo_server=(None if server is None
                            else ZEOServer(server, self.name or '1')),
                primary_options=dict(ssl=config.replicate_to_ssl,
                                     **_synchronous(config)),
                secondary_options=dict(
                    reconnect_delay=config.reconnect_delay,
                    check_checksums=config.check_checksums,
                    keep_alive_delay=config.keep_alive_delay,
                    ssl=ssl, ssl_server_hostname=hostname),
                election_timeout=config.election_timeout)
        except BaseException as exc:
            self._explain(exc, server)
            raise
        _register_for_monitoring(node, self.name)
        return node

    def _refuse_zeo_address(self, server, to):
        """Under runzeo (``server``), replicating on the ZEO server's own
        address is a usage error (one line, exit status 2)."""
        if server is not None and _overlap(server.options.address, to):
            server.options.usage(
                f'{self._section()}: replicate-to {_show(to)} is the '
                f'address of the ZEO server itself')

    def _explain(self, exc, server):
        """Say which key made starting replication fail: a note on
        ``exc``, and under runzeo (``server``) one line and exit status
        2."""
        problem = _starting_problem(exc, self.config)
        if problem is not None:
            message = f'{self._section()}: {problem}'
            if server is not None:
                server.options.usage(message)
            exc.add_note(message)

    def _section(self):
        return f'zrs storage {self.name!r}' if self.name else 'zrs section'


def _opening_zeo_server():
    """The ZEO server (``ZEO.runzeo.ZEOServer``) opening this storage, or
    None.

    runzeo gives the storages it opens no handle on itself, but it opens
    them itself (its ``open_storages`` calls ``open()``). Through it,
    problems with the replication address are reported the way runzeo
    reports problems with its own address: one line and exit status 2, not
    a traceback.
    """
    frame = sys._getframe(2)  # the caller of open()
    for _ in range(3):  # subclasses of ZEOServer may wrap open_storages
        if frame is None:
            break
        caller = frame.f_locals.get('self')
        if _is_zeo_server(caller):
            return caller
        frame = frame.f_back
    return None


def _is_zeo_server(obj):
    # By name: under ``python -m ZEO.runzeo`` the class is __main__'s.
    return any(cls.__name__ == 'ZEOServer'
               and cls.__module__ in ('ZEO.runzeo', '__main__')
               for cls in type(obj).__mro__)


def _overlap(a, b):
    """Whether listening on ``a`` and on ``b`` would collide."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    (host_a, port_a), (host_b, port_b) = a, b
    return (port_a == port_b and port_a not in (0, None)
            and (host_a == host_b or host_a in _ANY_HOST
                 or host_b in _ANY_HOST))


def _starting_problem(exc, config):
    """One line saying which key made starting replication fail, or None
    for failures that are not about the configuration."""
    if isinstance(exc, OSError) and config.replicate_to is not None:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        return (f'replicate-to {_show(config.replicate_to.address)}: cannot '
                f'listen there: {reason}')
    if config.zookeeper is not None:
        import zc.zk
        if isinstance(exc, zc.zk.FailedConnect):
            return (f'zookeeper {config.zookeeper}: cannot connect to '
                    f'ZooKeeper')
    return None


def _check_failover_keys(config):
    """``failover on`` has what a node needs (checked when the
    configuration is read)."""
    if not config.failover:
        for key in ('node_name',):
            if getattr(config, key) is not None:
                raise ValueError(f'{key.replace("_", "-")} needs failover on')
        return
    missing = [key for key, value in (
        ('zookeeper', config.zookeeper),
        ('zookeeper-path', config.zookeeper_path),
        ('replicate-to', config.replicate_to)) if value is None]
    if missing:
        raise ValueError(f'failover needs {", ".join(missing)} (the '
                         f'database\'s ZooKeeper path, and where to serve '
                         f'secondaries while primary)')
    if config.replicate_from is not None:
        raise ValueError('failover nodes find their primary in ZooKeeper: '
                         'no replicate-from')
    if isinstance(config.replicate_to.address, str):
        raise ValueError(f'failover needs a TCP replicate-to (registered '
                         f'in ZooKeeper), not the unix socket '
                         f'{config.replicate_to.address}')
    if config.node_name is not None and (
            not config.node_name or '/' in config.node_name):
        raise ValueError(f'node-name {config.node_name!r} must be a '
                         f'non-empty name without /')
    if not config.election_timeout > 0:
        raise ValueError(f'election-timeout must be more than 0 seconds, '
                         f'not {config.election_timeout:g}')


def _check_zookeeper_keys(config):
    """The ZooKeeper keys make sense together (checked when the
    configuration is read, so errors name the section's line)."""
    zookeeper, path = config.zookeeper, config.zookeeper_path
    from_ = config.replicate_from
    if zookeeper is None:
        if path is not None:
            raise ValueError('zookeeper-path needs zookeeper (the ZooKeeper '
                             'connection string)')
        return
    timeout = config.zookeeper_session_timeout
    if timeout is not None and not timeout > 0:
        raise ValueError(f'zookeeper-session-timeout must be more than 0 '
                         f'seconds, not {timeout:g}')
    if path is not None:
        if config.replicate_to is None:
            raise ValueError('zookeeper-path (where a primary registers) '
                             'needs replicate-to')
        if not path.startswith('/'):
            raise ValueError(f'zookeeper-path {path!r} must start with /')
    if from_ is not None and not (isinstance(from_.address, str)
                                  and from_.address.startswith('/')):
        raise ValueError(
            f'with zookeeper, replicate-from is the ZooKeeper path the '
            f'primary registers at (starting with /), not '
            f'{_show(from_.address)}')
    if from_ is None and path is None:
        raise ValueError('zookeeper needs zookeeper-path (a primary '
                         'registers there) or a replicate-from path')
    if from_ is not None and from_.address == path:
        raise ValueError(f'zrs section replicates from and registers at '
                         f'the same ZooKeeper path {path}')
    try:
        import zc.zk  # noqa: F401 (the extra)
    except ImportError:
        raise ValueError('zookeeper needs zc.zk: install zc.zrs[zk]') \
            from None


def _check_synchronous_keys(config):
    """Synchronous replication is a primary's, with sane values."""
    from zc.zrs.synchronous import check_settings
    check_settings(config.synchronous, config.synchronous_timeout,
                   config.synchronous_fallback)
    if config.synchronous and config.replicate_to is None:
        raise ValueError('synchronous (replication) needs replicate-to: '
                         'it is the setting of a primary')
    if config.synchronous and config.replicate_from is not None:
        raise ValueError('synchronous is the setting of a primary; a relay '
                         '(replicate-to and replicate-from) cannot be '
                         'synchronous')


def _synchronous(config):
    """Synchronous-replication keyword arguments for Primary."""
    return dict(synchronous=config.synchronous,
                synchronous_timeout=config.synchronous_timeout,
                synchronous_fallback=config.synchronous_fallback)


def _zookeeper(config, **more):
    """ZooKeeper keyword arguments for Primary/Secondary (none without
    the ``zookeeper`` key)."""
    if config.zookeeper is None:
        return {}
    return dict(zookeeper=config.zookeeper,
                zookeeper_session_timeout=config.zookeeper_session_timeout,
                **more)


def _register_for_monitoring(storage, name):
    """Show the storage in zc.monitor's ``replication`` command and
    ``metrics``, under its section (ZEO storage) name, when the extra
    ``monitor`` is installed."""
    try:
        import zope.component  # noqa: F401 (comes with the extra)
    except ImportError:
        return
    from zc.zrs import monitor
    monitor.register(storage, name or '1')


def _same(a, b):
    return _show(a) == _show(b)


def _show(address):
    return address if isinstance(address, str) else '%s:%s' % address
