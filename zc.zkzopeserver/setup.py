import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/zkzopeserver/README.rst').read_text()

# zope.server imports asyncore and asynchat, which left the standard
# library in Python 3.12; these backports provide them there.
ASYNCORE = ['pyasyncore; python_version >= "3.12"',
            'pyasynchat; python_version >= "3.12"']
# A monitor server beside the HTTP server (``monitor_server``).
MONITOR = ['zc.monitor']
# ``zkzopeserver app.ini``: ini files read by PasteDeploy.
PASTE = ['PasteDeploy']

setup(
    name='zc.zkzopeserver',
    version='2.0.0.dev0',
    description='WSGI application servers on OS-assigned ports, registered '
                'in ZooKeeper, drained on shutdown',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['zc.*']),
    include_package_data=True,
    install_requires=['zc.zk', 'zope.server', 'ZConfig', *ASYNCORE],
    extras_require={
        'monitor': MONITOR,
        'paste': PASTE,
        # The README and tests show the package's own extras at work
        # (monitor_server registers its address); tests of zc.monitor's
        # behaviour with it are zc.stack's.
        'test': ['zope.testrunner', 'zope.testing', 'zdaemon', *MONITOR,
                 *PASTE],
    },
    entry_points={
        'paste.server_runner': ['main = zc.zkzopeserver:run'],
        'console_scripts': ['zkzopeserver = zc.zkzopeserver.script:main'],
    },
    zip_safe=False,
)
