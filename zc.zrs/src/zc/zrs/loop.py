"""The asyncio event loop zc.zrs does its networking in.

Replication never runs on the loop of the application using the storage
(a ZEO server has its own): zc.zrs starts one event loop in a daemon thread
on first use, shared by every Primary and Secondary of the process, and
stops it at interpreter exit. Storage I/O (reading the primary's file,
applying transactions on a secondary) happens in threads of its own, never
on this loop.

A ``SocketWriter`` lets a thread other than the loop's write to a
connection's socket itself (a committing primary thread sends its
transaction without waiting for the loop to wake up); the loop sends only
what the socket could not take at once.
"""
import asyncio
import atexit
import concurrent.futures
import os
import socket
import threading


_lock = threading.Lock()
_loop = None
_thread = None
# The loop's executor is ours, so that stopping can shut it down without
# a new thread (asyncio's shutdown_default_executor starts one, which
# Python 3.12 refuses at interpreter exit).
_executor = None

#: Bound on any wait for the loop thread to do something.
CALL_TIMEOUT = 30


def get_loop():
    """The running zc.zrs loop, started if needed."""
    global _loop, _thread, _executor
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            _executor = concurrent.futures.ThreadPoolExecutor(
                thread_name_prefix='zc.zrs executor')
            loop.set_default_executor(_executor)
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


class SocketWriter:
    """Writes to the socket of a plain (TCP or unix) transport on ``loop``
    from any thread, the transport itself only reading.

    ``write(data)`` sends what the socket takes at once from the calling
    thread and keeps the rest in ``pending``; ``flush()`` (on the loop)
    sends more of it, and until ``pending`` is empty the loop calls
    ``writable()`` whenever the socket can take more. The caller
    serializes ``write``, ``flush`` and ``close`` (one lock of its own).
    It writes through a duplicate of the socket's descriptor, so the
    transport closing its own never leaves a write aimed at a reused
    number: the connection ends once ``close()`` closes the duplicate too.
    """

    def __init__(self, loop, transport, writable):
        self._loop = loop
        self._sock = socket.socket(
            fileno=os.dup(transport.get_extra_info('socket').fileno()))
        self._sock.setblocking(False)
        self._writable = writable
        self._watching = False
        self.pending = bytearray()
        self.error = None  # the OSError that broke the connection, if any

    @classmethod
    def supports(cls, transport):
        """Whether ``transport``'s bytes are its socket's (not TLS)."""
        return (transport.get_extra_info('ssl_object') is None
                and transport.get_extra_info('socket') is not None)

    def write(self, data):
        """Send ``data`` after anything pending, as far as the socket
        takes it now; the rest waits for ``flush``."""
        if self.pending or self.error is not None:
            self.pending += data
            return
        self._send(data)

    def flush(self):
        """On the loop: send what is pending (as far as the socket takes
        it); True once nothing is. Until then ``writable()`` is called
        when the socket can take more."""
        if self.pending and self.error is None:
            pending, self.pending = self.pending, bytearray()
            self._send(pending)
        done = not self.pending or self.error is not None
        if done != (not self._watching):
            if done:
                self._loop.remove_writer(self._sock.fileno())
            else:
                self._loop.add_writer(self._sock.fileno(), self._writable)
            self._watching = not done
        return done

    def _send(self, data):
        try:
            sent = self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:  # the transport's reading sees it too
            self.error = exc
            return
        if sent < len(data):
            self.pending += memoryview(data)[sent:]

    def close(self):
        """On the loop: stop writing (what is pending is dropped)."""
        if self._watching:
            self._loop.remove_writer(self._sock.fileno())
            self._watching = False
        self._sock.close()
        self.pending = bytearray()


@atexit.register
def stop():
    """Stop the loop thread (at exit, or in tests once every Primary and
    Secondary is closed); the next use starts a new one."""
    global _loop, _executor
    with _lock:
        loop, thread, executor, _loop, _executor = (
            _loop, _thread, _executor, None, None)
    if loop is not None and not loop.is_closed():
        # Work in the executor may still call back into the loop: it
        # finishes first, while the loop runs.
        executor.shutdown(wait=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CALL_TIMEOUT)
