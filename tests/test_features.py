import numpy as np

from boilerdetect.features import (
    HTML_FEATURE_NAMES,
    HTML_FEATURES,
    TEXT_FEATURE_NAMES,
    feature_names,
    featurize,
)
from boilerdetect.html import segment_html
from boilerdetect.readers import text_page

from conftest import make_article, make_text_article


def col(X, name, source="text"):
    return X[:, feature_names(source).index(name)]


def test_shapes_names_and_docs():
    page = text_page(make_text_article(1)[0], url="https://example.org/news/a-story")
    X = featurize(page)
    assert X.shape == (len(page.lines), len(TEXT_FEATURE_NAMES)) and X.dtype == np.float32
    assert np.isfinite(X[:, :-2]).all() and np.isnan(X[:, -2:]).all()  # site features need a profile
    hp = segment_html(make_article(1)[0], url="https://example.org/news/a-story")
    XH = featurize(hp)
    assert XH.shape == (len(hp.lines), len(HTML_FEATURE_NAMES)) and np.isfinite(XH[:, :-2]).all()
    assert len(set(HTML_FEATURE_NAMES)) == len(HTML_FEATURE_NAMES)
    assert all(doc.strip() for doc in HTML_FEATURES.values())


def test_empty_page():
    assert featurize(text_page("")).shape == (0, len(TEXT_FEATURE_NAMES))


def test_line_facts():
    X = featurize(text_page("Hello world.\nMENU\n© 2024 All rights reserved\nPosted 3 hours ago\n- item one"))
    assert col(X, "ends_terminal").tolist() == [1, 0, 0, 0, 0]
    assert col(X, "upper_ratio")[1] == 1.0
    assert col(X, "boiler_words")[2] == 1 and col(X, "boiler_words")[0] == 0
    assert col(X, "date_like")[3] == 1
    assert col(X, "starts_bullet")[4] == 1
    assert np.allclose(col(X, "log_words"), np.log1p([2, 1, 4, 4, 2]))


def test_repetition_and_position():
    X = featurize(text_page("a b\nsame line\nsame line\nc d\nsame line"))
    assert np.allclose(col(X, "dup_count"), np.log([1, 3, 3, 1, 3]))
    assert col(X, "adjacent_dup").tolist() == [0, 1, 1, 0, 0]
    assert col(X, "later_copy").tolist() == [0, 0, 1, 0, 1]
    assert np.allclose(col(X, "rel_pos"), np.arange(5) / 5)
    assert col(X, "log_from_end")[-1] == 0


def test_context_windows_average_neighbours():
    X = featurize(text_page("One.\nTwo\nThree.\nFour\nFive."))
    term = col(X, "ends_terminal")
    assert np.allclose(col(X, "ends_terminal_w1"), [0.5, 2 / 3, 1 / 3, 2 / 3, 0.5])
    assert np.allclose(col(X, "prev_ends_terminal")[1:], term[:-1])


def test_markup_features():
    page = segment_html(
        '<nav class="menu"><a href="/">Home</a></nav><div class="article-content"><h2>Title here</h2>'
        "<p>Plain paragraph without any links at all.</p></div><footer>© Co</footer>"
    )
    X = featurize(page)
    assert col(X, "link_density", "html").tolist() == [1, 0, 0, 0]
    assert col(X, "attr_nav", "html")[0] == 1 and col(X, "attr_content", "html")[2] == 1
    assert col(X, "in_footer", "html").tolist() == [0, 0, 0, 1]
    assert col(X, "tag_h2_h3", "html")[1] == 1 and col(X, "tag_p", "html")[2] == 1


def test_line_words_reads_the_word_count_of_either_kind_of_page():
    from boilerdetect.features import line_words

    html = segment_html("<html><body><p>One two three four.</p><div>Five, six</div><p>—</p></body></html>")
    text = text_page("One two three four.\nFive, six\n—")
    for page in (html, text):
        np.testing.assert_allclose(line_words(featurize(page)), [4, 2, 0], atol=1e-5)


