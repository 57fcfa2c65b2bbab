"""What the extraction pool's fork server loads once, before it forks any worker.

A multiprocessing fork server can only import modules ahead of forking, so this module
does its work when imported: every worker forked afterwards inherits the result, shared
copy-on-write, instead of spending the time and memory itself.
- The language model (half a second and some 70 MB).
- dateparser's locale tables. htmldate's text search hands dateparser the date-like
  phrases it cannot read itself, and dateparser loads and compiles a locale's patterns
  the first time it tries that locale: a phrase that is a date in no language loads
  all of them, nearly two seconds of one core that each worker would otherwise spend
  on its first such page (dateparser tries locales in a fixed order, so what is loaded
  beforehand never changes a result).
What the server has loaded by then is moved out of the garbage collector's sight
(`gc.freeze`), so the workers' collections do not write to, and so copy, those pages.

Only `pipelines.extraction.pool` names this module (as a fork-server preload); importing
it anywhere else would load the model for nothing.
"""

from __future__ import annotations

import gc

from htmldate.extractors import get_external_parser

from pipelines.extraction.language import LanguageDetector

LANGUAGE_DETECTOR = LanguageDetector()

# Digits and letters that read as a date in no locale: every locale is tried, so loaded.
get_external_parser().get_date_data("zzkq 12 2021 wxv")

gc.freeze()
