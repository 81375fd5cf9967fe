"""Put on a test daphne's PYTHONPATH (tests/debates/live/test_transport_daphne.py): Twisted as a
release that renamed a private attribute the fast path reads. With PB_TEST_TWISTED_RENAME set,
twisted.internet.abstract is loaded from its own source with `_tempDataBuffer` renamed, so
Twisted itself keeps working and only debates.live.transport finds the attribute missing.
"""

import importlib.util
import os
import sys

if os.environ.get("PB_TEST_TWISTED_RENAME"):
    spec = importlib.util.find_spec("twisted.internet.abstract")
    with open(spec.origin) as f:
        source = f.read().replace("_tempDataBuffer", "_pendingWrites")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    exec(compile(source, spec.origin, "exec"), module.__dict__)  # noqa: S102
    sys.modules["twisted.internet"].abstract = module
