"""Where the example specs and scenarios live: the checkout's own, or the copy a wheel installs under share/mvptest."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

PILOT = Path("scenarios") / "pilot-enterprise-registration.yaml"


def examples_root() -> Path | None:
    """The folder holding ``specs/`` and ``scenarios/``: a source checkout first, then the installed data files."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / PILOT).is_file():
        return checkout
    try:
        dist = importlib.metadata.distribution("mvptest")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for f in dist.files or []:
            if f.as_posix().endswith("share/mvptest/" + PILOT.as_posix()):
                return Path(str(dist.locate_file(f))).resolve().parents[1]
    fallback = Path(sys.prefix) / "share" / "mvptest"
    return fallback if (fallback / PILOT).is_file() else None


def default_scenario() -> Path:
    """The pilot scenario: ./scenarios/ when the current folder has it, else the one installed with mvptest."""
    if PILOT.is_file():
        return PILOT
    root = examples_root()
    return root / PILOT if root is not None else PILOT
