import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/zkzeo/README.rst').read_text()

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
        # monitor-server in <zookeeper>: a zc.monitor server whose
        # ``servers`` command (zc.zk's) tells which registration is ours.
        'monitor': ['zc.monitor', 'zc.zk[monitor,event]'],
        'test': ['zope.testrunner', 'zope.testing', 'zc.monitor',
                 'zc.zk[monitor,event]', 'zope.event'],
    },
    entry_points={
        'console_scripts': [
            'zkrunzeo = zc.zkzeo.runzeo:main',
            'zkzeo-nagios = zc.zkzeo.nagios:main',
        ],
    },
    zip_safe=False,
)
