"""One side of the zrs_replication benchmark, in a process of its own.

Runs with our Python (zc.zrs 4) or with the original's peer venv
(zc.zrs 3.1.0): it only uses the API both share. One command per line on
stdin, one JSON answer per line on stdout.

    python zrs_worker.py primary PATH PORT PLAIN_PATH
    python zrs_worker.py secondary PATH PORT

Commits answer their rate, the last tid, the time, the CPU time the
process used per commit (its zc.zrs threads too) and where the committing
thread's time went per commit (``Timing``); ``cpu`` asks a secondary for
the CPU time it used so far.

The primary process also holds a plain FileStorage (PLAIN_PATH), so the
throughput with and without replication is measured in the same process,
in alternating rounds.

Two more commands measure the limits of this machine, under the same load
(our Python only): ``ping PORT N DELAY`` (primary) and ``listen`` /
``pings`` (secondary) time isolated messages between the two processes on
a plain loopback socket, through the same thread hand-offs a replicated
commit takes (the committing thread sends; receiving thread, which
applies a small transaction itself; the lag watcher's polling), without
any work;
``floor PORT N`` (primary) and ``sink`` (secondary) time the least a
replicating primary can do per commit, without zc.zrs: N plain commits,
each followed by the committing thread sending a small transaction's
bytes to the other process, which writes them to a file, fsyncs it (once
for what one read brings, like group commit) and answers each with an
acknowledgement that an asyncio loop thread of the primary receives (as
our primary does with a zrs2.2 secondary);
``restore`` (primary) applies the transactions of its data file to a new
FileStorage through the storage API the secondary uses, with group
commit, from memory: what catch-up costs without the network and the
decoding.
"""
import json
import os
import socket
import sys
import threading
import time


def answer(value):
    print(json.dumps(value), flush=True)


