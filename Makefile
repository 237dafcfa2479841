# Convenience targets; README.md documents the commands they wrap.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/customer_intel_bench
PY := .venv/bin/python

.PHONY: demo test lint bench bench-data bench-recompute bench-api bench-import bench-predictions \
	bench-privacy bench-facts bench-backdated

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench-data:
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/bench_demo_data.py

bench-recompute:
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/bench_recompute.py

bench-api:
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/bench_api.py

bench-import:
	$(PY) bench/bench_import.py

bench-predictions:
	$(PY) bench/bench_predictions.py

bench-privacy:
	$(PY) bench/bench_privacy.py

bench-backdated:
	$(PY) bench/bench_backdated.py

bench-facts:
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/bench_facts.py

# Benchmarks are not tests: they print figures. The machine is shared, so quote medians.
bench: bench-recompute bench-api bench-predictions
