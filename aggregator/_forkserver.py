"""Imported last by the worker pool's fork server, after the modules workers need: moves every
object made so far out of the garbage collector's sight (``gc.freeze``), so that a collection in
a forked worker does not write to, and so copy, the memory it shares with its siblings."""

import gc

gc.freeze()
