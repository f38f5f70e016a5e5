# Two entry points for a fresh Debian 12 machine: `make aio` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
COLLECTION_LINK := $(VENV)/share/aptstack/collections/ansible_collections/aptstack/openstack
# chromium and its driver: verify's Horizon check runs a headless browser here (with --with horizon).
HOST_PACKAGES := debootstrap systemd-container iptables ethtool iproute2 openssh-client util-linux \
	chromium chromium-driver
LAB ?= aio
RELEASE ?= resolute

.PHONY: aio test lint sanity docs unit system reuse-test molecule-aio molecule-controller-compute host-deps \
	venv clean-labs bench overlay-check upgrade-check interrupt-check services-check snapshot-check horizon-check full

aio: host-deps venv
	$(BIN)/aptstack up --name $(LAB) --release $(RELEASE)

test: host-deps venv lint unit system snapshot-check molecule-aio molecule-controller-compute

lint: venv
	$(BIN)/ruff check src tests plugins tools bench
	$(BIN)/ruff format --check src tests plugins tools bench
	$(BIN)/ansible-lint --profile production
	$(MAKE) --no-print-directory sanity

# ansible-test resolves its working directory, so it cannot run in the collection link:
# it runs in a copy of the work tree's files under a temporary .../ansible_collections/aptstack/openstack
# (outside any git work tree, which would hide the ignored path from it), with the collections our
# docs build on (openstack.cloud's doc fragment) beside it. Its sanity venvs bootstrap pip with a
# script it downloads from a host we cannot reach; tools/get_pip.py stands in for it, in the
# cache place ansible-test reads first.
SANITY_TESTS := compile validate-modules yamllint
SANITY_PY := import sys, types; from ansible_test._internal.python_requirements import get_venv_packages as p; \
	print(sys.version_info[0], sys.version_info[1], p(types.SimpleNamespace(version='')).get('pip', ''))

