"""References to persistent objects that survive a change of connection.

A persistent object belongs to the connection (and thread) that loaded it.
What a ``Partial`` keeps instead is where to find it again: the database,
the object id and, for a method, the method's name.
"""
import types

import zope.interface
from persistent.interfaces import IPersistent
from ZODB.utils import oid_repr

from zc.twist.interfaces import IDeferredReference

#: The type of a bound slot wrapper, such as ``persistent_object.__setattr__``.
METHOD_WRAPPER_TYPE = type(object().__str__)

#: Bound callables whose ``__self__`` is the object they are bound to:
#: Python methods, slot wrappers, and methods of C types (such as
#: ``OOBTree.insert``).
_BOUND_TYPES = (types.MethodType, METHOD_WRAPPER_TYPE,
                types.BuiltinMethodType)


def get_self(wrapper):
    """The object a method or slot wrapper is bound to.

    Python 3 exposes it as ``__self__``, so no C extension is needed.
    """
    return wrapper.__self__


def _in_database(obj):
    return IPersistent.providedBy(obj) and obj._p_jar is not None


@zope.interface.implementer(IDeferredReference)
class DeferredReferenceToPersistent:
    """Where to find a persistent object, or one of its methods, again.

    ``db`` is the object's database, ``id`` its oid and ``name`` the method
    name (``None`` for the object itself). Called with a connection, it
    returns the object (or bound method) as that connection sees it.
    """

    def __init__(self, obj, name=None):
        self.db = obj._p_jar.db()
        self.id = obj._p_oid
        self.name = name

    def __call__(self, connection):
        if connection.db() is not self.db:
            connection = connection.get_connection(self.db.database_name)
        obj = connection.get(self.id)
        if self.name is not None:
            obj = getattr(obj, self.name)
        return obj

    def __repr__(self):
        method = '' if self.name is None else f', method {self.name}'
        return (f'<{type(self).__name__} oid {oid_repr(self.id)}'
                f' in {self.db.database_name!r}{method}>')


def Reference(obj):
    """A deferred reference for a persistent object or one of its methods.

    The object must be in a database (have a ``_p_jar``). Anything else,
    including containers holding persistent objects, is returned unchanged.
    """
    if _in_database(obj):
        return DeferredReferenceToPersistent(obj)
    if isinstance(obj, _BOUND_TYPES):
        bound_to = get_self(obj)
        if _in_database(bound_to):
            return DeferredReferenceToPersistent(bound_to, obj.__name__)
    return obj
