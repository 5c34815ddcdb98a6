"""Tests of zc.monitor: the README doctest and unit tests, over real
sockets, with real ZODB databases and a real ZEO server."""
