"""Synthetic news sites: many pages sharing a template, each with its own article.

Every site has a header menu, a breadcrumb, a byline with a date, share buttons, a comment
counter, a "most read" rail of headlines from the site's pool, a newsletter box, an "about us"
footer, and a standing note inside the article written like the article itself (only its
recurrence on every page gives it away); class names are hashed as CSS-module sites emit them,
so markup gives little away. Articles are unique
sentences drawn from a seeded grammar. Pages come as HTML or as crawled plain text, with the
exact label of every line.
"""

from __future__ import annotations

import html as htmllib
import random
from dataclasses import dataclass

ADJ = "new local regional small national old green busy quiet rural coastal historic modern".split()
NOUN = ("council school bridge market library harbour museum clinic station festival factory "
        "orchestra university stadium garden hospital bakery theatre").split()  # fmt: skip
VERB = "approved opened closed rebuilt funded expanded delayed reviewed celebrated inspected".split()
PLACE = ["north district", "old town", "riverside", "harbour area", "city centre", "eastern suburbs", "valley"]
WHO = ["residents", "officials", "teachers", "farmers", "volunteers", "engineers", "nurses", "shop owners"]
SAID = ["said", "expected", "argued", "hoped", "warned", "agreed"]
WEEKDAY = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
NAMES = "Ana Ben Chloe Dmitri Eva Farid Grace Hugo Ines Jonas Kemi Lars Mei Noor Omar".split()
SECTIONS = "News Politics Business Culture Sport Science Travel Opinion".split()


def _sentence(rnd: random.Random) -> str:
    forms = (
        "The {a} {n} {v} a plan for the {p} on {d}, after {k} weeks of talks.",
        "{W} {s} the {n} would change how people in the {p} live and work.",
        "According to the {a} {n}, more than {k} hundred people took part this year.",
        "A spokesperson for the {n} {v} the figures and promised a report by {d}.",
        "Critics of the {a} {n} said the {p} had waited {k} years for a decision.",
    )
    text = rnd.choice(forms).format(
        a=rnd.choice(ADJ), n=rnd.choice(NOUN), v=rnd.choice(VERB), p=rnd.choice(PLACE),
        d=rnd.choice(WEEKDAY), k=rnd.randint(2, 40), W=rnd.choice(WHO).capitalize(), s=rnd.choice(SAID),
    )  # fmt: skip
    return text[0].upper() + text[1:]


def _headline(rnd: random.Random) -> str:
    return f"{rnd.choice(ADJ).capitalize()} {rnd.choice(NOUN)} {rnd.choice(VERB)} in the {rnd.choice(PLACE)}"


@dataclass
class Block:
    """A run of lines rendered as one element: ``kind`` picks the markup, ``label`` applies to every line."""

    kind: str  # menu, crumb, title, meta, para, sub, note, share, rail, box, foot
    lines: list[str]
    label: str


class Site:
    """One synthetic site (its template and headline pool come from ``seed``)."""

    def __init__(self, seed: int):
        rnd = random.Random(seed)
        self.seed = seed
        self.name = f"The {rnd.choice(ADJ).capitalize()} {rnd.choice(PLACE).split()[0].capitalize()} Gazette {seed}"
        self.host = f"gazette{seed}.example"
        self.menu = rnd.sample(SECTIONS, 6) + ["Subscribe", "Sign in"]
        self.headlines = [_headline(rnd) for _ in range(30)]
        self.rail_title = rnd.choice(["Most read", "Popular now", "Trending this week"])
        self.newsletter = (f"Sign up for the morning briefing from {self.name} and get the stories that matter "
                           "in your inbox before breakfast, every weekday.")  # fmt: skip
        self.about = (f"{self.name} is an independent newsroom that has covered the {rnd.choice(PLACE)} "
                      f"since {rnd.randint(1950, 2010)}, funded by readers and local businesses.")  # fmt: skip
        self.note = " ".join(_sentence(rnd) for _ in range(2))
        self.classes = {k: f"css-{rnd.getrandbits(24):06x}" for k in ("menu", "crumb", "title", "meta", "para", "sub",
                                                                       "share", "rail", "box", "foot", "wrap", "note")}  # fmt: skip

    def blocks(self, page: int) -> list[Block]:
        """The blocks of page ``page`` in reading order."""
        rnd = random.Random(self.seed * 100_003 + page)
        section = rnd.choice(self.menu[:6])
        paragraphs = [" ".join(_sentence(rnd) for _ in range(rnd.randint(2, 4))) for _ in range(rnd.randint(3, 7))]
        body: list[Block] = []
        note_at = rnd.randrange(len(paragraphs) + 1)
        for i, para in enumerate(paragraphs):
            if i == note_at:
                body.append(Block("note", [self.note], "boilerplate"))
            if i == 2:
                body.append(Block("sub", [f"What the {rnd.choice(NOUN)} plans next"], "content"))
            body.append(Block("para", [para], "content"))
        if note_at == len(paragraphs):
            body.append(Block("note", [self.note], "boilerplate"))
        month = rnd.choice("January February March April May June July September October".split())
        return [
            Block("menu", [self.name] + self.menu, "boilerplate"),
            Block("crumb", [f"Home › {section}"], "boilerplate"),
            Block("title", [_headline(rnd)], "content"),
            Block("meta", [f"By {rnd.choice(NAMES)} {rnd.choice(NAMES)}", f"{rnd.randint(1, 28)} {month} 2025, {rnd.randint(7, 22)}:{rnd.randint(0, 59):02d}"], "boilerplate"),
            Block("share", ["Share on Facebook", "Share on X", "Copy link"], "boilerplate"),
            *body,
            Block("meta", [f"{rnd.randint(0, 250)} comments"], "boilerplate"),
            Block("rail", [self.rail_title] + rnd.sample(self.headlines, 5), "related"),
            Block("box", ["Newsletter", self.newsletter], "boilerplate"),
            Block("foot", [self.about, f"© 2025 {self.name}", "Privacy", "Terms of use", "Contact"], "boilerplate"),
        ]  # fmt: skip

    def url(self, page: int) -> str:
        return f"https://{self.host}/story/{page}"

    def text(self, page: int) -> tuple[str, list[str]]:
        """The page as crawled plain text, and the label of each line."""
        blocks = self.blocks(page)
        return "\n".join(t for b in blocks for t in b.lines), [b.label for b in blocks for _ in b.lines]

    def html(self, page: int) -> tuple[str, list[str]]:
        """The page as HTML (div soup with hashed class names), and the label of each rendered line."""
        out, labels = [], []
        for b in self.blocks(page):
            cls = self.classes["para" if b.kind == "note" else b.kind]  # the note is marked up as a paragraph
            esc = [htmllib.escape(t) for t in b.lines]
            if b.kind in ("menu", "share", "rail", "foot") and len(esc) > 1:
                head = f"<div>{esc[0]}</div>" if b.kind == "rail" else ""
                items = esc[1:] if b.kind == "rail" else esc
                links = "".join(f'<div><a href="/{i}">{t}</a></div>' for i, t in enumerate(items))
                out.append(f'<div class="{cls}">{head}{links}</div>')
            elif b.kind == "title":
                out.append(f'<h1 class="{cls}">{esc[0]}</h1>')
            else:
                out.append(f'<div class="{cls}">' + "".join(f"<p>{t}</p>" for t in esc) + "</div>")
            labels += [b.label] * len(b.lines)
        title = htmllib.escape(self.blocks(page)[2].lines[0])
        doc = f'<html><head><title>{title}</title></head><body><div class="{self.classes["wrap"]}">{"".join(out)}</div></body></html>'
        return doc, labels
