"""Tests of zc.testbrowser: the README doctest and unit tests."""
