import pathlib

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).parent
long_description = (HERE / 'src/zc/thread/README.rst').read_text()

setup(
    name='zc.thread',
    version='2.0.0.dev0',
    description='Threads and processes from a function or a decorator, '
                'with results, logged failures and restarts',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    python_requires='>=3.11',
    package_dir={'': 'src'},
    packages=find_namespace_packages('src', include=['zc.*']),
    include_package_data=True,
    install_requires=[],
    extras_require={'test': ['zope.testrunner', 'mypy']},
    zip_safe=False,
)
