"""nerkd: distil a large language model's knowledge into a small, fast student (named entities
or text classes)."""

__version__ = "0.1.0"
