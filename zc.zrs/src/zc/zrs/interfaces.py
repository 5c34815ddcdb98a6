"""Interfaces of zc.zrs."""
import zope.interface


class IReplicationStatus(zope.interface.Interface):
    """A storage that replicates (a Primary, a Secondary, or a relay) and
    reports how replication is going."""

    def replication_status():
        """Plain data (dicts, strings, numbers) about replication: for a
        primary, a list with one dict per connected secondary; for a
        secondary, one dict about its primary."""
