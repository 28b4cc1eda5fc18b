import pytest

import boilerdetect.html as H
from boilerdetect.html import segment_html


@pytest.fixture(autouse=True, params=["compiled", "python"])
def walk(request, monkeypatch):
    """Every test here runs with the compiled walk (skipped where it is not built) and the Python one."""
    if request.param == "python":
        monkeypatch.setattr(H, "_htmlwalk", None)
    elif H._htmlwalk is None:
        pytest.skip("the compiled walk (boilerdetect/_htmlwalk.c) is not built here")
    return request.param


def test_blocks_become_lines_and_inline_text_joins():
    page = segment_html("<div><p>Hello <b>bold</b> world</p><p>Second<br>line</p><ul><li>One</li><li>Two</li></ul></div>")
    assert page.texts == ["Hello bold world", "Second", "line", "One", "Two"]
    assert page.source == "html"
    assert [l.tag for l in page.lines] == ["p", "p", "p", "li", "li"]


def test_link_facts_and_ancestor_tokens():
    page = segment_html(
        '<nav class="site-nav"><a href="/a">Alpha</a> <a href="/b">Beta</a></nav>'
        '<p>Read <a href="https://x.example/y">this story</a> now.</p>'
    )
    nav, para = page.lines
    assert nav.link_chars == len("Alpha") + len("Beta")
    assert nav.links == (("Alpha", "/a"), ("Beta", "/b"))
    assert "nav" in nav.ancestor_tags and {"site", "nav"} <= nav.attr_tokens
    assert para.link_chars == len("this story") and para.n_links == 1


def test_scripts_skipped_noscript_and_hidden_kept():
    page = segment_html(
        "<head><title>T</title><script>var x=1;</script></head><body>"
        "<noscript><p>Forum post for crawlers</p></noscript>"
        "<div hidden><p>Streamed article</p></div><style>p{}</style></body>"
    )
    assert page.texts == ["Forum post for crawlers", "Streamed article"]
    assert page.lines[1].hidden and not page.lines[0].hidden
    assert "noscript" in page.lines[0].ancestor_tags
    assert page.meta["title"] == "T"


def test_json_ld_article_body_is_read():
    body = "This is the article body as given in the structured data of the page, long enough to count."
    page = segment_html(f'<script type="application/ld+json">{{"@type": "NewsArticle", "articleBody": "{body}"}}</script><p>x</p>')
    assert page.meta["article_body"] == body


def test_deep_nesting_does_not_recurse():
    depth = 5000
    page = segment_html("<div>" * depth + "<p>deep text</p>" + "</div>" * depth)
    assert page.texts == ["deep text"]


def test_empty_and_malformed_html():
    assert segment_html("").lines == []
    page = segment_html("<p>unclosed <b>bold <i>italic<p>next")
    assert page.texts == ["unclosed bold italic", "next"]


def test_page_meta_title_og_title_base():
    page = segment_html(
        '<html><head><title>  The   title </title><meta property="og:title" content=" Og  title ">'
        '<base><base href="  ">  <base href=" /root/ "></head><body><p>x</p><svg><title>not it</title></svg></body></html>'
    )
    assert page.meta == {"title": "The title", "og_title": "Og title", "base": "/root/"}
    # only the first og:title counts, and a script's type is compared without case
    page = segment_html(
        '<meta property="og:title"><meta property="og:title" content="second">'
        '<script type="Application/LD+JSON">{"articleBody": "%s"}</script>' % ("word " * 20)
    )
    assert "og_title" not in page.meta and page.meta["article_body"] == ("word " * 20)


def test_ancestors_beyond_the_window_and_truncation():
    deep = "".join(f'<div class="c{chr(97 + i % 26)}">' for i in range(80))
    page = segment_html(f"{deep}<p>deep</p><p>second</p><p>third</p>", max_lines=2)
    line = page.lines[0]
    assert len(line.ancestors) == H.MAX_ANCESTORS and line.ancestors[-1] == 83  # html, head, body, 80 divs
    assert page.texts == ["deep", "second"] and page.truncated == {"kept_lines": 2}


def test_a_compiled_walk_that_segments_otherwise_is_not_used(monkeypatch):
    real = H._htmlwalk

    class Drifted:  # as if lexbor's functions had changed meaning: one line's text comes out wrong
        @staticmethod
        def segment(*args):
            lines, meta = real.segment(*args) if real else ([], (None, None, [], []))
            return [*lines[:-1], H.Line("garbled")], meta

    monkeypatch.setattr(H, "_htmlwalk", Drifted)
    assert not H._compiled_walk_agrees()

    class Failing:  # as if a function now reported an error: the check fails, it does not raise
        @staticmethod
        def segment(*args):
            raise ValueError("lexbor cannot parse this HTML")

    monkeypatch.setattr(H, "_htmlwalk", Failing)
    assert not H._compiled_walk_agrees()
    if real is not None:
        monkeypatch.setattr(H, "_htmlwalk", real)
        assert H._compiled_walk_agrees()