sanity: venv
	set -e; root=$$(mktemp -d); trap 'rm -rf "$$root"' EXIT; \
	dest=$$root/ansible_collections/aptstack/openstack; mkdir -p $$dest $(HOME)/.ansible/test/cache; \
	git ls-files -z --cached --others --exclude-standard \
		| tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $$dest; \
	ln -s $(abspath $(VENV))/lib/python*/site-packages/ansible_collections/openstack $$root/ansible_collections/openstack; \
	read -r major minor pip <<< "$$($(BIN)/python -c "$(SANITY_PY)")"; \
	cp tools/get_pip.py $(HOME)/.ansible/test/cache/get_pip_$${pip//./_}.py; \
	cd $$dest && $(abspath $(BIN))/ansible-test sanity --python $$major.$$minor $(addprefix --test ,$(SANITY_TESTS))

unit: venv
	$(BIN)/pytest -q tests/unit

# Role READMEs' variable tables, from meta/argument_specs.yml (tests/unit/test_role_docs.py checks them).
docs: venv
	$(BIN)/python tools/role_docs.py

system: host-deps venv
	$(BIN)/pytest -q -x tests/system

# Long real checks on lab hosts, not part of make test (figures in the README).
# A local overlay (bumped and same-version rebuilds of nova) wins over the archive: two aio labs.
overlay-check: host-deps venv
	$(BIN)/pytest -v -s -x tests/checks/test_overlay.py

# The upgrade check passes a good nova rebuild and catches a deliberately broken one: one aio lab.
upgrade-check: host-deps venv
	$(BIN)/pytest -v -s -x tests/checks/test_upgrade.py

# Three first deploys stopped (Ctrl-C while apt installs, SIGKILL of ansible-playbook in keystone
# and on the compute host), each deployed again and verified: one aio lab, three rounds.
interrupt-check: host-deps venv
	$(BIN)/pytest -v -s -x tests/checks/test_interrupt.py

# Tempest smoke (upstream's tests, offline, from the archive) against a deployed lab: by default
# the one `make aio` made. Not part of `make test` (figures in the README). Results beside the
# inventory, under tempest/<time>/.
.PHONY: tempest-check
TEMPEST_INVENTORY ?= /var/lib/aptstack/labs/$(LAB)/inventory.yml
tempest-check: venv
	$(BIN)/aptstack tempest -i $(TEMPEST_INVENTORY) --smoke

# Optional services on an aio lab (11 min here alone; not part of `make test`):
# up --with heat (verify runs the Heat ping check), a second deploy with changed=0, and the check
# failing while heat-engine is stopped. SERVICES_LAB names the lab; SERVICES_SUBNET and
# SERVICES_TUNNEL_SUBNET its networks.
SERVICES_LAB ?= svc
services-check: host-deps venv
	SERVICES_LAB=$(SERVICES_LAB) SERVICES_SUBNET=$(SERVICES_SUBNET) SERVICES_TUNNEL_SUBNET=$(SERVICES_TUNNEL_SUBNET) \
		$(BIN)/pytest -v -s -x tests/checks/test_services.py

# Every optional service on one aio lab (not part of make test): up --with cinder,heat,horizon (verify
# runs the volume check, the Heat ping check and the Horizon check; the memory of each service is
# printed), a second deploy with changed=0, and the volume check failing while cinder-volume is
# stopped. FULL_LAB names the lab; FULL_SUBNET and FULL_TUNNEL_SUBNET its networks; FULL_KEEP=1 keeps it.
FULL_LAB ?= full
full: host-deps venv
	FULL_LAB=$(FULL_LAB) FULL_SUBNET=$(FULL_SUBNET) FULL_TUNNEL_SUBNET=$(FULL_TUNNEL_SUBNET) FULL_KEEP=$(FULL_KEEP) \
		$(BIN)/pytest -v -s -x tests/checks/test_full.py

# Horizon on an aio lab (not part of make test): up --with horizon (verify runs the browser check:
# headless Chromium here logs in and finds the check's server on the instances page), a second
# deploy with changed=0, and the check failing with a wrong password. HORIZON_LAB names the lab;
# HORIZON_SUBNET and HORIZON_TUNNEL_SUBNET its networks.
HORIZON_LAB ?= hzn
horizon-check: host-deps venv
	HORIZON_LAB=$(HORIZON_LAB) HORIZON_SUBNET=$(HORIZON_SUBNET) HORIZON_TUNNEL_SUBNET=$(HORIZON_TUNNEL_SUBNET) \
		$(BIN)/pytest -v -s -x tests/checks/test_horizon.py

# aptstack's autopkgtest (debian/tests/aio) in a fresh lab host standing in for a testbed:
# `autopkgtest -- null` passes on archive packages only, and fails on a deliberately broken nova
# (one aio lab, 13 min here alone). AUTOPKGTEST_LAB names the lab; AUTOPKGTEST_SUBNET and
# AUTOPKGTEST_TUNNEL_SUBNET its networks.
.PHONY: autopkgtest-check
AUTOPKGTEST_LAB ?= apkt
autopkgtest-check: host-deps venv
	AUTOPKGTEST_LAB=$(AUTOPKGTEST_LAB) AUTOPKGTEST_SUBNET=$(AUTOPKGTEST_SUBNET) \
		AUTOPKGTEST_TUNNEL_SUBNET=$(AUTOPKGTEST_TUNNEL_SUBNET) $(BIN)/pytest -v -s -x tests/checks/test_autopkgtest.py

# An aio deployed, snapshotted, restored (refused a second time), verified, deployed with
# changed=0, taken down with its snapshot, nothing left. APTSTACK_SNAPSHOT_SOURCE=<a deployed lab>
# uses (and consumes) that lab instead of deploying st-snap.
snapshot-check: host-deps venv
	$(BIN)/pytest -v -s -x tests/snapshot

# Deploy, verify, teardown, nothing left, deploy and verify again on one lab (11 min here alone;
# not part of `make test`). REUSE_LAB names the lab; REUSE_SUBNET and REUSE_TUNNEL_SUBNET its networks.
REUSE_LAB ?= reuse
reuse-test: host-deps venv
	REUSE_LAB=$(REUSE_LAB) REUSE_SUBNET=$(REUSE_SUBNET) REUSE_TUNNEL_SUBNET=$(REUSE_TUNNEL_SUBNET) \
		$(BIN)/pytest -q -x tests/reuse

# The benchmark (19 min here, alone; not a test, CI never runs it): a cold and a warm aio, the
# re-run, create-to-ping three times, memory, snapshot restore to verify, a 1+1 deploy, one lab at a
# time. JSON and a markdown table in bench/results/. Run nothing else heavy beside it.
# BENCH_STEPS picks steps (bench/run.py --help).
BENCH_STEPS ?= cold,warm,rerun,ping,memory,restore,cc
bench: host-deps venv
	$(BIN)/python bench/run.py --out bench/results --release $(RELEASE) --steps $(BENCH_STEPS)

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
	$(BIN)/pip install -q -e '.[test,horizon]'
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn $(CURDIR) $(COLLECTION_LINK)
	touch $@

clean-labs: venv
	for lab in $$($(BIN)/aptstack lab list --json | $(BIN)/python -c 'import json,sys; print(" ".join(l["name"] for l in json.load(sys.stdin)))'); do \
		$(BIN)/aptstack lab down --name $$lab; done
