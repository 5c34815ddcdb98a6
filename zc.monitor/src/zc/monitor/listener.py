"""The monitor server: one listening socket, served by a daemon thread.

A ``selectors`` loop in the listener's own thread does all socket I/O, so
the host's event loop (asyncio in ZEO, asyncore in zope.server, Twisted) is
never involved. Commands run on a few worker threads, so a slow plug-in
delays only its own client. The loop enforces the limits that keep a
misbehaving client from hurting the host: the length of a line, the time a
client may stay silent, the number of clients and the output a client may
leave unread.
"""
import collections
import errno
import logging
import os
import queue
import selectors
import socket
import threading
import time
import weakref

from zc.monitor import address as addresses
from zc.monitor import plugins
from zc.monitor.protocol import Server

logger = logging.getLogger('zc.monitor')

#: Seconds a client may stay silent (or not read its output) by default.
TIMEOUT = 120.0
#: Longest line accepted, in bytes, by default.
MAX_LINE = 64 * 1024
#: Clients served at once by default; more are told to come back later.
MAX_CLIENTS = 128
#: Threads running commands by default.
WORKERS = 4
#: The share of one CPU the monitor may use, on average over a second, by
#: default. Beyond it (a flood of commands), it pauses: the host's work
#: matters more than the monitor's answers.
CPU_BUDGET = 0.02

#: Unread output above which a client's further lines wait.
_HIGH_WATER = 256 * 1024
#: Seconds to drain a client's leftover input after answering it: closing
#: with unread input would reset the connection and could lose the answer.
_LINGER = 2.0
#: Seconds to stop accepting after the process ran out of descriptors.
_ACCEPT_PAUSE = 1.0
_ACCEPTS_PER_WAKEUP = 64
#: A host that restored SIGPIPE's default must not die of a vanished client.
_SEND_FLAGS = getattr(socket, 'MSG_NOSIGNAL', 0)

_READING, _BUSY, _CLOSING, _LINGERING, _CLOSED = range(5)
_TOO_MANY = 'Too many monitor clients; try again later.\n'
#: Seconds between checks of a forked child whether its parent exited.
_TAKE_OVER_POLL = 0.1
#: Longest single pause when over the CPU budget (so ``close`` is prompt).
_THROTTLE_STEP = 0.05
#: CPU seconds of debt too small to pause for.
_CPU_EPSILON = 1e-9


def open_or_warn(what, server_class, address, **options):
    """``server_class(address, **options)``, or None when another server has
    the address: a monitor is not worth failing the host's start-up for, so
    that is a logged warning about ``what`` rather than an error."""
    try:
        return server_class(address, **options)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        logger.warning('Cannot start the %s at %s: address in use',
                       what, addresses.format_address(address))
        return None


