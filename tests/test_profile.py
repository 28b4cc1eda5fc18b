"""Site profiles: normalisation, counting, persistence, the site features, and their use in predict."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from boilerdetect.cli import app
from boilerdetect.features import PROFILE_FEATURES, featurize, profile_features
from boilerdetect.html import segment_html
from boilerdetect.profile import SiteProfile, host_of, line_hash, normalise_line
from boilerdetect.readers import text_page
from boilerdetect.train import with_site_profiles

from conftest import site_examples
from sitegen import Site

runner = CliRunner()


def page(lines, url="https://www.site.example/a"):
    return text_page("\n".join(lines), url=url)


def test_normalise_line():
    assert normalise_line("3 comments") == normalise_line("12 comments") == "0 comments"
    assert normalise_line("  Posted  ON 10 Sep 2016, 14:05 ") == normalise_line("posted on 2 March 2017, 9:30")
    assert normalise_line("Sep 10, 2016") == normalise_line("Oct 2, 2017")
    assert normalise_line("1,234 views") == normalise_line("7 views")
    assert normalise_line("Read more") != normalise_line("Read less")
    assert line_hash("3 Comments") == line_hash("12 comments") != line_hash("12 replies")


def test_line_hash_is_stable_across_processes():
    code = "from boilerdetect.profile import line_hash; print(line_hash('Share on Facebook'))"
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(out.stdout) == line_hash("Share on Facebook")
    assert 0 <= line_hash("x") < 2**64


def test_host_of():
    assert host_of("https://WWW.Example.com:8080/a?b") == "example.com"
    assert host_of(None) == host_of("not a url") == ""


def test_build_counts_each_line_once_per_page_and_merges():
    a = page(["Menu", "Menu", "Story one is here.", "3 comments"])
    b = page(["Menu", "Story two is here.", "12 comments"])
    c = page(["Menu", "Elsewhere"], url="https://other.example/x")
    prof = SiteProfile.from_pages([a, b, c])
    stats = prof.hosts["site.example"]
    assert stats.pages == 2 and prof.hosts["other.example"].pages == 1
    assert stats.lines[line_hash("Menu")] == 2 and stats.lines[line_hash("5 comments")] == 2
    assert stats.lines[line_hash("Story one is here.")] == 1
    merged = prof.merge(SiteProfile.from_pages([page(["Menu", "New"], url=None)]))
    assert merged.hosts["site.example"].pages == 2 and merged.hosts[""].pages == 1 and len(merged) == 4
    assert len(prof) == 3  # merge leaves its inputs alone
    both = prof.merge(prof)
    assert both.hosts["site.example"].lines[line_hash("Menu")] == 4
    with pytest.raises(TypeError, match="counts Page objects .*page_from_record"):  # records as predict_many takes them
        SiteProfile.from_pages([{"url": "https://site.example/a", "text": "Menu"}])


def test_save_load_round_trip(tmp_path):
    pages = [page([f"Line {i}", "Shared footer", f"Unique text number {i} here"]) for i in range(5)]
    pages.append(page(["Über uns", "日本語のテキスト"], url=None))
    prof = SiteProfile.from_pages(pages)
    path = prof.save(tmp_path / "site.profile")
    back = SiteProfile.load(path)
    assert set(back.hosts) == set(prof.hosts)
    for host, s in prof.hosts.items():
        t = back.hosts[host]
        assert (t.pages, dict(t.lines), t.fingerprints) == (s.pages, dict(s.lines), s.fingerprints)
    assert b"Shared footer" not in path.read_bytes() and not list(tmp_path.glob(".*"))  # hashes only; no temp file left
    np.testing.assert_array_equal(featurize(pages[0], back), featurize(pages[0], prof))


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.profile"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="not a site profile"):
        SiteProfile.load(bad)
    np.savez(tmp_path / "old.npz", format=np.array([99]))
    with pytest.raises(ValueError, match="format"):
        SiteProfile.load(tmp_path / "old.npz")
    np.savez(tmp_path / "cut.npz", format=np.array([1]), hosts=np.array(["a"]))
    with pytest.raises(ValueError, match="damaged"):
        SiteProfile.load(tmp_path / "cut.npz")
    with pytest.raises(ValueError, match="not found"):
        SiteProfile.load(tmp_path / "missing.profile")


def test_site_features_leave_the_page_itself_out():
    pages = [page(["Menu", f"Story {chr(97 + i)} text", "Footer"]) for i in range(4)]
    prof = SiteProfile.from_pages(pages)
    inside = profile_features(pages[0], prof)
    assert inside[:, 0].tolist() == [1.0, 0.0, 1.0] and inside[0, 1] == pytest.approx(np.log1p(3))
    newcomer = page(["Menu", "Fresh story", "Footer"])
    outside = profile_features(newcomer, prof)
    assert outside[:, 0].tolist() == [1.0, 0.0, 1.0] and outside[0, 1] == pytest.approx(np.log1p(4))
    # no profile, an unknown host, or only the page itself: NaN, the model's no-profile branch
    assert np.isnan(profile_features(newcomer)).all()
    assert np.isnan(profile_features(page(["Menu"], url="https://else.example/"), prof)).all()
    assert np.isnan(profile_features(pages[0], SiteProfile.from_pages(pages[:1]))).all()
    X = featurize(pages[0], prof)
    assert X.shape[1] == len(featurize(pages[0])[0]) and np.array_equal(X[:, -len(PROFILE_FEATURES):], inside)


def test_training_profiles_stay_within_the_given_pages_and_site():
    examples = site_examples(seeds=[1, 2], pages=3)
    features = [featurize(e.page) for e in examples]
    filled = with_site_profiles(examples, features, share=1.0)
    for e, X in zip(examples, filled):
        assert np.allclose(X[:, -1], np.log1p(2))  # the two other pages of the same site and kind
    # a site alone on its side of a split has no other page: no profile
    alone = with_site_profiles(examples[:2], features[:2], share=1.0)
    assert all(np.isnan(X[:, -2:]).all() for X in alone)
    half = with_site_profiles(examples, features)
    with_profile = [not np.isnan(X[:, -1]).all() for X in half]
    assert 0 < sum(with_profile) < len(half)
    assert all(np.isnan(X[:, -2:]).all() for X in features)  # the inputs are not modified


def test_template_lines_become_boilerplate_once_the_profile_has_seen_the_site(site_detector):
    site = Site(100)  # a site the detector was not trained on
    for kind in ("html", "text"):
        pages, truth = [], []
        for p in range(8):
            if kind == "html":
                doc, labels = site.html(p)
                pages.append(segment_html(doc, url=site.url(p)))
            else:
                doc, labels = site.text(p)
                pages.append(text_page(doc, url=site.url(p)))
            truth.append(labels)
        prof = SiteProfile.from_pages(pages[:6])
        with_profile = site_detector.predict_pages(pages, profile=prof)
        without = site_detector.predict_pages(pages)
        template = {site.note, site.newsletter, site.about, *site.menu}
        got = [(l.text, l.label) for res in with_profile for l in res.lines]
        assert all(label == "boilerplate" for text, label in got if text in template), kind
        content = [l.label == "content" for res, labels in zip(with_profile, truth) for l, t in zip(res.lines, labels) if t == "content"]
        assert np.mean(content) >= 0.95, kind
        # the note inside the article reads like the article: without the profile it is kept
        kept_note = [l.label == "content" for res in without for l in res.lines if l.text == site.note]
        assert np.mean(kept_note) > 0.5, kind


def jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_profile_command_and_two_pass_auto_profile(site_detector, tmp_path):
    model = str(site_detector.save(tmp_path / "m.joblib"))
    site = Site(101)
    for part in range(2):
        records = [{"id": f"{part}-{p}", "url": site.url(p), "text": site.text(p)[0]} for p in range(part * 4, part * 4 + 4)]
        jsonl(tmp_path / f"part{part}.jsonl", records)
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    inputs = [str(tmp_path / "part0.jsonl"), str(tmp_path / "part1.jsonl")]

    res = runner.invoke(app, ["profile", *inputs, str(tmp_path / "broken.jsonl"), "--out", str(tmp_path / "s.profile"), "--quiet"])
    assert res.exit_code == 1 and "pages read 9, profiled 8, failed 1" in res.stderr and "1 host, 8 pages" in res.stderr
    assert f"error: {tmp_path / 'broken.jsonl'}:1: not valid JSON\n" in res.stderr  # where, said once
    assert SiteProfile.load(tmp_path / "s.profile").hosts[site.host].pages == 8

    def predict(*extra):
        out = runner.invoke(app, ["predict", *inputs, "-f", "jsonl", "--model", model, "--trust-model", "--quiet", *extra])
        assert out.exit_code == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    auto = predict("--auto-profile")
    assert auto == predict("--profile", str(tmp_path / "s.profile"))  # the two passes see the whole batch
    # a profile that holds none of a page's site changes nothing for it: said, not silent
    res = runner.invoke(app, ["predict", *inputs, "--profile", str(tmp_path / "s.profile"), "--model", model, "--trust-model", "--quiet"])
    assert "profile does not hold" not in res.stderr
    jsonl(tmp_path / "other.jsonl", [{"id": "o", "url": "https://elsewhere.example/a", "text": site.text(0)[0]}])
    res = runner.invoke(app, ["predict", *inputs, str(tmp_path / "other.jsonl"), "--profile", str(tmp_path / "s.profile"), "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 0 and "note: 1 of 9 pages are of sites the profile does not hold" in res.stderr
    # a profile made with predict's size limits holds the lines predict sees under them
    res = runner.invoke(app, ["profile", *inputs, "--out", str(tmp_path / "cut.profile"), "--quiet", "--max-page-lines", "4"])
    assert res.exit_code == 0
    assert predict("--auto-profile", "--max-page-lines", "4") == predict("--profile", str(tmp_path / "cut.profile"), "--max-page-lines", "4")
    plain = predict()
    assert len(auto) == len(plain) == 8
    note_labels = lambda recs: [l["label"] for r in recs for l in r["lines"] if l["text"] == site.note]
    assert set(note_labels(auto)) == {"boilerplate"} and note_labels(plain) != note_labels(auto)

    res = runner.invoke(app, ["predict", "-", "--auto-profile", "--model", model, "--trust-model"], input="hello\n")
    assert res.exit_code == 2 and "--auto-profile" in res.stderr and "Traceback" not in res.output
    res = runner.invoke(app, ["predict", inputs[0], "--profile", str(tmp_path / "nope.profile"), "--model", model, "--trust-model"])
    assert res.exit_code == 2 and "profile file not found" in res.stderr
