"""Figures for the JSON report: percentiles, the machine, the versions."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path


def percentiles(values: list[float], scale: float = 1000.0) -> dict:
    """p50, p99 and max (nearest rank), in milliseconds by default; None when empty."""
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * scale

    return {
        "n": len(ordered),
        "p50": round(rank(50), 1),
        "p99": round(rank(99), 1),
        "max": round(ordered[-1] * scale, 1),
    }


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("Django", "channels", "channels-redis", "daphne", "Twisted", "websockets"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    versions["python"] = platform.python_version()
    for name, command in {
        "postgresql": ["psql", "--version"],
        "redis": ["redis-server", "--version"],
        "nginx": ["nginx", "-v"],
    }.items():
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=5)
            versions[name] = (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }
