from boilerdetect.align import align, content_mask, words
from boilerdetect.html import segment_html

from conftest import make_article


def test_words_are_lowercase_unicode_tokens():
    assert words("Hello, Wörld! 42 ok_go") == ["hello", "wörld", "42", "ok_go"]


def test_short_line_is_content_only_in_its_gold_position():
    lines = ["Menu", "Ingredients", "Two eggs and a cup of flour.", "Share", "Ingredients"]
    gold = "Ingredients\nTwo eggs and a cup of flour."
    assert content_mask(lines, gold).tolist() == [False, True, True, False, False]


def test_repeated_line_is_content_once():
    para = "A long paragraph of article text that appears twice in the page markup."
    assert content_mask([para, "menu", para], para).tolist() == [True, False, False]


def test_empty_gold_labels_nothing_content():
    assert not content_mask(["a b c", "d e f"], "").any()


def test_article_page_gets_all_three_labels():
    html, gold, related = make_article(3)
    page = segment_html(html)
    labels = dict(zip(page.texts, align(page, gold)))
    assert labels["Report number 3 on the town's week"] == "content"
    assert all(labels[h] == "related" for h in related)
    assert labels["Latest articles"] == "related"
    assert labels["Home"] == "boilerplate" and labels["Privacy policy"] == "boilerplate"
    for para in gold.split("\n")[1:]:
        assert labels[para] == "content"


def test_an_evaluated_text_twin_is_the_converters_text_whatever_the_labels():
    # in training, half of the text twins repeat the lines labelled related, as crawled text
    # repeats teaser headlines (image alt text + link text); the text a model is scored on must
    # owe nothing to the labels it is scored against, nor to the page's id
    import zlib

    from boilerdetect.datasets import examples_from_page, html_to_text

    html, gold, related = make_article(2)
    record = next({"id": f"p{i}", "url": "https://news.example/a", "html": html} for i in range(10) if zlib.crc32(f"p{i}".encode()) % 2)
    _, trained = examples_from_page(record, gold)
    assert all(sum(t.endswith(h) for t in trained.page.texts) == 2 for h in related)  # each headline twice (a list item: "* ...")
    converted = [" ".join(t.split()) for t in html_to_text(html).splitlines() if t.strip()]
    for labels in (None, ["content"] * len(trained.labels)):
        page, evaluated = examples_from_page(record, gold, labels=labels if labels is None else labels[: len(segment_html(html).lines)], evaluating=True)
        assert evaluated.page.texts == converted
