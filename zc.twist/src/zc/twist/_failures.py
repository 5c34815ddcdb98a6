"""Failures that hold no live objects.

A failure raised inside a ``Partial`` carries a traceback whose frames hold
persistent objects, their connection and the transaction. Those belong to a
connection that is closed (and soon reused by someone else) by the time the
failure reaches an errback. A sanitized failure keeps only the reprs of what
the frames held, so nothing from the transaction outlives it, and it pickles
small: without frame globals, with each local's repr truncated.
"""
import functools

import twisted.python.failure
from twisted.python.reflect import safe_repr

#: How many characters of a local's repr survive pickling.
TRUNCATE_AT = 21


def truncate(s, limit=TRUNCATE_AT):
    """Cut ``s`` to ``limit`` characters, marking the cut with ``[...]``."""
    if len(s) <= limit:
        return s
    return s[:limit] + '[...]'


def _reprs(items):
    return [(name, safe_repr(value)) for name, value in items]


def _forget_tracebacks(exception):
    """Drop the tracebacks of an exception and of the exceptions chained to
    it: they reference the frames, and through them the transaction."""
    seen = set()
    while exception is not None and id(exception) not in seen:
        seen.add(id(exception))
        exception.__traceback__ = None
        exception = exception.__cause__ or exception.__context__


class Failure(twisted.python.failure.Failure):
    """A ``twisted.python.failure.Failure`` that keeps only reprs.

    Constructing one sanitizes it at once: the frames are turned into
    ``(function, file, line, locals, globals)`` with the locals and globals
    (when captured, ``captureVars=True``) replaced by their reprs, and the
    traceback objects are dropped. ``check``, ``trap``, ``value``,
    ``getTraceback()`` and ``raiseException()`` work as usual.

    Pickled, it drops frame globals and truncates each local's repr (see
    ``truncate``), so failures can be stored or sent cheaply.
    """

    # Pickles (and reprs) name the public home of the class, which stays
    # put when modules are reorganized.
    __module__ = 'zc.twist'

    def __init__(self, exc_value=None, exc_type=None, exc_tb=None,
                 captureVars=False):
        super().__init__(exc_value, exc_type, exc_tb, captureVars)
        self._keep_only_reprs()

    def _keep_only_reprs(self):
        # Failures cleaned or unpickled by Twisted already hold reprs.
        already_reprs = self.pickled or getattr(self, '_sanitized', False)
        frames = []
        for name, filename, line, localz, globalz in self.frames:
            if not already_reprs:
                localz, globalz = _reprs(localz), _reprs(globalz)
            frames.append((name, filename, line, list(localz),
                           list(globalz)))
        self._frames = frames
        self.tb = None
        self._sanitized = True
        if isinstance(self.value, BaseException):
            _forget_tracebacks(self.value)

    def __getstate__(self):
        self.parents  # computes _parents
        state = self.__dict__.copy()
        state['parents'] = state.pop('_parents')
        state['frames'] = [
            [name, filename, line,
             [(key, truncate(value)) for key, value in localz], []]
            for name, filename, line, localz, globalz
            in state.pop('_frames')]
        state['tb'] = None
        state['pickled'] = 1
        return state

    def __reduce__(self):
        # Twisted's own __reduce__ always rebuilds a plain Failure.
        return (functools.partial(Failure.__new__, type(self)), (),
                self.__getstate__())


def sanitize(failure):
    """A sanitized copy of a ``twisted.python.failure.Failure``.

    A ``zc.twist.Failure`` is already sanitized and is returned as is.
    """
    if isinstance(failure, Failure):
        return failure
    return Failure(failure)
