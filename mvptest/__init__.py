"""mvptest: prove a government data-sharing interface works before it rolls out."""

__version__ = "0.1.0"
