"""What the extraction pool's fork server loads once, before it forks any worker.

A multiprocessing fork server can only import modules ahead of forking, so this module
loads the language model when imported: every worker forked afterwards inherits it,
shared copy-on-write, instead of spending half a second and some 70 MB loading its own.
What the server has loaded by then is moved out of the garbage collector's sight
(`gc.freeze`), so the workers' collections do not write to, and so copy, those pages.

Only `pipelines.extraction.pool` names this module (as a fork-server preload); importing
it anywhere else would load the model for nothing.
"""

from __future__ import annotations

import gc

from pipelines.extraction.language import LanguageDetector

LANGUAGE_DETECTOR = LanguageDetector()

gc.freeze()
