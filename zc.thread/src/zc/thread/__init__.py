"""Threads and processes without the ceremony of ``threading.Thread(target=...)``.

``Thread`` and ``Process`` turn a function into a started thread or process,
either called directly or used as a decorator. A thread remembers what its
function returned (``.value``) or raised (``.exception``), logs failures
instead of swallowing them, can restart a failing function, and carries the
creator's ``contextvars`` context across the hop.
"""
from __future__ import annotations

import atexit
import contextvars
import importlib
import logging
import multiprocessing
import threading
from typing import Any, Callable, Generic, Mapping, Sequence, TypeVar, overload

__all__ = ['Thread', 'Process', 'ResultThread', 'result']

T = TypeVar('T')

# Set once the interpreter starts shutting down: from then on, failures are
# neither logged (logging may already be torn down) nor restarted (a restart
# loop in a non-daemon thread would keep the process from exiting).
_exiting = threading.Event()
# threading calls these hooks before it joins non-daemon threads, which is
# early enough for a restarting non-daemon thread to notice and stop; plain
# atexit (the fallback) would only run after those threads were joined.
getattr(threading, '_register_atexit', atexit.register)(_exiting.set)


def _qualified_name(func: Callable[..., Any]) -> str:
    return f'{func.__module__}.{func.__name__}'


class ResultThread(threading.Thread, Generic[T]):
    """A thread running one function, keeping its outcome.

    ``value`` is what the function returned and ``exception`` what it
    raised; both are ``None`` until the function finishes.
    """

    value: T | None
    exception: BaseException | None

    def __init__(self, func: Callable[..., T], *, daemon: bool = True,
                 args: Sequence[Any] = (),
                 kwargs: Mapping[str, Any] | None = None,
                 restart: float | bool = False) -> None:
        super().__init__(name=_qualified_name(func), daemon=daemon)
        self.value = None
        self.exception = None
        self.__wrapped__ = func
        self.__doc__ = func.__doc__
        self._func_args = tuple(args)
        self._func_kwargs = dict(kwargs or {})
        self._restart = restart
        # Copied now, in the creating thread, as asyncio.to_thread does.
        self._context = contextvars.copy_context()

    def run(self) -> None:
        while True:
            try:
                self.value = self._context.run(
                    self.__wrapped__, *self._func_args, **self._func_kwargs)
            except Exception as exc:
                self.exception = exc
                if _exiting.is_set():
                    return
                logging.getLogger(self.name).exception(
                    'Exception in thread %s', self.name)
                if self._restart is False or _exiting.wait(self._restart):
                    return
            else:
                self.exception = None
                return


class _Target:
    """Picklable stand-in for a function whose module-level name was
    rebound by the ``Process`` decorator.

    Under the ``spawn`` start method the child unpickles the target by
    importing its module and looking the name up; there it finds the
    ``Process`` object, so it unwraps it to reach the function.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return _resolve_target, (self.func.__module__,
                                 self.func.__qualname__)


class _FunctionProcess(multiprocessing.Process):
    """A process running one function, which stays reachable."""

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        return self._function.func

    def __init__(self, target: _Target, **options: Any) -> None:
        super().__init__(target=target, **options)
        self._function = target
        self.__doc__ = target.func.__doc__


def _resolve_target(module: str, qualname: str) -> _Target:
    obj: Any = importlib.import_module(module)
    for part in qualname.split('.'):
        obj = getattr(obj, part)
    return _Target(getattr(obj, '__wrapped__', obj))


@overload
def Thread(func: Callable[..., T], *, daemon: bool = ..., start: bool = ...,
           args: Sequence[Any] = ..., kwargs: Mapping[str, Any] | None = ...,
           restart: float | bool = ...) -> ResultThread[T]: ...


@overload
def Thread(func: None = None, *, daemon: bool = ..., start: bool = ...,
           args: Sequence[Any] = ..., kwargs: Mapping[str, Any] | None = ...,
           restart: float | bool = ...
           ) -> Callable[[Callable[..., T]], ResultThread[T]]: ...


def Thread(func=None, *, daemon=True, start=True, args=(), kwargs=None,
           restart=False):
    """Run ``func`` in a new thread and return the thread.

    Without ``func``, return a decorator taking the same options.
    ``restart`` is ``False`` or a number of seconds to wait before running
    a function that raised again.
    """
    if func is None:
        return lambda f: Thread(f, daemon=daemon, start=start, args=args,
                                kwargs=kwargs, restart=restart)
    thread = ResultThread(func, daemon=daemon, args=args, kwargs=kwargs,
                          restart=restart)
    if start:
        thread.start()
    return thread


@overload
def Process(func: Callable[..., Any], *, daemon: bool = ...,
            start: bool = ..., args: Sequence[Any] = ...,
            kwargs: Mapping[str, Any] | None = ...
            ) -> multiprocessing.Process: ...


@overload
def Process(func: None = None, *, daemon: bool = ..., start: bool = ...,
            args: Sequence[Any] = ..., kwargs: Mapping[str, Any] | None = ...
            ) -> Callable[[Callable[..., Any]], multiprocessing.Process]: ...


def Process(func=None, *, daemon=True, start=True, args=(), kwargs=None):
    """Run ``func`` in a new process and return the process.

    Without ``func``, return a decorator taking the same options.
    """
    if func is None:
        return lambda f: Process(f, daemon=daemon, start=start, args=args,
                                 kwargs=kwargs)
    process = _FunctionProcess(
        _Target(func), name=_qualified_name(func), daemon=daemon,
        args=tuple(args), kwargs=dict(kwargs or {}))
    if start:
        process.start()
    return process


def result(thread: ResultThread[T], timeout: float | None = None) -> T:
    """Wait for ``thread`` and return its value, or raise its exception.

    Raises ``TimeoutError`` if the thread is still running after
    ``timeout`` seconds.
    """
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(
            f'thread {thread.name} still running after {timeout} seconds')
    if thread.exception is not None:
        raise thread.exception
    return thread.value  # type: ignore[return-value]
