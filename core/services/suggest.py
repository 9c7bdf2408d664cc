"""Suggest catalogue sub-categories for what a resident wrote, from keywords and words shared with the name."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Category

# Keywords found in the text score the characters they cover, each character once, so "灯不亮" outweighs "路灯"
# and "路灯" + "灯不亮" on "路灯不亮" scores 4. Each further two-character piece the text shares with the
# category's name scores BIGRAM_WEIGHT: a weaker hint, for when residents use the catalogue's own words.
BIGRAM_WEIGHT = 1.0
# Below this nothing is suggested: a single two-character keyword is enough, one shared bigram is not.
MIN_SCORE = 2.0


def _normalize(text: str) -> str:
    """Full-width letters and digits folded to half-width, lower case, so "ＫＴＶ" matches "ktv"."""
    return unicodedata.normalize("NFKC", text).lower()


def _bigrams(text: str) -> frozenset[str]:
    """Pairs of neighbouring letters (Chinese characters count); punctuation, spaces and digits split them."""
    return frozenset(text[i : i + 2] for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha())


@lru_cache(maxsize=4096)
def _terms(name: str, keywords: str | None) -> tuple[tuple[tuple[str, frozenset[str]], ...], frozenset[str]]:
    """A category's keywords (each with its bigrams) and its name's bigrams, normalized; cached."""
    words = dict.fromkeys(_normalize(keywords or "").split())
    return tuple((word, _bigrams(word)) for word in words), _bigrams(_normalize(name))


def score(text: str, name: str, keywords: str | None) -> float:
    """How well a text matches a category with this name and these space-separated keywords; 0 for no match."""
    normalized = _normalize(text)
    return _score(normalized, _bigrams(normalized), name, keywords)


def _score(text: str, text_bigrams: frozenset[str], name: str, keywords: str | None) -> float:
    words, name_bigrams = _terms(name, keywords)
    shared = name_bigrams & text_bigrams
    covered: set[int] = set()
    for word, word_bigrams in words:
        start = text.find(word)
        if start >= 0:
            covered.update(range(start, start + len(word)))
            # A bigram already inside a keyword hit is not counted a second time.
            shared = shared - word_bigrams
    return len(covered) + BIGRAM_WEIGHT * len(shared)


class Suggestion(NamedTuple):
    """A sub-category offered to the resident: what the chat shows and stores of it."""

    code: str
    name: str
    keywords: str | None
    sort_order: int


def suggest_categories(session: Session, text: str, limit: int = 3) -> list[Suggestion]:
    """The sub-categories that best match the text, best first, at most `limit`; empty when none matches well.

    Ties go to the earlier category in the catalogue, so the order is stable.
    """
    if limit < 1:
        return []
    normalized = _normalize(text)
    if not normalized.strip():
        return []
    text_bigrams = _bigrams(normalized)
    # One query for all ~120 sub-categories, as plain rows: this runs for every description a
    # resident sends, and building ORM objects for them cost more than the query and the scoring.
    subs = session.execute(
        select(Category.code, Category.name, Category.keywords, Category.sort_order).where(
            Category.parent_id.is_not(None)
        )
    ).all()
    ranked: list[tuple[float, int, str, Suggestion]] = []
    for row in subs:
        suggestion = Suggestion(*row)
        points = _score(normalized, text_bigrams, suggestion.name, suggestion.keywords)
        if points >= MIN_SCORE:
            ranked.append((-points, suggestion.sort_order, suggestion.code, suggestion))
    ranked.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in ranked[:limit]]
