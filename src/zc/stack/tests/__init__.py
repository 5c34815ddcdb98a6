"""Tests of the monorepo as a whole: namespace, environments, runner."""
