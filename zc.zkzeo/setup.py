import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/zkzeo/README.rst').read_text()

# monitor-server in <zookeeper>: a zc.monitor server whose ``servers``
# command (zc.zk's) tells which registration is ours.
MONITOR = ['zc.monitor', 'zc.zk[monitor,event]']

setup(
    name='zc.zkzeo',
    version='2.0.0.dev0',
    description='ZEO servers that register in ZooKeeper, and ZEO clients '
                'that find them there and follow them when they move',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['zc.*']),
    include_package_data=True,
    install_requires=['zc.zk', 'zc.thread', 'ZEO >= 6', 'ZODB', 'ZConfig',
                      'zdaemon'],
    extras_require={
        'monitor': MONITOR,
        # The README and tests show the package's own extra at work
        # (monitor-server, zkzeo-nagios -M); tests of zc.monitor's
        # behaviour with it are zc.stack's.
        'test': ['zope.testrunner', 'zope.testing', 'zope.event',
                 *MONITOR],
    },
    entry_points={
        'console_scripts': [
            'zkrunzeo = zc.zkzeo.runzeo:main',
            'zkzeo-nagios = zc.zkzeo.nagios:main',
        ],
    },
    zip_safe=False,
)
