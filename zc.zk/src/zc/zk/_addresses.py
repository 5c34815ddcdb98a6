"""Server addresses: parsing ``host:port`` and finding this host's
addresses for registrations with a blank host."""
import ipaddress
import socket


def parse_addr(address):
    """``'host:port'`` (or ``'[v6]:port'``) as ``(host, port)``."""
    host, sep, port = address.rpartition(':')
    if not sep or not port.isdigit():
        raise ValueError(f'Bad address (need host:port): {address!r}')
    if host.startswith('[') and host.endswith(']'):
        host = host[1:-1]
    return host, int(port)


def format_addr(host, port):
    """The node name of a server address: ``host:port``."""
    return f'{host}:{port}'


def local_hosts():
    """What to register for a blank host.

    With netifaces, every non-loopback IPv4 address of the machine (or the
    loopback ones when there are no others); without it, the fully
    qualified host name.
    """
    try:
        import netifaces
    except ImportError:
        return [socket.getfqdn()]
    addresses = []
    for interface in netifaces.interfaces():
        for info in netifaces.ifaddresses(interface).get(netifaces.AF_INET, ()):
            addresses.append(info['addr'])
    public = [a for a in addresses if not ipaddress.ip_address(a).is_loopback]
    return sorted(set(public or addresses))
