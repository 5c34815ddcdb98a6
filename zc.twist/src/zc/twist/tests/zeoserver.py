"""A ZEO server process for the tests.

    python -m zc.twist.tests.zeoserver PATH PORT

serves the FileStorage at PATH on 127.0.0.1:PORT (0: a free port), prints
``listening on <port>`` once it accepts connections, and stops, closing
the storage, when its standard input is closed: a test that dies leaves no
server behind. It uses ZEO's StorageServer directly rather than runzeo,
which needs zdaemon's option parsing.
"""
import sys
import threading

import ZEO.StorageServer
import ZODB.FileStorage


def main(path, port):
    storage = ZODB.FileStorage.FileStorage(path)
    server = ZEO.StorageServer.StorageServer(
        ('127.0.0.1', int(port)), {'1': storage})

    event_loop = server.acceptor.event_loop

    def stop_when_stdin_closes():
        sys.stdin.read()
        # Closing runs in the server's event loop: it closes the client
        # connections and the storage, then stops the loop.
        event_loop.call_soon_threadsafe(server.close)

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    print('listening on', server.addr[1], flush=True)
    server.loop()


if __name__ == '__main__':
    main(*sys.argv[1:])
