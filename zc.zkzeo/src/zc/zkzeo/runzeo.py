"""Start a ZEO storage server that registers its address in ZooKeeper.

Usage: %s -C FILE [-h]

Options:
-C/--configure FILE -- the configuration: ZEO's runzeo configuration
                       (<zeo>, storages, <eventlog>, <runner>) plus an
                       optional <zookeeper> section:

    <zookeeper>
      connection 127.0.0.1:2181   # ZooKeeper connection string (default)
      path /databases/main        # where to register (else: nowhere)
      session-timeout 10000       # ms (default: zc.zk's, 10 s)
      monitor-server 127.0.0.1:0  # start a zc.monitor here (optional)
    </zookeeper>

-h/--help -- print this usage message and exit

runzeo's other options (-a, -f, -t, --pid-file) work as in runzeo.

The node registered is host:port, with the host of the <zeo> address
(none: this machine's addresses) and the port the server actually bound
(port 0 or no port lets the system choose). With port 0 the server
registers before it serves and stops at once if ZooKeeper cannot be
reached; with a fixed port it serves at once and registers as soon as
ZooKeeper answers. Missing nodes of the path are created. The node goes
when the server stops.
"""
import concurrent.futures
import logging
import os
import sys
import tempfile
import threading

import ZEO.runzeo

import zc.zk
from zc.zkzeo import _monitor
from zc.zkzeo._registration import Registration

logger = logging.getLogger(__name__)

PROGRAM = 'zkrunzeo'
DEFAULT_TEST_STORAGE = '<mappingstorage>\n</mappingstorage>'
#: Seconds a test server (``test``) may take to stop.
STOP_TIMEOUT = 30


def connection_string(text):
    """ZConfig datatype of ``<zookeeper> connection``: ``host:port`` items
    separated by commas, optionally followed by a ``/chroot``."""
    text = text.strip()
    hosts, _, _ = text.partition('/')
    for host in hosts.split(','):
        try:
            name, _ = zc.zk.parse_addr(host.strip())
        except ValueError:
            name = ''
        if not name:
            raise ValueError(
                f'<zookeeper> connection {text!r}: {host.strip()!r} is not'
                ' host:port')
    return text


class ZKOptions(ZEO.runzeo.ZEOOptions):

    __doc__ = __doc__
    schemadir = os.path.dirname(__file__)

    def __init__(self):
        super().__init__()
        self.add('zookeeper', 'zookeeper')

    def realize(self, *args, **kw):
        super().realize(*args, **kw)
        settings = self.zookeeper
        if (settings is not None and settings.path is not None
                and not isinstance(self.address, tuple)):
            self.usage('<zookeeper> path needs a TCP address in <zeo>, not'
                       f' the Unix socket {self.address!r}')

    def usage(self, msg):
        """A user error: one line on stderr, exit status 2."""
        sys.stderr.write(f'{self.progname or PROGRAM}: error: {msg}\n')
        sys.exit(2)


class ZKServer(ZEO.runzeo.ZEOServer):
    """runzeo's server, registered in ZooKeeper once it listens."""

    registration = None
    monitor = None

    def create_server(self):
        super().create_server()
        settings = self.options.zookeeper
        if settings is None:
            return
        # Read-only: the server is, or every storage is (a replica).
        read_only = bool(self.options.read_only) or all(
            storage.isReadOnly() for storage in self.storages.values())
        properties = dict(read_only=read_only,
                          storages=sorted(self.storages))
        if settings.monitor_server is not None:
            self.monitor, address = _monitor.start(
                settings.monitor_server.address)
            if address is not None:
                properties['monitor'] = address
        if settings.path is None:
            return
        host, port = self.options.address
        bound = self.server.acceptor.addr[1]
        timeout = settings.session_timeout
        self.registration = Registration(
            settings.connection, settings.path, (host, bound), properties,
            None if timeout is None else timeout / 1000)
        if port:
            self.registration.register_in_background()
        else:
            self.registration.register()

    def close_server(self):
        # Unregister first: clients must not be sent to a closing server.
        if self.registration is not None:
            self.registration.close()
        if self.server is not None and self.server.acceptor is not None:
            self._disconnect_clients()
        super().close_server()
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None

    def _disconnect_clients(self):
        """Stop listening, then close the clients' connections, before the
        server closes.

        ZEO's ``close`` leaves the connections to its event loop, which
        may stop first, and may accept a reconnecting client meanwhile: in
        a process that lives on (``test``), such a client would wait
        forever for answers nobody sends, instead of reconnecting.
        """
        acceptor = self.server.acceptor
        storages = self.server.zeo_storages_by_storage_id

        def disconnect():
            acceptor.server.close()
            for zeo_storages in storages.values():
                for zeo_storage in list(zeo_storages):
                    zeo_storage.connection.close()

        loop = acceptor.event_loop
        if not loop.is_running():
            disconnect()
            return
        done = concurrent.futures.Future()

        def call():
            try:
                disconnect()
            finally:
                done.set_result(None)
        loop.call_soon_threadsafe(call)
        done.result(STOP_TIMEOUT)


