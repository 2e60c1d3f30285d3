"""nerkd: distil a large language model's named-entity knowledge into a small, fast student."""

__version__ = "0.1.0"
