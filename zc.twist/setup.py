import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/twist/README.rst').read_text()

setup(
    name='zc.twist',
    version='2.0.0.dev0',
    description='Call ZODB persistent objects from the Twisted reactor, '
                'with connections, commits and retries handled',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['zc.*']),
    include_package_data=True,
    install_requires=[
        'Twisted',
        'ZODB',
        'persistent',
        'transaction',
        'zope.component',
        'zope.interface',
    ],
    # ZEO is not a requirement: zc.twist never imports it, and recognises
    # ZEO's ClientDisconnected only once ZEO is in use (see _errors.py).
    extras_require={'test': ['zope.testrunner', 'zope.testing', 'ZEO']},
    zip_safe=False,
)
