"""Call ZODB persistent objects from the Twisted reactor.

``Partial`` is the API: see README.rst in this package. The other names are
its parts, public for code that builds on them.
"""
from zc.twist._adapters import connection
from zc.twist._adapters import transactionManager
from zc.twist._connections import availableConnectionCount
from zc.twist._connections import get_connection
from zc.twist._failures import Failure
from zc.twist._failures import sanitize
from zc.twist._failures import truncate
from zc.twist._partial import EXPLOSIVE_ERRORS
from zc.twist._partial import Partial
from zc.twist._references import METHOD_WRAPPER_TYPE
from zc.twist._references import DeferredReferenceToPersistent
from zc.twist._references import Reference
from zc.twist._references import get_self
from zc.twist.interfaces import IDeferredReference

__all__ = [
    'DeferredReferenceToPersistent',
    'EXPLOSIVE_ERRORS',
    'Failure',
    'IDeferredReference',
    'METHOD_WRAPPER_TYPE',
    'Partial',
    'Reference',
    'availableConnectionCount',
    'connection',
    'get_connection',
    'get_self',
    'sanitize',
    'transactionManager',
    'truncate',
]
