"""Interfaces and exceptions of zc.zrs."""
import zope.interface
from ZODB.POSException import ReadOnlyError
from ZODB.POSException import StorageError


class NotAcknowledged(StorageError):
    """A synchronous primary committed a transaction locally, but not
    enough secondaries acknowledged it in time (or the primary was fenced
    meanwhile): the client must not count on it. Also raised by
    ``tpc_begin`` while such a primary waits for its secondaries to be in
    sync again."""


class Fenced(ReadOnlyError):
    """The primary is fenced (``Primary.fence()``: it may no longer be the
    primary): it accepts no commits."""


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

    acknowledges = zope.interface.Attribute(
        'Whether the primary wants acknowledgements (zrs2.2).')

    def fail():
        """Drop the connection: its data cannot be applied (from any
        thread; ``failed`` is true at once)."""

    def acknowledge(tid):
        """Tell the primary that everything up to ``tid`` is durable here
        (from the syncing thread, once its fsync returned)."""
