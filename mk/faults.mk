# faults.mk - the fault tests' long versions (not part of `make test`, which
# runs the short ones in tests/faults): more kills, more load, more runs per
# fault. WF_FAULTS_SCALE multiplies every count (default here 10).
FAULTS_SCALE ?= 10

.PHONY: test-faults-long
test-faults-long: deps
	WF_FAULTS_SCALE=$(FAULTS_SCALE) WF_TEST_FILTER=tests/faults /usr/bin/python3 tests/run.py