def test_url_features_tell_the_kind_of_page_from_its_url():
    lines = "Some text here\nMore text"
    forum = featurize(text_page(lines, url="https://forums.example.com/t/why-does-my-build-fail-on-arm/144854?page=2"))
    assert (col(forum, "url_forum") == 1).all() and (col(forum, "url_product") == 0).all()
    assert np.allclose(col(forum, "url_depth"), np.log1p(3))
    assert np.allclose(col(forum, "url_slug_words"), np.log1p(7))  # why does my build fail on arm
    assert (col(forum, "url_number") == 1).all() and (col(forum, "url_query") == 1).all()
    product = featurize(text_page(lines, url="https://shop.example.com/products/blue-mug"))
    assert col(product, "url_product")[0] == 1 and col(product, "url_forum")[0] == 0
    assert col(product, "url_number")[0] == 0 and col(product, "url_query")[0] == 0
    home = featurize(text_page(lines, url="https://example.com"))
    assert col(home, "url_depth")[0] == 0 and col(home, "url_slug_words")[0] == 0
    # no URL, or one that does not parse: unknown, not "none of these"
    for url in (None, "http://[::1"):
        X = featurize(text_page(lines, url=url))
        assert np.isnan(col(X, "url_forum")).all() and np.isnan(col(X, "url_depth")).all()
        assert np.isfinite(col(X, "log_words")).all()
    # from HTML the markup says more: no URL columns there (docs/accuracy.md, Round 9)
    assert not any(name.startswith("url_") for name in HTML_FEATURE_NAMES)


def test_training_hides_the_url_of_half_of_the_text_pages():
    from boilerdetect.features import URL_FEATURES
    from boilerdetect.train import with_hidden_urls

    from conftest import site_examples

    examples = site_examples(seeds=[1, 2, 3], pages=8)
    features = [featurize(e.page) for e in examples]
    hidden = with_hidden_urls(examples, features)
    url_cols = [i for i, name in enumerate(TEXT_FEATURE_NAMES) if name in URL_FEATURES]
    text = [(X, H) for e, X, H in zip(examples, features, hidden) if e.page.source == "text"]
    blanked = [np.isnan(H[:, url_cols]).all() for _, H in text]
    assert 0 < sum(blanked) < len(text)  # some of each, chosen by page id: the same pages every time
    assert blanked == [np.isnan(H[:, url_cols]).all() for e, H in zip(examples, with_hidden_urls(examples, features)) if e.page.source == "text"]
    other = [i for i in range(len(TEXT_FEATURE_NAMES)) if i not in url_cols]
    for X, H in text:
        np.testing.assert_array_equal(X[:, other], H[:, other])  # only the URL columns change
        assert np.isfinite(X[:, url_cols]).all()  # the inputs are not modified
    for e, X, H in zip(examples, features, hidden):
        if e.page.source == "html":
            assert H is X  # HTML pages have no URL columns
    full = with_hidden_urls(examples, features, share=1.0)
    assert all(np.isfinite(H[:, url_cols]).all() for e, H in zip(examples, full) if e.page.source == "text")


def test_hashed_words_count_lower_cased_words_and_pairs_in_unit_rows():
    from boilerdetect.features import hashed_words

    X = hashed_words(["Read more", "read MORE", "more read", "", "Read"], bits=20)
    assert X.shape == (5, 2**20)
    assert (X[0] != X[1]).nnz == 0  # case does not matter
    assert X[0].nnz == 3 and X[2].nnz == 3  # two words and their pair
    assert (X[0] != X[2]).nnz == 2  # same words, the pair in the other order
    assert X[3].nnz == 0 and X[4].nnz == 1  # no words: an empty row
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    assert np.allclose(norms, [1, 1, 1, 0, 1])
    twice = hashed_words(["news news"], bits=20)  # a word twice and the pair: counts 2 and 1
    assert sorted(np.round(twice.data**2 * 5, 6)) == [1, 4]