class Listener:
    """A monitor server listening at ``address`` (see ``zc.monitor.start``).

    It serves from the moment it is created until ``close()``; ``address``
    is the bound address (with the real port when port 0 was asked for).
    The options are the limits of the README's "Limits" section; a
    ``cpu_budget`` of None lets the monitor use as much CPU as it gets.

    A child process forked from the host does not serve its parent's
    monitor, unless the parent exits: then the child takes the monitor over,
    which is what happens when a process daemonizes after it configured
    its monitor (as zdaemon does).

    ``clock`` (seconds, monotonic) and ``sleep`` measure and spend the
    time of the time-outs and of the CPU budget's pauses; tests pass a
    fake pair instead of waiting for real seconds.
    """

    def __init__(self, address, *, timeout=TIMEOUT, max_line=MAX_LINE,
                 max_clients=MAX_CLIENTS, workers=WORKERS,
                 cpu_budget=CPU_BUDGET, clock=time.monotonic,
                 sleep=time.sleep):
        for name, value in (('timeout', timeout), ('max_line', max_line),
                            ('max_clients', max_clients),
                            ('workers', workers),
                            ('cpu_budget', 1 if cpu_budget is None
                             else cpu_budget)):
            if value <= 0:
                raise ValueError(f'{name} must be positive, not {value!r}')
        self.timeout = timeout
        self.max_line = max_line
        self.max_clients = max_clients
        self.cpu_budget = cpu_budget
        self._clock = clock
        self._sleep = sleep
        self.commands = plugins.commands()
        self._socket, self.address = addresses.bind(address)
        self._unix_path = self._unix_identity = None
        if isinstance(self.address, str):
            # Absolute, to remove the right file even after a chdir (as
            # daemonizing processes do).
            self._unix_path = os.path.abspath(self.address)
            self._unix_identity = addresses.socket_identity(self._unix_path)
        self._name = f'zc.monitor {addresses.format_address(self.address)}'
        self._worker_count = workers
        self._closing = False
        self._prepare()
        self._start(self._run)
        _listeners.add(self)

    def _prepare(self):
        """Set up what the loop needs besides the listening socket."""
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._selector.register(self._socket, selectors.EVENT_READ,
                                self._accept)
        self._selector.register(self._wake_reader, selectors.EVENT_READ,
                                self._woken)
        self._finished = collections.deque()
        self._connections = set()
        self._turned_away = 0  # connections told there are too many
        self._accept_paused_until = None
        self._workers = _Workers(self._worker_count, self._name)
        self._cpu_credit = self.cpu_budget or 0.0  # CPU seconds
        self._cpu_credited = self._clock()

    def _start(self, target, *args):
        self._thread = threading.Thread(
            target=target, args=args, name=self._name, daemon=True)
        self._thread.start()

    def close(self, timeout=10):
        """Stop serving, close every client and free the address."""
        if not self._closing:
            self._closing = True
            self._wake()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        self._workers.stop(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return f'<zc.monitor.Listener {self.address!r}>'

    def _after_fork_in_child(self, parent):
        """In a forked child: drop the parent's clients and threads, and
        wait to see whether the parent goes away.

        The selector's epoll set and the sockets are shared with the parent,
        so they are only closed here, never unregistered or shut down.
        """
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()
        for connection in self._connections:
            connection.sock.close()
        if self._closing:
            self._socket.close()
        else:
            self._start(self._take_over, parent)

    def _take_over(self, parent):
        while os.getppid() == parent:
            if self._closing:
                self._socket.close()  # the address stays the parent's
                return
            time.sleep(_TAKE_OVER_POLL)
        logger.info('Monitor at %s taken over by process %s', self.address,
                    os.getpid())
        self._prepare()
        self._run()

    # The loop (all of what follows runs in the listener's thread, except
    # ``_command_finished`` and ``_wake``).

    def _run(self):
        cpu = time.thread_time()
        try:
            while not self._closing:
                for key, mask in self._selector.select(self._wait()):
                    key.data(mask)
                self._expire(self._clock())
                now = time.thread_time()
                self._spend(now - cpu)
                cpu = now
        except Exception:
            logger.exception('Monitor server at %s failed', self.address)
        finally:
            self._shut_down()

    def _wait(self):
        deadlines = [c.deadline for c in self._connections
                     if c.deadline is not None]
        if self._accept_paused_until is not None:
            deadlines.append(self._accept_paused_until)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - self._clock())

    def _expire(self, now):
        for connection in list(self._connections):
            if connection.deadline is not None and connection.deadline <= now:
                connection.expire()
        if self._accept_paused_until is not None and \
                self._accept_paused_until <= now:
            self._accept_paused_until = None
            self._selector.register(self._socket, selectors.EVENT_READ,
                                    self._accept)

    def _accept(self, events):
        for _ in range(_ACCEPTS_PER_WAKEUP):
            try:
                sock, _ = self._socket.accept()
            except (BlockingIOError, ConnectionAbortedError):
                return
            except OSError as error:
                # Typically EMFILE: the process is out of descriptors. The
                # pending client stays queued; try again in a moment rather
                # than spin on a listening socket that stays readable.
                logger.warning('Monitor at %s cannot accept: %s',
                               self.address, error)
                self._selector.unregister(self._socket)
                self._accept_paused_until = self._clock() + _ACCEPT_PAUSE
                return
            sock.setblocking(False)
            served = len(self._connections) - self._turned_away
            if served < self.max_clients:
                connection = _Connection(self, sock)
                self._connections.add(connection)
                connection.receive()  # the line may be there already
            elif self._turned_away < self.max_clients:
                # Say why, and linger like after any answer, so that the
                # client's unread request cannot reset the connection
                # before it read the reason.
                connection = _Connection(self, sock)
                connection.turned_away = True
                self._turned_away += 1
                self._connections.add(connection)
                connection.close_with(_TOO_MANY)
            else:
                sock.close()  # a flood: stop spending anything on it

    def _command_finished(self, connection, output, keep_open, cpu):
        """Called by a worker thread when a command is done; ``cpu`` is the
        CPU time the worker used for it."""
        self._finished.append((connection, output, keep_open, cpu))
        self._wake()

    def _spend(self, cpu):
        """Account for ``cpu`` seconds of the monitor's CPU time; pause
        while the monitor is over its budget.

        The credit refills at ``cpu_budget`` CPU seconds per second, up to
        one second's worth. Pausing the loop pauses everything the monitor
        does (commands are only started from here), and a pause costs
        nothing: clients wait in the kernel's queues. Their time-outs wait
        too: a client is not to blame for the monitor's pauses.
        """
        if not self.cpu_budget:
            return
        self._cpu_credit -= cpu
        paused = 0.0
        while True:
            now = self._clock()
            self._cpu_credit = min(
                self.cpu_budget, self._cpu_credit
                + (now - self._cpu_credited) * self.cpu_budget)
            self._cpu_credited = now
            # (A rounding error's worth of debt is no reason to pause.)
            if self._cpu_credit > -_CPU_EPSILON or self._closing:
                break
            pause = min(_THROTTLE_STEP, -self._cpu_credit / self.cpu_budget)
            self._sleep(pause)
            paused += self._clock() - now
        if paused:
            for connection in self._connections:
                if connection.deadline is not None:
                    connection.deadline += paused

    def _wake(self):
        try:
            self._wake_writer.send(b'.')
        except OSError:
            pass  # the buffer is full, so a wake-up is pending already

    def _woken(self, events):
        try:
            while self._wake_reader.recv(4096):
                pass
        except BlockingIOError:
            pass
        while self._finished:
            connection, output, keep_open, cpu = self._finished.popleft()
            self._spend(cpu)
            connection.command_finished(output, keep_open)

    def _shut_down(self):
        _listeners.discard(self)
        for connection in list(self._connections):
            connection.close('monitor stopped')
        self._selector.close()
        self._socket.close()
        self._wake_reader.close()
        self._wake_writer.close()
        if self._unix_identity is not None:
            _unlink_if_ours(self._unix_path, self._unix_identity)
        logger.debug('Monitor at %s stopped', self.address)


