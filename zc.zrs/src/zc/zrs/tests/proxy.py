"""A TCP proxy on loopback that can cut or corrupt the primary's stream,
or partition what it carries (every connection cut, new ones refused)
until healed."""
import socket
import threading

from zc.zrs.tests.support import TIMEOUT


class Proxy:
    """Forwards connections to ``upstream``. On the first connection,
    ``fault(data)`` sees what the primary sends and returns ``(data, cut)``:
    the bytes to pass on, and whether to cut the connection after them.
    Later connections pass untouched. ``fault`` may be None."""

    def __init__(self, upstream, fault):
        self.upstream = upstream
        self.fault = fault
        self.connections = 0
        self.faulted = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(5)
        self._listener.settimeout(0.2)
        self.address = self._listener.getsockname()
        self._closed = False
        self.partitioned = False
        self._sockets = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self):
        while not self._closed:
            try:
                downstream, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            if self.partitioned:
                downstream.close()
                continue
            self.connections += 1
            try:
                upstream = socket.create_connection(self.upstream, TIMEOUT)
            except OSError:  # the upstream server is down
                downstream.close()
                continue
            self._sockets += [downstream, upstream]
            fault = self.fault if self.connections == 1 else None
            for args in ((downstream, upstream, None),
                         (upstream, downstream, fault)):
                thread = threading.Thread(target=self._pump, args=args,
                                          daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, source, sink, fault):
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                cut = False
                if fault is not None and not self.faulted.is_set():
                    changed, cut = fault(data)
                    if cut or changed != data:
                        self.faulted.set()
                    data = changed
                sink.sendall(data)
                if cut:
                    break
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def partition(self):
        """Cut every connection, and refuse new ones until ``heal()``."""
        self.partitioned = True
        self._cut()

    def heal(self):
        self.partitioned = False

    def close(self):
        self._closed = True
        self._listener.close()
        self._cut()
        for thread in self._threads:
            thread.join(TIMEOUT)

    def _cut(self):
        for sock in list(self._sockets):
            try:  # wakes a pump blocked in recv (close alone does not)
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def cut_after(marker):
    """Cut the stream right after ``marker`` (in the middle of the record
    holding it, so in the middle of a transaction)."""
    def fault(data):
        found = data.find(marker)
        if found < 0:
            return data, False
        return data[:found + len(marker)], True
    return fault


def flip_after(marker):
    """Flip one bit of the byte after ``marker``: record data that only the
    checksum can tell is wrong."""
    def fault(data):
        found = data.find(marker)
        at = found + len(marker)
        if found < 0 or at >= len(data):
            return data, False
        return data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:], False
    return fault
