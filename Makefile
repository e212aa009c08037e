# Sockpit: `make run` starts the service on its embedded defaults, `make test` runs every test.
# Both install what a fresh Debian machine is missing (when run as root) before building.

SWIFT ?= swift
SYSTEM_PACKAGES := libmicrohttpd-dev libsqlite3-dev pkg-config curl wrk socat nmap iproute2 sqlite3 libcap2-bin chromium chromium-driver
PYTHON_PACKAGES := schemathesis==4.* openapi-spec-validator prometheus-client selenium==4.* openapi-python-client==0.29.1 datamodel-code-generator==0.97.0
export PATH := /opt/swift/usr/bin:$(PATH)

# Latency checks run in a test process of their own: Swift Testing runs every other suite beside them, each
# with its own servers, and their CPU load is not the service's (measured: health p99 24-55 ms under it, 5 ms
# alone, against a 50 ms bound).
ALONE_TESTS := healthStaysFastWhileReceivesWait

.PHONY: run test deps python-deps build release unit contract fuzz bench clean generate screenshots

## Install missing Debian packages (needs root; otherwise prints what to install).
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

## Install the Python tools the contract checks use.
python-deps:
	@python3 -c "import schemathesis, openapi_spec_validator, prometheus_client, selenium, openapi_python_client, datamodel_code_generator" 2>/dev/null || \
	  python3 -m pip install -q --disable-pip-version-check $(PYTHON_PACKAGES)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## Run the service on its embedded defaults (127.0.0.1:8080, data in $$XDG_DATA_HOME/sockpit or ~/.local/share/sockpit).
run: release
	$$($(SWIFT) build -c release --show-bin-path)/sockpit serve

## Every test: Swift tests of every module, then the contract checks against the live server.
test: deps python-deps
	bash Tests/codegen/generate.sh --check
	bash Tests/codegen/check_fails_on_change.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip '$(ALONE_TESTS)'
	$(SWIFT) test --skip-build --filter '$(ALONE_TESTS)'
	bash Tests/e2e/run.sh
	bash Tests/contract/run.sh
	bash Tests/client/run.sh
	bash Tests/browser/run.sh
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=60

## Take the README's screenshots of the dashboard again (the browser test, writing into Tests/browser/screenshots).
screenshots: deps python-deps
	$(SWIFT) build
	SCREENSHOTS=Tests/browser/screenshots bash Tests/browser/run.sh

## Rewrite the committed Swift code generated from openapi.yaml (Sources/*/Generated) with the pinned generator.
generate:
	bash Tests/codegen/generate.sh

unit: deps
	$(SWIFT) test

contract: deps python-deps
	$(SWIFT) build
	bash Tests/contract/run.sh

## libFuzzer over the request-text parsers (target rules, ports, regexes, stored details, Unix names) for
## FUZZ_SECONDS, from Tests/fuzz/seeds; a crash is saved under .build-fuzz/crashes/ and fails the run
## (replay it: swift run SockpitFuzz FILE).
FUZZ_SECONDS ?= 300
fuzz: deps
	$(SWIFT) build --product SockpitFuzz --sanitize fuzzer -Xswiftc -DFUZZING --scratch-path .build-fuzz
	mkdir -p .build-fuzz/corpus .build-fuzz/crashes
	SWIFT_BACKTRACE=enable=no $$($(SWIFT) build --sanitize fuzzer --scratch-path .build-fuzz --show-bin-path)/SockpitFuzz -max_total_time=$(FUZZ_SECONDS) \
	  -timeout=5 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 -artifact_prefix=.build-fuzz/crashes/ \
	  .build-fuzz/corpus Tests/fuzz/seeds

bench: deps
	bash bench/http_baseline.sh

clean:
	rm -rf .build .build-*
