import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zdaemon/README.rst').read_text()

setup(
    name='zdaemon',
    # Above the last PyPI release (5.2.1): ZEO requires an unversioned
    # ``zdaemon``, which this distribution satisfies and replaces.
    version='6.0.0.dev0',
    description='Run a program as a daemon, restart it when it dies, and '
                'control it from the command line',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    package_dir={'': 'src'},
    packages=find_packages('src'),
    include_package_data=True,
    install_requires=['ZConfig'],
    extras_require={
        'test': [
            'zope.testrunner',
            'zope.testing',
            # ZEO imports zdaemon (runzeo, zeoctl, ZEO.server()); the
            # integration tests run it, and its own zdaemon-related tests
            # (which need ZEO's test extra), against this distribution.
            'ZEO[test]',
        ],
    },
    entry_points={'console_scripts': ['zdaemon = zdaemon.zdctl:main']},
    zip_safe=False,
)
