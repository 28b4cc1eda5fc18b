"""Shared fixtures: small hand-made pages and a tiny detector trained on them in a second."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from boilerdetect.datasets import Example
from boilerdetect.document import own_process
from boilerdetect.html import segment_html
from boilerdetect.model import DEFAULT_MODEL
from boilerdetect.readers import text_page
from boilerdetect.train import fit_detector

@pytest.fixture(autouse=True)
def _process_not_owned():
    # the command line says it owns its process (document.own_process); a CliRunner test runs the
    # command line in this process, so that is undone after every test
    yield
    own_process(False)


@pytest.fixture
def owned_process():
    """The test process as the command line runs it: the collector pauses whatever threads run
    (earlier tests may leave worker pools' threads behind)."""
    own_process()


SHARED = Path(__file__).resolve().parents[2] / "shared"
WCXB = SHARED / "datasets" / "wcxb-dev"

MENU = ["Home", "World", "Business", "Technology", "Sport", "Contact us"]
FOOTER = ["© 2026 Example Media. All rights reserved.", "Privacy policy", "Cookie settings"]
SENTENCES = [
    "The council approved the new budget after a long debate on Tuesday evening.",
    "Residents said the changes to the bus routes would make their commutes shorter.",
    "Officials expect the bridge repairs to finish before the winter storms arrive.",
    "The museum will open a new wing dedicated to local artists next spring.",
    "Farmers reported a better harvest than last year thanks to the mild weather.",
    "Teachers welcomed the decision to hire more staff for the coming school year.",
    "The company plans to build a second factory near the river by the end of the decade.",
    "Volunteers cleaned the beach and collected more than two tonnes of plastic waste.",
]
HEADLINES = [
    "Storm leaves thousands without power across the coast",
    "Local team wins the regional championship in extra time",
    "New rail line promises faster trips between the two cities",
    "Scientists find rare frogs in the mountain forest survey",
    "City library extends opening hours during exam season",
]


def make_article(seed: int) -> tuple[str, str, list[str]]:
    """A news-like HTML page, its gold main text, and the related headlines it lists."""
    rnd = random.Random(seed)
    paragraphs = [" ".join(rnd.sample(SENTENCES, 3)) for _ in range(rnd.randint(3, 6))]
    title = f"Report number {seed} on the town's week"
    related = rnd.sample(HEADLINES, 4)
    html = (
        "<html><head><title>%s</title></head><body>"
        '<nav class="main-nav"><ul>%s</ul></nav>'
        '<article class="post"><h1>%s</h1><p class="byline">By Staff, 3 hours ago</p>%s</article>'
        '<aside class="related"><h3>Latest articles</h3><ul>%s</ul></aside>'
        '<footer class="site-footer">%s</footer></body></html>'
    ) % (
        title,
        "".join(f'<li><a href="/{m.lower()}">{m}</a></li>' for m in MENU),
        title,
        "".join(f"<p>{p}</p>" for p in paragraphs),
        "".join(f'<li><a href="/news/{i}">{h}</a></li>' for i, h in enumerate(related)),
        "".join(f"<p>{f}</p>" for f in FOOTER),
    )
    gold = "\n".join([title] + paragraphs)
    return html, gold, related


def make_text_article(seed: int) -> tuple[str, list[str]]:
    """A crawled-text page: menu, article, a duplicated 'Latest articles' list, footer; and its labels."""
    rnd = random.Random(seed)
    lines, labels = [], []
    for m in MENU:
        lines.append(m), labels.append("boilerplate")
    lines.append(f"Report number {seed} on the town's week"), labels.append("content")
    for _ in range(rnd.randint(3, 6)):
        lines.append(" ".join(rnd.sample(SENTENCES, 3))), labels.append("content")
    lines.append("Latest articles"), labels.append("related")
    for h in rnd.sample(HEADLINES, 4):
        lines += [h, h]
        labels += ["related", "related"]
    for f in FOOTER:
        lines.append(f), labels.append("boilerplate")
    return "\n\n".join(lines), labels


def synthetic_examples(n: int = 24) -> list[Example]:
    from boilerdetect.align import align

    examples = []
    for seed in range(n):
        html, gold, _ = make_article(seed)
        page = segment_html(html, url=f"https://site{seed % 6}.example/a/{seed}")
        examples.append(Example(page, align(page, gold), gold, f"site{seed % 6}"))
        text, labels = make_text_article(seed)
        examples.append(Example(text_page(text), labels, None, f"site{seed % 6}"))
    return examples


@pytest.fixture(scope="session")
def tiny_detector():
    """A detector fitted on synthetic pages (fast; for behaviour tests that need a model)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):  # OpenMP threads crawl on a loaded machine
        return fit_detector(synthetic_examples(), {"max_iter": 30, "cv": 3})


@pytest.fixture(scope="session")
def shipped_detector():
    from boilerdetect import Detector

    if not DEFAULT_MODEL.is_file():
        pytest.skip("shipped model not built")
    return Detector.load()


@pytest.fixture
def wcxb():
    if not (WCXB / "html").is_dir():
        pytest.skip("../shared/datasets/wcxb-dev is not available")
    return WCXB


def site_examples(seeds=range(6), pages: int = 8) -> list[Example]:
    """Labelled HTML and plain-text pages of synthetic template sites (tests/sitegen.py)."""
    from sitegen import Site

    examples = []
    for seed in seeds:
        site = Site(seed)
        for p in range(pages):
            html, labels = site.html(p)
            examples.append(Example(segment_html(html, url=site.url(p), id=f"{seed}-{p}"), labels, None, site.host))
            text, labels = site.text(p)
            examples.append(Example(text_page(text, url=site.url(p), id=f"{seed}-{p}"), labels, None, site.host))
    return examples


@pytest.fixture(scope="session")
def site_detector():
    """A detector fitted on synthetic template sites, half of the pages with their site profile."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return fit_detector(site_examples(), {"max_iter": 40, "stacking": False})


@pytest.fixture(params=["compiled", "numpy"])
def tree_walk(request, monkeypatch):
    """Each test using it runs with the compiled tree walk and binning (skipped where they are
    not built) and with numpy's, which prediction falls back to."""
    from boilerdetect import trees

    if request.param == "numpy":
        monkeypatch.setattr(trees, "_treewalk", None)
    elif trees._treewalk is None:
        pytest.skip("the compiled tree walk (boilerdetect/_treewalk.c) is not built here")
    return request.param
