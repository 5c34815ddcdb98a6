import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/testbrowser/README.rst').read_text()

setup(
    name='zc.testbrowser',
    version='1.0.0.dev0',
    description='A programmable browser for functional black-box tests of '
                'web applications (zope.testbrowser API, faster)',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['zc.*']),
    include_package_data=True,
    install_requires=[
        'lxml >= 5',
        'zope.interface',
    ],
    extras_require={
        'test': ['zope.testrunner', 'WebOb'],
        # The Chromium backend drives Debian's chromium through Playwright
        # (its own browsers are never downloaded; see the README).
        'chromium': ['playwright >= 1.40'],
        'chrome': ['playwright >= 1.40'],  # the contract's name for it
    },
    zip_safe=False,
)
