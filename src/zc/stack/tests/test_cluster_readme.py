"""The cluster README (src/zc/stack/cluster/README.rst) as a doctest."""
import doctest
import os
import shutil
import tempfile


def setUp(test):
    test.globs['saved_directory'] = os.getcwd()
    test.globs['directory'] = tempfile.mkdtemp(prefix='zcs-readme-')
    os.chdir(test.globs['directory'])

    def write(name, text):
        with open(name, 'w') as f:
            f.write(text)
    test.globs['write'] = write


def tearDown(test):
    os.chdir(test.globs['saved_directory'])
    shutil.rmtree(test.globs['directory'], ignore_errors=True)


def test_suite():
    return doctest.DocFileSuite(
        '../cluster/README.rst', setUp=setUp, tearDown=tearDown,
        optionflags=doctest.ELLIPSIS)
