"""Interfaces of zc.twist."""
import zope.interface


class IDeferredReference(zope.interface.Interface):
    """A reference to something in a database, resolved in a connection.

    Internal: ``Partial`` turns persistent arguments into deferred
    references when it is built, and resolves them in the connection of each
    attempt. Anything providing this interface among a ``Partial``'s call
    and arguments makes the ``Partial`` transactional.
    """

    db = zope.interface.Attribute(
        'The ZODB database (``ZODB.DB``) holding the referenced object.')

    def __call__(connection):
        """The referenced object, loaded through ``connection``.

        ``connection`` may belong to another database of the same
        multi-database; the reference switches to its own database.
        """
