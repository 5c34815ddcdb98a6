"""The README doctest, against the real ZooKeeper of zc.zk.testing."""
import concurrent.futures
import doctest
import os
import shutil
import signal
import tempfile
import unittest

import zc.zk
from zc.zk.testing import ZOOKEEPER

import zc.zkzopeserver
from zc.zkzopeserver.tests import apps
from zc.zkzopeserver.tests.helpers import (get, refuses, run_to_end,
                                           stop_process, wait, zkzopeserver)

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
README = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                      'README.rst')


def setUp(test):
    directory = tempfile.mkdtemp(prefix='zc.zkzopeserver-readme-')
    processes = []
    executor = concurrent.futures.ThreadPoolExecutor(2)
    logs = {}

    def show(port, path='/'):
        status, body = get(port, path)
        print(status, body.strip())

    def run_zkzopeserver(*args):
        name = os.path.join(directory, f'stderr-{len(processes)}.log')
        with open(name, 'wb') as stderr:
            process = zkzopeserver(*args, stderr=stderr)
        processes.append(process)
        logs[process] = name
        return process

    def log(process):
        """What the server logged itself (kazoo's messages left out)."""
        with open(logs[process]) as f:
            return ''.join(line for line in f
                           if ':zc.zkzopeserver:' in line).strip()

    def registered_port(path):
        with zc.zk.ZooKeeper(ZOOKEEPER.connection_string) as zk:
            wait(lambda: zk.exists(path) and zk.get_children(path),
                 f'a registration under {path}')
            [name] = zk.get_children(path)
        return int(name.rpartition(':')[2])

    def script_error(*args):
        status, _, err = run_to_end(*args)
        return f'{err.strip()}\nexit status {status}'

    def start_request(port, path):
        def request():
            status, body = get(port, path)
            return f'{status} {body.strip()}'
        return executor.submit(request)

    def wait_for_file(name):
        wait(lambda: os.path.exists(os.path.join(directory, name)),
             f'{name} in {directory}')

    def release():
        open(os.path.join(directory, 'release'), 'w').close()

    def wait_until_refused(port):
        wait(lambda: refuses(port), f'port {port} to close')

    def cleanup():
        zc.zkzopeserver.stop_for_testing()
        for process in processes:
            stop_process(process)
        release()  # a request still waiting ends
        executor.shutdown()
        shutil.rmtree(directory, True)

    test.globs.update(
        app=apps.app, zookeeper=ZOOKEEPER.connection_string,
        directory=directory, signal=signal, get=show,
        run_zkzopeserver=run_zkzopeserver, log=log,
        registered_port=registered_port, script_error=script_error,
        start_request=start_request, wait_for_file=wait_for_file,
        release=release, wait_until_refused=wait_until_refused,
        _cleanup=cleanup)


def tearDown(test):
    test.globs['_cleanup']()


def test_suite():
    suite = doctest.DocFileSuite(
        README, module_relative=False, setUp=setUp, tearDown=tearDown,
        optionflags=OPTIONS)
    suite.layer = ZOOKEEPER
    return unittest.TestSuite([suite])
