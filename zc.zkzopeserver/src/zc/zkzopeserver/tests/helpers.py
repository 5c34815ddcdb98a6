"""What the tests share: HTTP requests, servers in a thread of the test
process or in child processes, and waiting."""
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import threading

from zope.testing.wait import wait as _wait

import zc.zk
import zc.zkzopeserver
from zc.zkzopeserver.tests import apps

#: Seconds any single wait of the tests may take.
TIMEOUT = 30
POLL = 0.02
APP = 'zc.zkzopeserver.tests.apps:app'


def wait(condition, message=None):
    _wait(condition, timeout=TIMEOUT, wait=POLL, message=message)


def get(port, path='/', host='127.0.0.1', connection=None):
    """``(status, body)`` of a GET, on ``connection`` when given (a
    keep-alive one) or a new one."""
    own = connection is None
    if own:
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        connection.request('GET', path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        if own:
            connection.close()


def refuses(port, host='127.0.0.1'):
    """Whether nothing listens at ``port`` any more."""
    try:
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        connection.connect()
    except ConnectionRefusedError:
        return True
    connection.close()
    return False


def python_env(**variables):
    """Environment for a child Python that imports what we import."""
    return {**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path),
            **variables}


def temporary_directory(test):
    directory = tempfile.mkdtemp(prefix='zc.zkzopeserver-test-')
    test.addCleanup(shutil.rmtree, directory, True)
    return directory


def connect(test, connection_string):
    zk = zc.zk.ZooKeeper(connection_string)
    test.addCleanup(zk.close)
    return zk


def serve_in_thread(test, app=apps.app, **settings):
    """Start ``zc.zkzopeserver.run`` in a thread, wait until it serves,
    and stop it after the test. Returns ``(thread, port)``."""
    failure = []

    def run():
        try:
            zc.zkzopeserver.run(app, {}, **settings)
        except BaseException as error:
            failure.append(error)
    thread = threading.Thread(target=run, name='zkzopeserver test server')
    thread.start()
    test.addCleanup(zc.zkzopeserver.stop_for_testing, thread)
    wait(lambda: zc.zkzopeserver.event_for_testing.is_set() or failure,
         'the server serving')
    if failure:
        raise failure[0]
    return thread, zc.zkzopeserver.server_for_testing.address[1]


def zkzopeserver(*args, **popen_options):
    """Start ``zkzopeserver ARGS`` as a child process."""
    return subprocess.Popen(
        [sys.executable, '-m', 'zc.zkzopeserver', *map(str, args)],
        env=python_env(), stdin=subprocess.DEVNULL, **popen_options)


def run_to_end(*args):
    """Run ``zkzopeserver ARGS`` until it exits (as it does on bad input):
    ``(exit status, stdout, stderr)``."""
    process = zkzopeserver(*args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        stop_process(process)
    return process.returncode, out, err


def stop_process(process):
    """Clean-up for a child that a test may already have ended."""
    if process.poll() is None:
        process.kill()
    process.wait(TIMEOUT)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
