# Thin wrapper: set-up and the two commands of the README. Logic lives in
# Python (zc.stack); this file only decides what needs re-running.
PYTHON ?= python3
VENV := .venv
BUILDOUT_VERSION := 6.0.1
# buildout's vendored pkg_resources warns about the zc namespace on every run.
export PYTHONWARNINGS := ignore:Module zc was already imported:UserWarning

SETUP_FILES := setup.py $(wildcard */setup.py)
STAMP := bin/.buildout-stamp

.PHONY: test cluster setup clean zookeeper

test: $(STAMP) zookeeper
	bin/zc-stack-test $(TESTFLAGS)

# Tests run a real ZooKeeper: Debian's package, installed when missing.
zookeeper: $(STAMP)
	bin/py -m zc.zk.testing.install

setup: $(STAMP)

# The main job: the whole stack on this machine (zc-stack installs Debian's
# zookeeper and haproxy when they are missing and it may).
cluster: $(STAMP)
	bin/zc-stack up

$(VENV)/bin/buildout:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q "zc.buildout==$(BUILDOUT_VERSION)"

# buildout re-develops every directory on each run (30-55 s), so it runs
# only when its configuration or a distribution's setup.py changed.
$(STAMP): $(VENV)/bin/buildout buildout.cfg versions.cfg $(SETUP_FILES)
	$(VENV)/bin/buildout -N -q
	touch $@

clean:
	rm -rf $(VENV) .venv-pip bin develop-eggs eggs parts .installed.cfg
