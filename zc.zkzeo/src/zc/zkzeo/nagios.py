"""zkzeo-nagios: ZEO's Nagios check (``ZEO.nagios``) of a server found in
ZooKeeper.

The server is the one registered at PATH; when several servers register
there, ``-M`` names the zc.monitor of the one to check, whose ``servers``
command lists what its process registered. Like every Nagios plugin it
prints its verdict on stdout; exit status 2 when the server cannot be
found or checked.
"""
import json
import logging
import optparse
import posixpath
import sys

import ZEO.nagios
from kazoo.exceptions import NoNodeError

import zc.zk
from zc.zkzeo._session import connect

USAGE = '%prog [options] ZOOKEEPER PATH'
DESCRIPTION = ('Run ZEO\'s Nagios check on the ZEO server registered at PATH'
               ' in ZooKeeper (ZOOKEEPER: its connection string). Exit'
               ' status 2 when the server cannot be found or reached.')
#: Seconds to wait for the monitor's answer.
MONITOR_TIMEOUT = 10.0
ERROR = 2


class NotFound(Exception):
    """The server could not be found (the message says why)."""


def _registered(zookeeper, path):
    try:
        zk = connect(zookeeper)
    except zc.zk.FailedConnect:
        raise NotFound(f"Can't connect to ZooKeeper at {zookeeper}") from None
    except ValueError as error:     # a malformed connection string
        raise NotFound(f"Can't connect to ZooKeeper: {error}") from None
    try:
        return sorted(zk.get_children(zk.resolve(path)))
    except NoNodeError:
        return []
    finally:
        zk.close()


def _ours(monitor_address, path):
    """The addresses the process of the monitor registered at ``path``."""
    try:
        from zc.monitor.address import parse_address
        from zc.monitor.client import query
    except ImportError:
        raise NotFound('-M needs zc.monitor: install zc.zkzeo[monitor]'
                       ) from None
    try:
        answer = query(parse_address(monitor_address), 'servers',
                       MONITOR_TIMEOUT)
        nodes = json.loads(answer)
    except (OSError, ValueError) as error:
        raise NotFound(f"Can't connect to the monitor at {monitor_address}"
                       f' ({error})') from None
    path = posixpath.normpath(path)
    return {posixpath.basename(node) for node in nodes
            if posixpath.dirname(node) == path}


def find_server(zookeeper, path, monitor_address=None):
    """The ``host:port`` of the server registered at ``path``, or
    NotFound. With ``monitor_address``, the one registered by the process
    of that zc.monitor."""
    addresses = _registered(zookeeper, path)
    if monitor_address:
        ours = _ours(monitor_address, path)
        found = [a for a in addresses if a in ours]
        if len(found) != 1:
            raise NotFound("Couldn't find server in ZooKeeper")
        return found[0]
    if not addresses:
        raise NotFound(f'No servers at: {zookeeper}{path}')
    if len(addresses) > 1:
        raise NotFound(f'Too many servers, {addresses}, at:'
                       f' {zookeeper}{path}')
    return addresses[0]


def _nagios_address(address):
    """``host:port`` as ZEO.nagios reads it (``[v6]:port``)."""
    host, port = zc.zk.parse_addr(address)
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'


def main(args=None):
    parser = optparse.OptionParser(USAGE, description=DESCRIPTION)
    parser.add_option('-m', '--output-metrics', action='store_true',
                      help='Output metrics.')
    parser.add_option('-s', '--status-path',
                      help='Path to status file, needed to get rate metrics')
    parser.add_option('-u', '--time-units', type='choice', default='minutes',
                      choices=['seconds', 'minutes', 'hours', 'days'],
                      help='Time unit for rate metrics')
    parser.add_option('-M', '--zc-monitor-address',
                      help='The zc.monitor address of the server to check,'
                           ' when several are registered at PATH')
    options, args = parser.parse_args(args)
    if len(args) != 2:
        parser.error('expected ZOOKEEPER and PATH')
    zookeeper, path = args
    # kazoo's connection warnings are not the plugin's verdict.
    logging.getLogger('kazoo').setLevel(logging.CRITICAL)
    try:
        address = find_server(zookeeper, path, options.zc_monitor_address)
    except NotFound as error:
        print(error)
        return ERROR
    return ZEO.nagios.check(_nagios_address(address), options.output_metrics,
                            options.status_path, options.time_units)


if __name__ == '__main__':
    sys.exit(main())
