"""The package README, run as a doctest in a sandbox of its own."""
import doctest
import os
import re

from zdaemon.tests import support


def setUp(test):
    sandbox = support.Sandbox()

    def write(name, text, mode=None):
        sandbox.write(name, text, mode)

    def write_python(name, text):
        """An executable script, run by the Python running this document."""
        sandbox.script(name, text)

    test.globs.update(
        sandbox=sandbox,
        os=os,
        write=write,
        write_python=write_python,
        read=sandbox.read,
        zdaemon=lambda args: _show(sandbox.run(args, merge_output=True)),
        zdaemon_output=lambda args: sandbox.run(args).stdout,
        wait_for=support.wait_for_value,
    )
    test.globs['_cwd'] = os.getcwd()
    os.chdir(sandbox.path)


def tearDown(test):
    os.chdir(test.globs['_cwd'])
    test.globs['sandbox'].cleanup()


def _show(done):
    # The dots start and stop print while they wait, one a second: how
    # many depends on the machine.
    print(re.sub(r'^(\. )+', '', done.stdout, flags=re.M), end='')
    if done.returncode:
        print(f'exit status {done.returncode}')


def test_suite():
    suite = doctest.DocFileSuite(
        '../README.rst', setUp=setUp, tearDown=tearDown,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    suite.layer = support.Processes
    return suite