class _Connection:
    """One client of a listener: its buffers, state and deadline."""

    def __init__(self, listener, sock):
        self.listener = listener
        self.sock = sock
        self.output = _Output(listener.commands)
        self.session = Server(self.output, listener.commands)
        self.state = _READING
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.eof = False
        self.interrupted = False
        self.turned_away = False
        self.events = 0
        self.deadline = listener._clock() + listener.timeout

    def __call__(self, events):
        if events & selectors.EVENT_WRITE:
            self.flush()
        if events & selectors.EVENT_READ and self.state != _CLOSED:
            self.receive()

    def receive(self):
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            self.update_events()
            return
        except OSError as error:
            self.close(f'receive failed: {error}')
            return
        if self.state == _LINGERING:
            if not data:
                self.close('answered')
            return
        if data:
            self.inbuf += data
            self.deadline = self.listener._clock() + self.listener.timeout
        else:
            self.eof = True
        self.next_line()

    def next_line(self):
        """Start the next buffered command, if the client may have one."""
        if self.state != _READING or len(self.outbuf) >= _HIGH_WATER:
            self.update_events()
            return
        end = self.inbuf.find(b'\n')
        if end > self.listener.max_line or (
                end < 0 and len(self.inbuf) > self.listener.max_line):
            logger.warning('Monitor client sent a line of more than %s bytes',
                           self.listener.max_line)
            self.close_with(f'Line too long (more than '
                            f'{self.listener.max_line} bytes).\n')
            return
        if end >= 0:
            line = bytes(self.inbuf[:end])
            del self.inbuf[:end + 1]
        elif self.eof and self.inbuf:
            line = bytes(self.inbuf)  # a last line without its newline
            self.inbuf.clear()
        elif self.eof:
            self.state = _CLOSING  # after sending what is left to send
            self.flush()
            return
        else:
            self.update_events()
            return
        self.state = _BUSY
        self.deadline = None
        self.update_events()
        self.listener._workers.submit(
            self.run_command, line.decode('utf-8', 'replace'))

    def run_command(self, line):
        """In a worker thread: let the session handle ``line``."""
        try:
            keep_open = self.session.handle_input(line)
        except BaseException:
            # The session reports a command's Exceptions itself; this is a
            # SystemExit or the like, which must not end the worker.
            logger.exception('Monitor command line %r ended its session',
                             line)
            keep_open = False
        self.listener._command_finished(self, self.output.take(), keep_open,
                                        _Workers.cpu_spent())

    def command_finished(self, output, keep_open):
        if self.state == _CLOSED:
            return
        self.outbuf += output
        self.state = _READING if keep_open else _CLOSING
        self.deadline = self.listener._clock() + self.listener.timeout
        self.flush()

    def flush(self):
        if self.outbuf:
            try:
                sent = self.sock.send(self.outbuf, _SEND_FLAGS)
            except BlockingIOError:
                sent = 0
            except OSError as error:
                self.close(f'send failed: {error}')
                return
            if sent:
                del self.outbuf[:sent]
                self.deadline = self.listener._clock() + self.listener.timeout
        if self.state == _CLOSING and not self.outbuf:
            self.linger()
        elif self.state == _READING:
            self.next_line()
        else:
            self.update_events()

    def close_with(self, message):
        """Send ``message`` and close, without reading what the client is
        still sending (so lingering, see ``linger``)."""
        self.interrupted = True
        self.inbuf.clear()
        self.outbuf += message.encode()
        self.state = _CLOSING
        self.flush()

    def linger(self):
        """Answered: close, but not on input the client sends meanwhile.

        Closing with unread input resets the connection, which can destroy
        the answer before the client read it. A client whose line was
        answered rarely sends more, so unless there is more already, close
        at once. Otherwise, or when the client was interrupted (refused,
        timed out), half-close and drain its input until it closes.
        """
        if self.eof:
            self.close('answered')
            return
        try:
            if not self.interrupted and self.sock.recv(65536) == b'':
                self.close('answered')
                return
            self.sock.shutdown(socket.SHUT_WR)
        except BlockingIOError:
            self.close('answered')  # nothing unread
            return
        except OSError:
            self.close('answered')
            return
        self.state = _LINGERING
        self.deadline = self.listener._clock() + min(_LINGER,
                                                     self.listener.timeout)
        self.update_events()

    def expire(self):
        if self.state == _READING and not self.outbuf:
            self.close_with(f'Timed out after {self.listener.timeout:g} '
                            f'seconds without input.\n')
        else:
            self.close('timed out')

    def update_events(self):
        events = 0
        if self.outbuf and self.state in (_READING, _CLOSING):
            events |= selectors.EVENT_WRITE
        if self.state == _LINGERING or (
                self.state == _READING and not self.eof
                and len(self.outbuf) < _HIGH_WATER
                and len(self.inbuf) <= self.listener.max_line):
            events |= selectors.EVENT_READ
        if events == self.events:
            return
        selector = self.listener._selector
        if not self.events:
            selector.register(self.sock, events, self)
        elif not events:
            selector.unregister(self.sock)
        else:
            selector.modify(self.sock, events, self)
        self.events = events

    def close(self, reason):
        if self.state == _CLOSED:
            return
        if self.events:
            self.listener._selector.unregister(self.sock)
            self.events = 0
        self.state = _CLOSED
        self.deadline = None
        self.sock.close()
        self.listener._connections.discard(self)
        if self.turned_away:
            self.listener._turned_away -= 1
        self.session.handle_close(reason)


