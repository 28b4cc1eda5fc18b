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
    assert scores["boilerplate"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1, "predicted": 2}
    assert scores["related"]["recall"] == 0.0 and scores["related"]["f1"] == 0.0


def test_report_says_n_a_for_a_label_neither_in_the_data_nor_predicted():
    from boilerdetect.evaluate import format_report, summarize

    rows = [{"f1": 0.5, "page_type": "article", "true": ["content", "boilerplate"], "pred": ["content", "content"]}]
    table = format_report("text", summarize(rows))
    assert "related      n/a    n/a    n/a    0" in table
    assert "content      0.500  1.000  0.667  1" in table and "boilerplate  0.000  0.000  0.000  1" in table
    # a label the data lacks but the model gave: its precision is 0, not undefined
    rows = [{"f1": 0.5, "page_type": "article", "true": ["content", "boilerplate"], "pred": ["content", "related"]}]
    assert "related      0.000  0.000  0.000  0" in format_report("text", summarize(rows))
