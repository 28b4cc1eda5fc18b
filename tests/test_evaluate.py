"""The metrics the accuracy figures are made of."""

import pytest

from boilerdetect.evaluate import line_scores, word_f1


def test_word_f1_counts_lower_cased_words_as_multisets():
    assert word_f1("The cat, the CAT.", "the cat the cat") == 1.0
    # kept 4 words of which 2 are gold; gold has 2 words, both kept: P 0.5, R 1.0
    assert word_f1("a cat sat down", "a cat") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert word_f1("the the the", "the") == pytest.approx(2 * (1 / 3) * 1.0 / (1 / 3 + 1.0))


def test_a_page_without_gold_words_scores_zero_whatever_is_kept():
    # WCXB's convention for pages without main content: keeping nothing earns nothing either
    assert word_f1("", "") == 0.0
    assert word_f1("Menu Home", " ... ") == 0.0
    assert word_f1("", "some gold text") == 0.0


def test_line_scores_per_label():
    scores = line_scores(["content", "content", "boilerplate", "related"], ["content", "boilerplate", "boilerplate", "content"])
    assert scores["content"]["precision"] == 0.5 and scores["content"]["recall"] == 0.5
    assert scores["boilerplate"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert scores["related"]["recall"] == 0.0 and scores["related"]["f1"] == 0.0
