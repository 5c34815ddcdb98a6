import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/monitor/README.rst').read_text()

# The commands zc.monitor itself contributes. Entry points make them
# available in every process that starts a monitor, without registration;
# the ZODB ones import ZODB only when called (extra "zodb").
COMMANDS = [
    'help = zc.monitor.basics:help',
    'interactive = zc.monitor.basics:interactive',
    'quit = zc.monitor.basics:quit',
    'metrics = zc.monitor.metrics:metrics',
    'monitor = zc.monitor.zodb:monitor',
    'dbinfo = zc.monitor.zodb:dbinfo',
    'zeocache = zc.monitor.zodb:zeocache',
    'zeostatus = zc.monitor.zodb:zeostatus',
]

setup(
    name='zc.monitor',
    version='1.0.0.dev0',
    description='A command-line monitor server inside every process, '
                'with ZODB/ZEO commands and Prometheus metrics',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['zc.*']),
    include_package_data=True,
    install_requires=['zope.interface', 'zope.component'],
    extras_require={
        'zodb': ['ZODB'],
        # The <monitor> section of ZEO, zdaemon and Zope configurations.
        'zconfig': ['ZConfig'],
        'zcml': ['zope.component[zcml]', 'zope.configuration'],
        'test': [
            'zope.testrunner',
            'ZODB',
            'ZEO',
            'ZConfig',
            'prometheus_client',
            'zope.component[zcml]',
            'zope.configuration',
            'zope.testing',
        ],
    },
    entry_points={
        'console_scripts': ['zc-monitor = zc.monitor.client:main'],
        'zc.monitor': COMMANDS,
        'zc.monitor.metrics': [
            'process = zc.monitor.process:metrics',
            'zodb = zc.monitor.zodb:metrics',
        ],
    },
    zip_safe=False,
)