class _Output:
    """The ``connection`` a command writes to.

    Output is collected while the command runs and sent by the listener's
    thread afterwards. ``commands`` lets ``help`` list what this server
    knows.
    """

    def __init__(self, commands):
        self.commands = commands
        self._chunks = []

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f'write() argument must be str, not '
                            f'{type(text).__name__}')
        self._chunks.append(text)

    def flush(self):
        """Nothing to do: output goes out when the command returns."""

    def take(self):
        data = ''.join(self._chunks).encode('utf-8', 'replace')
        self._chunks = []
        return data


class _Workers:
    """Daemon threads running commands, so a hung plug-in never keeps the
    process from exiting."""

    def __init__(self, count, name):
        self._queue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f'{name} worker {i}',
                             daemon=True)
            for i in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, function, *args):
        self._queue.put((function, args))

    def _work(self):
        _Workers._cpu.mark = time.thread_time()
        while (job := self._queue.get()) is not None:
            function, args = job
            function(*args)

    #: The CPU time each worker thread had accounted for.
    _cpu = threading.local()

    @classmethod
    def cpu_spent(cls):
        """In a worker: the CPU time it used since it last asked (waking up
        for the job included, loading plug-ins left out), for the CPU
        budget."""
        now = time.thread_time()
        spent, cls._cpu.mark = now - cls._cpu.mark, now
        return max(0.0, spent - plugins.loading_cpu())

    def stop(self, timeout):
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))


#: Listeners not closed yet, to fix up in forked children.
_listeners = weakref.WeakSet()


#: The process that forks, recorded before it does: by the time the child
#: looks, a daemonizing parent may be gone already.
_forking_process = None


def _before_fork():
    global _forking_process
    _forking_process = os.getpid()


def _after_fork_in_child():
    for listener in list(_listeners):
        listener._after_fork_in_child(_forking_process)


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def _unlink_if_ours(path, identity):
    try:
        if addresses.socket_identity(path) == identity:
            os.unlink(path)
    except OSError as error:
        if error.errno != errno.ENOENT:
            logger.warning('Cannot remove monitor socket %s: %s', path,
                           error)