def main():
    role, path = sys.argv[1], sys.argv[2]
    if os.environ.get('ZRS_SWITCH_INTERVAL'):  # see zrs_replication.py
        sys.setswitchinterval(float(os.environ['ZRS_SWITCH_INTERVAL']))
    import ZODB
    import ZODB.FileStorage
    import transaction
    storage = ZODB.FileStorage.FileStorage(path)
    if role == 'primary':
        import zc.zrs
        storage = zc.zrs.Primary(storage, ('127.0.0.1', int(sys.argv[3])))
        db = ZODB.DB(storage)
        conn = db.open()
        root = conn.root()
        plain_db = ZODB.DB(ZODB.FileStorage.FileStorage(sys.argv[4]))
        plain_tm = transaction.TransactionManager()
        plain_root = plain_db.open(plain_tm).root()
        timing = Timing()
        answer('ready')
        for line in sys.stdin:
            words = line.split()
            if words[0] in ('commit', 'plain'):  # N commits of SIZE bytes
                count, size = int(words[1]), int(words[2])
                target, tm = ((root, transaction.manager)
                              if words[0] == 'commit'
                              else (plain_root, plain_tm))
                start = time.perf_counter()
                cpu = time.process_time()
                timing.start()
                for i in range(count):
                    target['x'] = b'x' * size if size else i
                    tm.commit()
                answer([count / (time.perf_counter() - start),
                        storage.lastTransaction().hex(), time.time(),
                        (time.process_time() - cpu) / count,
                        timing.per_commit(count)])
            elif words[0] == 'isolated':  # N commits DELAY apart
                count, delay = int(words[1]), float(words[2])
                done = []
                for i in range(count):
                    time.sleep(delay)
                    root['x'] = i
                    transaction.commit()
                    done.append([storage.lastTransaction().hex(),
                                 time.time()])
                answer(done)
            elif words[0] == 'trace':  # time the stages from now on
                answer(trace_primary(storage))
            elif words[0] == 'cpu':  # CPU seconds this process used
                answer(time.process_time())
            elif words[0] == 'stages':
                answer(STAGES)
            elif words[0] == 'restore':  # [transactions, seconds]
                answer(restore(path, path + '.restored'))
            elif words[0] == 'ping':  # PORT N DELAY: [send times]
                answer(ping(int(words[1]), int(words[2]), float(words[3])))
            elif words[0] == 'floor':  # PORT N: like plain's answer
                answer(floor(int(words[1]), int(words[2]), plain_root,
                             plain_tm, timing))
            elif words[0] == 'quit':
                break
        conn.close()
        db.close()
        plain_db.close()
    else:
        import zc.zrs
        started, started_cpu = time.time(), time.process_time()
        storage = zc.zrs.Secondary(storage, ('127.0.0.1', int(sys.argv[3])),
                                   reconnect_delay=1)
        seen = {}
        watching = threading.Event()

        def watch():
            # Polls only while measuring lags: the polling costs CPU the
            # throughput rounds should not pay.
            last = None
            while True:
                watching.wait()
                tid = storage.lastTransaction()
                if tid != last:
                    seen[tid.hex()] = time.time()
                    last = tid
                time.sleep(0.0002)

        threading.Thread(target=watch, daemon=True).start()
        answer('ready')
        for line in sys.stdin:
            words = line.split()
            if words[0] == 'wait':  # until TID: [when, seconds, CPU s]
                target = bytes.fromhex(words[1])
                deadline = time.time() + 300
                while (storage.lastTransaction() < target
                       and time.time() < deadline):
                    time.sleep(0.0005)
                now = time.time()
                if watching.is_set():  # the watcher's more precise time
                    for _ in range(100):
                        if words[1] in seen:
                            break
                        time.sleep(0.0005)
                when = seen.setdefault(words[1], now)
                answer([when, when - started,
                        time.process_time() - started_cpu])
            elif words[0] == 'cpu':  # CPU seconds this process used
                answer(time.process_time())
            elif words[0] == 'watch':
                watching.set()
                answer('watching')
            elif words[0] == 'seen':
                answer(seen)
            elif words[0] == 'trace':  # time the stages from now on
                answer(trace_secondary())
            elif words[0] == 'stages':
                answer(STAGES)
            elif words[0] == 'listen':  # [port]; then pings arrive
                arrived, received = [], []
                answer(listen(arrived, received))
            elif words[0] == 'pings':  # [[arrival times], [seen times]]
                answer([arrived, received])
            elif words[0] == 'sink':  # [port]; see floor
                answer(sink(path + '.sink'))
            elif words[0] == 'quit':
                break
        storage.close()


# The stage breakdown of the lag (our zc.zrs only, on request): wrappers
# around zc.zrs's internal steps, deliberately reaching into them, which
# note when each step ran. They cost a few microseconds per step.
STAGES = []


def _traced(cls, name, before=None, after=None):
    function = getattr(cls, name)

    def wrapper(self, *args):
        if before is not None:
            before(self)
        result = function(self, *args)
        if after is not None:
            after(self)
        return result

    setattr(cls, name, wrapper)


def trace_primary(storage):
    """Note, per transaction: when the storage's tpc_finish made it
    durable (``durable``), when sending to the secondary began (``loop``:
    in the committing thread, or the zc.zrs loop over TLS or while it owns
    the connection), when it was read and encoded (``filled``) and when
    the bytes were handed to the socket (``sent``: send() returned). The answer to ``stages`` is
    STAGES: ``[stage, time, tid]``."""
    import zc.zrs.primary
    note = STAGES.append
    _traced(zc.zrs.primary.ReplicationServer, 'committed',
            before=lambda server: note(
                ['durable', time.time(), storage.lastTransaction().hex()]))
    _traced(zc.zrs.primary._SecondaryConnection, '_fill',
            after=lambda c: note(['filled', time.time(), None]))
    _traced(zc.zrs.primary._SecondaryConnection, '_send_slice',
            before=lambda c: note(['loop', time.time(), None]),
            after=lambda c: note(['sent', time.time(), c.last_tid.hex()]))
    return 'tracing'


