# Two entry points for a fresh Debian 12 machine: `make aio` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
COLLECTION_LINK := $(VENV)/share/aptstack/collections/ansible_collections/aptstack/openstack
HOST_PACKAGES := debootstrap systemd-container iptables ethtool iproute2 openssh-client util-linux
LAB ?= aio
RELEASE ?= resolute

.PHONY: aio test lint unit system reuse-test molecule-aio molecule-controller-compute host-deps venv clean-labs

aio: host-deps venv
	$(BIN)/aptstack up --name $(LAB) --release $(RELEASE)

test: host-deps venv lint unit system molecule-aio molecule-controller-compute

lint: venv
	$(BIN)/ruff check src tests plugins
	$(BIN)/ruff format --check src tests plugins
	$(BIN)/ansible-lint --profile production

unit: venv
	$(BIN)/pytest -q tests/unit

system: host-deps venv
	$(BIN)/pytest -q -x tests/system

# Deploy, verify, teardown, nothing left, deploy and verify again on one lab (about half an hour;
# not part of `make test`). REUSE_LAB names the lab; REUSE_SUBNET and REUSE_TUNNEL_SUBNET its networks.
REUSE_LAB ?= reuse
reuse-test: host-deps venv
	REUSE_LAB=$(REUSE_LAB) REUSE_SUBNET=$(REUSE_SUBNET) REUSE_TUNNEL_SUBNET=$(REUSE_TUNNEL_SUBNET) \
		$(BIN)/pytest -q -x tests/reuse

# molecule needs ansible-config and friends on PATH; it runs with the same strategy
# as the aptstack command (mitogen, unless APTSTACK_MITOGEN=0).
MOLECULE = PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m aptstack.runner $(BIN)/molecule

# When a scenario fails, its failure reports' summaries (failed tasks or checks, then the
# diagnostics digest) end the output, where a CI log's tail shows them.
define molecule_test
	@started=$$(date +%s); $(MOLECULE) test -s $(1) || { \
		echo "molecule scenario $(1) failed; failure reports of lab $(2):"; \
		$(BIN)/aptstack lab reports --name $(2) --since $$started; exit 1; }
endef

molecule-aio: host-deps venv
	$(call molecule_test,aio,mol-aio)

molecule-controller-compute: host-deps venv
	$(call molecule_test,controller-compute,mol-cc)

host-deps: .stamp-host-deps
.stamp-host-deps:
	@missing=""; for p in $(HOST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn $(CURDIR) $(COLLECTION_LINK)
	touch $@

clean-labs: venv
	for lab in $$($(BIN)/aptstack lab list --json | $(BIN)/python -c 'import json,sys; print(" ".join(l["name"] for l in json.load(sys.stdin)))'); do \
		$(BIN)/aptstack lab down --name $$lab; done
