"""Load and latency harness: `python -m bench.run <scenario> [--cluster]` prints JSON (BENCHMARKS.md)."""