def main(args=None):
    options = ZKOptions()
    options.realize(args, progname=PROGRAM)
    server = ZKServer(options)
    try:
        server.main()
    except zc.zk.FailedConnect:
        settings = options.zookeeper
        _fail(f"can't connect to ZooKeeper at {settings.connection} to"
              f' register at {settings.path} (<zookeeper> connection)', 1)
    except _monitor.MonitorUnavailable as error:
        _fail(f'{error} (<zookeeper> monitor-server)', 2)


def _fail(message, status):
    logger.critical(message)
    sys.stderr.write(f'{PROGRAM}: error: {message}\n')
    sys.exit(status)


def test(config_or_path, storage=None, zookeeper=None, threaded=True):
    """Start a registering ZEO server for a test; return ``stop()``.

    ``config_or_path`` is a whole zkrunzeo configuration (text), or the
    ZooKeeper path to register at: the server then listens on a free port
    of 127.0.0.1 and serves ``storage`` (a storage section, default a
    ``<mappingstorage>``) and registers through ``zookeeper`` (a
    connection string, default zc.zk's). With ``threaded`` the server
    runs in a thread of this process; otherwise in a child process.
    ``stop()`` stops it, which removes its registration.
    """
    if config_or_path.lstrip().startswith('/'):
        config = _test_config(config_or_path.strip(), storage, zookeeper)
    else:
        config = config_or_path
    with tempfile.NamedTemporaryFile('w', suffix='.conf',
                                     delete=False) as f:
        f.write(config)
    try:
        if threaded:
            return _thread_server(f.name)
        return _process_server(f.name)
    finally:
        os.remove(f.name)


def _test_config(path, storage, zookeeper):
    zookeeper = zookeeper or os.environ.get(
        'ZC_ZK_CONNECTION_STRING', '127.0.0.1:2181')
    storage = storage or DEFAULT_TEST_STORAGE
    return (f'<zeo>\n  address 127.0.0.1:0\n</zeo>\n'
            f'<zookeeper>\n  connection {zookeeper}\n  path {path}\n'
            f'</zookeeper>\n{storage}\n')


def _thread_server(config_path):
    options = ZKOptions()
    options.realize(['-C', config_path], progname=PROGRAM)
    server = ZKServer(options)
    server.open_storages()
    try:
        server.create_server()
    except BaseException:
        server.close_server()
        raise
    thread = threading.Thread(target=server.server.loop,
                              name=f'{PROGRAM} test server', daemon=True)
    thread.start()

    def stop():
        server.close_server()
        thread.join(STOP_TIMEOUT)
    stop.server = server
    return stop


def _process_server(config_path):
    import subprocess
    ready = 'zc.zkzeo test server ready'
    process = subprocess.Popen(
        [sys.executable, '-c',
         'import sys; sys.path[:0] = %r\n'
         'import zc.zkzeo.runzeo as r\n'
         'stop = r.test(open(%r).read())\n'
         'print(%r, flush=True)\n'
         'sys.stdin.read()\n'
         'stop()\n' % (sys.path, config_path, ready)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if line.strip() != ready:
        process.kill()
        process.wait(STOP_TIMEOUT)
        raise RuntimeError(f'the test server did not start ({line!r})')

    def stop():
        process.stdin.close()
        process.wait(STOP_TIMEOUT)
        process.stdout.close()
    stop.process = process
    return stop


if __name__ == '__main__':
    main()
