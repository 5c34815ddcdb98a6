"""Interfaces of zc.zrs."""
import zope.interface


class IReplicationStatus(zope.interface.Interface):
    """A storage that replicates (a Primary, a Secondary, or a relay) and
    reports how replication is going."""

    def replication_status():
        """Plain data (dicts, strings, numbers) about replication: for a
        primary, a list with one dict per connected secondary; for a
        secondary, one dict about its primary."""


class IAppliedConnection(zope.interface.Interface):
    """A secondary's connection to a primary, as the applier
    (zc.zrs.applier) sees it: all it may use."""

    start_tid = zope.interface.Attribute(
        'The tid the connection asked to start after.')
    address = zope.interface.Attribute("The primary's address, as text.")
    paused = zope.interface.Attribute(
        'Whether reading is paused (too much is waiting to be applied).')
    failed = zope.interface.Attribute(
        'Whether the applier failed the connection: the rest is ignored.')

    def pause():
        """Stop reading (called on the loop, from feed)."""

    def resume():
        """Read again (from any thread)."""

    def fail():
        """Drop the connection: its data cannot be applied (from any
        thread; ``failed`` is true at once)."""
