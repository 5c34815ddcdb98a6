"""ZConfig datatypes of ``%import zc.zrs`` (component.xml)."""
import ZEO.zconfig
import ZODB.config


def server_ssl(section):
    """A server-side ssl.SSLContext requiring trusted client
    certificates."""
    return ZEO.zconfig.ssl_config(section, True)


def client_ssl(section):
    """``(ssl.SSLContext, server_hostname)`` for a secondary."""
    return ZEO.zconfig.ssl_config(section, False)


class ZRS(ZODB.config.BaseConfig):
    """Opens the ``<zrs>`` section: a Primary, a Secondary or a relay."""

    def open(self):
        config = self.config
        to, from_ = config.replicate_to, config.replicate_from
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
        storage = config.base.open()
        try:
            if to is not None:
                from zc.zrs.primary import Primary
                storage = Primary(storage, to.address,
                                  ssl=config.replicate_to_ssl)
            if from_ is not None:
                from zc.zrs.secondary import Secondary
                ssl, hostname = config.replicate_from_ssl or (None, None)
                storage = Secondary(
                    storage, from_.address,
                    reconnect_delay=config.reconnect_delay,
                    check_checksums=config.check_checksums,
                    keep_alive_delay=config.keep_alive_delay,
                    ssl=ssl, ssl_server_hostname=hostname)
        except BaseException:
            storage.close()
            raise
        _register_for_monitoring(storage, self.name)
        return storage


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
