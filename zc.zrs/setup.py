import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/zrs/README.rst').read_text()

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
        'test': ['zope.testrunner'],
    },
    entry_points={
        'console_scripts': [
            'zrs-nagios = zc.zrs.nagios:main',
            'last-zeo-transaction = zc.zrs.lastzeo:main',
        ],
    },
    zip_safe=False,
)