def trace_secondary():
    """Note when the secondary's loop received bytes (``received``:
    data_received), when the applier thread took them (``dequeued``), when
    it began and ended applying a transaction (``applying``, ``applied``:
    lastTransaction() has it) and when that was fsynced (``synced``: its
    acknowledgement goes out)."""
    import zc.zrs.applier
    import zc.zrs.secondary
    note = STAGES.append
    _traced(zc.zrs.secondary._PrimaryConnection, 'data_received',
            before=lambda c: note(['received', time.time(), None]))
    _traced(zc.zrs.applier.Applier, '_process',
            before=lambda a: note(['dequeued', time.time(), None]))
    applier_apply = zc.zrs.applier.Applier._apply

    def apply(self, transaction):
        note(['applying', time.time(), transaction.tid.hex()])
        applier_apply(self, transaction)
        note(['applied', time.time(), transaction.tid.hex()])

    zc.zrs.applier.Applier._apply = apply
    _traced(zc.zrs.applier.Applier, '_synced',
            before=lambda a: note(['synced', time.time(), None]))
    return 'tracing'


def ping(port, count, delay):
    """Send ``count`` isolated 8-byte messages ``delay`` apart from the
    calling thread, as a committing thread sends its transaction; their
    send times."""
    sent = []
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(count):
            time.sleep(delay)
            sent.append(time.time())
            sock.sendall(i.to_bytes(8, 'big'))
    return sent


