"""aggregator: archive every article of every feed as clean, deduplicated, searchable text."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
