"""Deterministic language identification with a confidence (py3langid's naive Bayes)."""

from __future__ import annotations

from py3langid import langid

# Enough text for a stable answer; classifying a whole long article only costs time.
_SAMPLE_CHARS = 2000


class LanguageDetector:
    """Loads the language model once; `detect` is then cheap and deterministic."""

    def __init__(self) -> None:
        self._identifier = langid.LanguageIdentifier.from_model_file(
            langid.MODEL_FILE, norm_probs=True
        )

    def detect(self, text: str) -> tuple[str | None, float | None]:
        """ISO 639-1 code and probability of `text`'s language; (None, None) for no text."""
        sample = text[:_SAMPLE_CHARS].strip()
        if not sample:
            return None, None
        code, probability = self._identifier.classify(sample)
        return str(code), round(float(probability), 4)
