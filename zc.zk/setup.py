import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/zk/README.rst').read_text()

SCRIPTS = {
    'zookeeper_export': 'export',
    'zookeeper_import': 'import_',
    'zookeeper_validate': 'validate',
    'zookeeper_set_property': 'set_property',
}

setup(
    name='zc.zk',
    version='3.0.0.dev0',
    description='Service registration, discovery and configuration on '
                'ZooKeeper, and a text model of a system as a tree',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['zc.*']),
    include_package_data=True,
    install_requires=['kazoo'],
    extras_require={
        # zope.event: RegisteringServer events reach zope.event subscribers.
        'event': ['zope.event'],
        # netifaces: a blank host registers every non-loopback address.
        'netifaces': ['netifaces'],
        # zc.monitor: the ``servers`` command; monitor.zcml needs its zcml.
        'monitor': ['zc.monitor[zcml]'],
        'test': ['zope.testrunner', 'zope.testing', 'zope.event',
                 'zc.thread'],
    },
    entry_points={
        'console_scripts': [
            f'{script} = zc.zk.scripts:{function}'
            for script, function in SCRIPTS.items()],
        # zc.monitor finds its commands here; zc.monitor stays optional.
        'zc.monitor': ['servers = zc.zk.monitor:servers'],
    },
    zip_safe=False,
)
