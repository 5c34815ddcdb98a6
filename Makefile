# Thin wrapper: set-up and the two commands of the README. Logic lives in
# Python (zc.stack); this file only decides what needs re-running.

# The Python to build with: a command (python3.13), a version pyenv has
# (3.13) or a path. Changing it rebuilds the environment.
PYTHON ?= python3
VENV := .venv
BUILDOUT_VERSION := 6.0.1
# buildout's vendored pkg_resources warns about the zc namespace on every run.
export PYTHONWARNINGS := ignore:Module zc was already imported:UserWarning

SETUP_FILES := setup.py $(wildcard */setup.py)
STAMP := bin/.buildout-stamp
# "EXECUTABLE VERSION" of the Python the environment was built with.
PYTHON_RECORD := .python-built
# What buildout and the pip-path test build with a Python.
BUILT := $(VENV) .venv-pip bin develop-eggs parts .installed.cfg
# The host's python3 finds PYTHON, with zc.stack's stdlib-only finder.
FIND_PYTHON := PYTHONPATH=src python3 -m zc.stack.pythons

.PHONY: test cluster setup clean debian FORCE

test: $(STAMP) debian
	bin/zc-stack-test $(TESTFLAGS)

# Tests run real ZooKeeper, HAProxy and Chromium: Debian's packages,
# installed when missing.
debian: $(STAMP)
	bin/py -m zc.stack.debian

setup: $(STAMP)

# The main job: the whole stack on this machine (zc-stack installs Debian's
# zookeeper and haproxy when they are missing and it may).
cluster: $(STAMP)
	bin/zc-stack up

# Rewritten only when PYTHON means another interpreter than last time, so
# that everything built with that one is rebuilt.
$(PYTHON_RECORD): FORCE
	@$(FIND_PYTHON) --record $@ '$(PYTHON)' >/dev/null

$(VENV)/bin/buildout: $(PYTHON_RECORD)
	rm -rf $(BUILT)
	$$(cut -d' ' -f1 $(PYTHON_RECORD)) -m venv $(VENV)
	$(VENV)/bin/pip install -q "zc.buildout==$(BUILDOUT_VERSION)"

# buildout re-develops every directory on each run (30-55 s), so it runs
# only when its configuration or a distribution's setup.py changed.
$(STAMP): $(VENV)/bin/buildout buildout.cfg versions.cfg $(SETUP_FILES)
	$(VENV)/bin/buildout -N -q
	touch $@

clean:
	rm -rf $(BUILT) $(PYTHON_RECORD)
