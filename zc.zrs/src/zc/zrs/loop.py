"""The asyncio event loop zc.zrs does its networking in.

Replication never runs on the loop of the application using the storage
(a ZEO server has its own): zc.zrs starts one event loop in a daemon thread
on first use, shared by every Primary and Secondary of the process, and
stops it at interpreter exit. Storage I/O (reading the primary's file,
applying transactions on a secondary) happens in threads of its own, never
on this loop.
"""
import asyncio
import atexit
import logging
import threading

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loop = None
_thread = None

#: Bound on any wait for the loop thread to do something.
CALL_TIMEOUT = 30


def get_loop():
    """The running zc.zrs loop, started if needed."""
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            started = threading.Event()
            thread = threading.Thread(target=_run, args=(loop, started),
                                      name='zc.zrs loop', daemon=True)
            thread.start()
            if not started.wait(CALL_TIMEOUT):
                raise RuntimeError('the zc.zrs event loop did not start')
            _loop, _thread = loop, thread
        return _loop


def _run(loop, started):
    asyncio.set_event_loop(loop)
    loop.call_soon(started.set)
    try:
        loop.run_forever()
    finally:
        loop.close()


def call(function, *args, timeout=CALL_TIMEOUT):
    """Run ``function(*args)`` (a plain function or a coroutine function) on
    the loop and return its result, waiting at most ``timeout`` seconds."""
    loop = get_loop()
    if threading.current_thread() is _thread:
        raise RuntimeError('zc.zrs.loop.call from the loop thread')

    async def run():
        result = function(*args)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout)


class Clock:
    """Time on a loop, through the part of Twisted's IReactorTime zc.zrs
    uses: ``callLater(delay, function, *args)`` returns a call with
    ``active()`` and ``cancel()``. Whatever times replication takes a
    clock, so tests can pass ``twisted.internet.task.Clock`` and move time
    themselves. A call may run in any thread: zc.zrs's own calls go on to
    the loop with ``soon``."""

    def __init__(self, loop):
        self._loop = loop

    def callLater(self, delay, function, *args):  # noqa: N802 (Twisted's)
        return _Call(self._loop, delay, function, args)


class _Call:

    def __init__(self, loop, delay, function, args):
        self._called = False
        self._handle = loop.call_later(delay, self._run, function, args)

    def _run(self, function, args):
        self._called = True
        function(*args)

    def active(self):
        return not (self._called or self._handle.cancelled())

    def cancel(self):
        self._handle.cancel()


def soon(loop, function, *args):
    """Schedule ``function(*args)`` on ``loop`` from another thread; a
    no-op once the loop is closed (at interpreter exit): a commit, for one,
    must not fail because replication has stopped."""
    try:
        loop.call_soon_threadsafe(function, *args)
    except RuntimeError:
        if not loop.is_closed():
            raise


@atexit.register
def stop():
    """Stop the loop thread (at exit, or in tests once every Primary and
    Secondary is closed); the next use starts a new one."""
    global _loop
    with _lock:
        loop, thread, _loop = _loop, _thread, None
    if loop is not None and not loop.is_closed():
        try:
            asyncio.run_coroutine_threadsafe(
                loop.shutdown_default_executor(), loop).result(CALL_TIMEOUT)
        except Exception:
            logger.exception('stopping the executor of the zc.zrs loop')
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CALL_TIMEOUT)
