import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/zrs/README.rst').read_text()

# The ``replication`` command and metrics of zc.monitor.
MONITOR = ['zc.monitor', 'zope.component']
# Registering primaries and finding them through ZooKeeper.
ZK = ['zc.zk']

setup(
    name='zc.zrs',
    version='4.0.0.dev0',
    description='ZODB replicated storage: a primary streams every committed '
                'transaction to read-only secondaries',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['zc.*']),
    include_package_data=True,
    install_requires=[
        'ZODB >= 6',
        'ZEO >= 6',
        'ZConfig',
        'zope.interface',
        'transaction',
    ],
    extras_require={
        'monitor': MONITOR,
        'zk': ZK,
        # The README shows the package's own extras at work (the
        # ``replication`` command, ZooKeeper discovery); tests of
        # zc.monitor's behaviour with it are zc.stack's.
        'test': ['zope.testrunner', 'zope.testing', 'Twisted', *MONITOR,
                 *ZK],
    },
    entry_points={
        'console_scripts': [
            'zrs-nagios = zc.zrs.nagios:main',
            'last-zeo-transaction = zc.zrs.lastzeo:main',
        ],
        # zc.monitor finds these; zc.monitor stays optional.
        'zc.monitor': ['replication = zc.zrs.monitor:replication'],
        'zc.monitor.metrics': ['replication = zc.zrs.monitor:metrics'],
    },
    zip_safe=False,
)
