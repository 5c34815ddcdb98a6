"""Adapters from persistent objects to their connection and transaction
manager, for applications using the zope.component registry.

Register them with ``zope.component.provideAdapter`` (or ZCML).
``transactionManager`` also accepts a connection; register it a second time
for ``IConnection`` to adapt connections too.
"""
import zope.component
import zope.interface
from persistent.interfaces import IPersistent
from transaction.interfaces import ITransactionManager
from ZODB.interfaces import IConnection


@zope.component.adapter(IPersistent)
@zope.interface.implementer(IConnection)
def connection(obj):
    """The connection of ``obj``: its ``_p_jar``, or else the connection of
    the nearest ``__parent__`` that has one (an object not yet added to the
    database usually has a parent that is). None if there is none."""
    seen = set()
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        jar = getattr(obj, '_p_jar', None)
        if jar is not None:
            return jar
        obj = getattr(obj, '__parent__', None)
    return None


@zope.component.adapter(IPersistent)
@zope.interface.implementer(ITransactionManager)
def transactionManager(obj):
    """The transaction manager of a connection, or of the connection of a
    persistent object (see ``connection``). None if there is none."""
    jar = obj if IConnection.providedBy(obj) else connection(obj)
    if jar is None:
        return None
    return jar.transaction_manager