def listen(arrived, received):
    """Accept one connection; a receiving thread counts each 8-byte
    message as applied (as the secondary's loop applies a small
    transaction itself), and a watcher polling as the lag watcher does
    notes when it sees it (in ``received``; ``arrived``: when the receiving
    thread got it, a single hop). The port."""
    server = socket.create_server(('127.0.0.1', 0))
    server.settimeout(30)
    applied = [0]  # messages applied so far
    done = threading.Event()

    def receive():
        with server, server.accept()[0] as sock:
            sock.settimeout(300)
            while True:
                data = sock.recv(1 << 16)
                if not data:
                    break
                arrived.extend([time.time()] * (len(data) // 8))
                applied[0] += len(data) // 8
        done.set()

    def watch():
        seen = 0
        deadline = time.time() + 600
        while time.time() < deadline and not (done.is_set()
                                              and seen == applied[0]):
            count = applied[0]
            if count > seen:
                received.extend([time.time()] * (count - seen))
                seen = count
            time.sleep(0.0002)

    for target in (receive, watch):
        threading.Thread(target=target, daemon=True).start()
    return server.getsockname()[1]


class Timing:
    """Where the calling (committing) thread's time goes: ``per_commit``
    answers, in microseconds per commit since ``start()``, [wall, in
    FileStorage's fsync (wall), the thread's CPU outside it, its waiting
    for a core outside it (the kernel's run-queue delay, from /proc's
    schedstat)]. The rest of the wall time is other waiting: for the GIL,
    a lock, a write."""

    def __init__(self):
        module = sys.modules['ZODB.FileStorage.FileStorage']
        fsync = module.fsync
        self._in_fsync = [0.0, 0.0, 0.0]  # wall, CPU, waiting for a core
        self._schedstat = os.open(
            f'/proc/self/task/{threading.get_native_id()}/schedstat',
            os.O_RDONLY)

        def timed(fd):
            before = self._clocks()
            try:
                return fsync(fd)
            finally:
                for i, (then, now) in enumerate(zip(before,
                                                    self._clocks())):
                    self._in_fsync[i] += now - then

        module.fsync = timed
        self._start = None

    def _clocks(self):
        run_delay = int(os.pread(self._schedstat, 128, 0).split()[1]) / 1e9
        return time.perf_counter(), time.thread_time(), run_delay

    def _now(self):
        wall, cpu, waiting = self._clocks()
        in_wall, in_cpu, in_waiting = self._in_fsync
        return wall, in_wall, cpu - in_cpu, waiting - in_waiting

    def start(self):
        self._start = self._now()

    def per_commit(self, count):
        return [(now - then) / count * 1e6
                for then, now in zip(self._start, self._now())]


#: What a small commit of the benchmark's encodes to on the wire (bytes).
SMALL_TRANSACTION = 400
#: An acknowledgement on the wire: a 4-byte length and a tid.
ACKNOWLEDGEMENT = 12


def floor(port, count, root, tm, timing):
    """``count`` plain commits, each followed by sending
    SMALL_TRANSACTION bytes from the committing thread, each answered by
    the sink with an acknowledgement an asyncio loop thread receives:
    [rate, None, time, CPU seconds per commit, timing], like ``plain``."""
    import asyncio
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    payload = b'x' * SMALL_TRANSACTION
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        acknowledged = [0]
        done = threading.Event()

        def receive():
            acknowledged[0] += len(sock.recv(1 << 16)) // ACKNOWLEDGEMENT
            if acknowledged[0] >= count:
                done.set()

        loop.call_soon_threadsafe(loop.add_reader, sock.fileno(), receive)
        start = time.perf_counter()
        cpu = time.process_time()
        timing.start()
        for i in range(count):
            root['x'] = i
            tm.commit()
            sock.sendall(payload)
        spent = timing.per_commit(count)
        rate = count / (time.perf_counter() - start)
        used = (time.process_time() - cpu) / count
        done.wait(30)
        loop.call_soon_threadsafe(loop.remove_reader, sock.fileno())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()
    return [rate, None, time.time(), used, spent]


def sink(path):
    """Accept one connection (see floor) in a thread that appends what it
    receives to the file ``path``, fsyncs it and answers every
    SMALL_TRANSACTION bytes with an acknowledgement; the port."""
    server = socket.create_server(('127.0.0.1', 0))
    server.settimeout(30)

    def serve():
        with (server, server.accept()[0] as sock,
              open(path, 'wb', buffering=0) as durable):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(300)
            received = 0
            while True:
                data = sock.recv(1 << 16)
                if not data:
                    break
                durable.write(data)
                os.fsync(durable.fileno())
                received += len(data)
                answers, received = divmod(received, SMALL_TRANSACTION)
                sock.sendall(b'a' * ACKNOWLEDGEMENT * answers)

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def restore(source, target):
    """Apply the transactions of the data file ``source`` to a new
    FileStorage ``target`` as zc.zrs's applier does; (count, seconds)."""
    import ZODB.FileStorage
    from ZODB.Connection import TransactionMetaData
    from zc.zrs.groupsync import GroupSync
    history = ZODB.FileStorage.FileStorage(source, read_only=True)
    transactions = [(t, [(r.oid, r.tid, r.data, r.data_txn) for r in t])
                    for t in history.iterator()]
    history.close()
    storage = ZODB.FileStorage.FileStorage(target)
    sync = GroupSync(storage)
    start = time.perf_counter()
    for transaction, records in transactions:
        meta = TransactionMetaData(transaction.user, transaction.description,
                                   transaction.extension)
        storage.tpc_begin(meta, transaction.tid, transaction.status)
        for oid, tid, data, data_txn in records:
            storage.restore(oid, tid, data, '', data_txn, meta)
        storage.tpc_vote(meta)
        storage.tpc_finish(meta)
        sync.applied(more_waiting=True)
    sync.close()
    seconds = time.perf_counter() - start
    storage.close()
    for suffix in ('', '.index', '.lock', '.tmp'):
        if os.path.exists(target + suffix):
            os.remove(target + suffix)
    return [len(transactions), seconds]


if __name__ == '__main__':
    main()
