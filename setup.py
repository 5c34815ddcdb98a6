"""zc.stack: the zc distributions wired together (cluster CLI, end-to-end
tests, the monorepo's test runner)."""
import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'README.rst').read_text()

setup(
    name='zc.stack',
    version='0.1.0.dev0',
    description='The zc operations stack wired together',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    # Explicit, or setuptools' discovery would see the package directories.
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['zc.*']),
    include_package_data=True,
    install_requires=[
        'zc.thread',
        'zc.testbrowser',
        'zc.zk',
        'zc.twist',
        'zdaemon',
        'zc.monitor',
        'zc.zrs',
        'zc.zkzopeserver[monitor,paste]',
        'zc.zkzeo',
    ],
    extras_require={
        'test': [
            'zope.testrunner',
            'zope.testing',
            # zc.lockfile (installed by ZEO) shares the zc namespace; the
            # tests prove the two coexist.
            'zc.lockfile',
            # The tests of one package's integration with another
            # (zc.monitor's commands and sections in zc.zk, zc.zrs and
            # zdaemon) live here, with what they need.
            'zc.zk[monitor,event]',
            'zc.monitor[zcml,zconfig]',
            'zope.component',
            'prometheus_client',
        ],
    },
    entry_points={
        'console_scripts': [
            'zc-stack-test = zc.stack.runtests:main',
            'zc-stack = zc.stack.cluster.cli:main',
        ],
    },
    zip_safe=False,
)
