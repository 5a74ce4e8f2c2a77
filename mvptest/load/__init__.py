"""The Locust integration: the only package that imports locust (which monkey-patches the process on import).

Import it first in a process that runs load, before anything imports ssl or urllib3.
"""

from __future__ import annotations

import os

os.environ.setdefault("LOCUST_SKIP_MONKEY_PATCH", "")  # patching on: gevent needs it

import locust  # noqa: F401  (monkey-patches on import: keep it first)
