"""Developer commands run from the repository root (``python -m scripts.<name>``); not
part of the distribution."""
