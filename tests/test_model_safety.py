"""Model files load only when verified (pinned hash, expected sha256, or explicit trust) and compatible."""

import hashlib
import json
import os
import pickle
from pathlib import Path

import joblib
import pytest
import sklearn
from typer.testing import CliRunner

import boilerdetect.model as model_module
import boilerdetect.verify as verify
from boilerdetect import Detector, ModelError
from boilerdetect.cli import app
from boilerdetect.model import DEFAULT_MODEL, card_path, sha256_file
from boilerdetect.verify import ModelVersionWarning

runner = CliRunner()
TEXT = "A paragraph of an article that is long enough to read as content, with words.\nHome | About | Contact\n"


@pytest.fixture(autouse=True)
def no_trust_from_environment(monkeypatch):
    monkeypatch.delenv(verify.TRUST_ENV, raising=False)
    monkeypatch.delenv(verify.SHA256_ENV, raising=False)


@pytest.fixture
def saved(tiny_detector, tmp_path):
    return tiny_detector.save(tmp_path / "m.joblib")


class _Payload:
    """A pickle that runs code when loaded: it writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_shipped_model_verifies():
    if not DEFAULT_MODEL.is_file():
        pytest.skip("shipped model not built")
    assert verify.pinned_sha256() == sha256_file(DEFAULT_MODEL)
    assert json.loads(card_path(DEFAULT_MODEL).read_text())["sha256"] == verify.pinned_sha256()
    assert Detector.load().card["sha256"] == verify.pinned_sha256()


def test_an_installed_package_carries_the_shipped_model(tmp_path):
    """A wheel (not an editable install) has no repository around it: the model must be inside.

    The installed tree is laid out from pyproject.toml's packages, package-dir and package-data,
    as setuptools lays out a wheel (building one needs a newer setuptools than a test may assume).
    """
    import shutil
    import subprocess
    import sys
    import sysconfig

    tomllib = pytest.importorskip("tomllib")
    if not DEFAULT_MODEL.is_file():
        pytest.skip("shipped model not built")
    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    built = tmp_path / "lib"
    for package in config["packages"]:
        source = root / config.get("package-dir", {}).get(package, package.replace(".", "/"))
        target = built / package.replace(".", "/")
        target.mkdir(parents=True)
        for pattern in ["*.py", *config.get("package-data", {}).get(package, [])]:
            for path in source.glob(pattern):
                (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / path.relative_to(source))
    # -S: no site-packages hooks, so the editable install of the checkout cannot shadow the copy
    paths = [str(built), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    code = "from boilerdetect import Detector; from boilerdetect.model import DEFAULT_MODEL; d = Detector.load(); print(DEFAULT_MODEL); print(d.card['sha256'])"
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
                         check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
    assert out == [str(built / "boilerdetect" / "models" / "default.joblib"), verify.pinned_sha256()]


def test_unverified_model_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.joblib"
    evil.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelError, match="refusing to load an unverified model file.*--trust-model.*--model-sha256") as err:
        Detector.load(evil)
    assert "\n" not in str(err.value) and not marker.exists()
    for word in ("no", "false", "0", 1):  # only a real True opens the door
        with pytest.raises(TypeError, match="trust must be True, False or None"):
            Detector.load(evil, trust=word)
    assert not marker.exists()
    # the danger is real: with trust the pickle runs (and is then refused as no model)
    with pytest.raises(ModelError, match="not a boilerdetect model"):
        Detector.load(evil, trust=True)
    assert marker.exists()


def test_trust_and_sha256_opt_in(saved, tiny_detector):
    with pytest.raises(ModelError, match="unverified"):
        Detector.load(saved)
    text = "A sentence of the page.\nMenu"
    expected = tiny_detector.predict(text=text).to_record()
    assert Detector.load(saved, trust=True).predict(text=text).to_record() == expected
    digest = sha256_file(saved)
    assert Detector.load(saved, sha256=digest.upper()).predict(text=text).to_record() == expected
    with pytest.raises(ModelError, match=f"its sha256 is {digest}, not the expected {'0' * 64}"):
        Detector.load(saved, sha256="0" * 64)
    with pytest.raises(ModelError, match="64 hexadecimal digits"):
        Detector.load(saved, sha256="abc")


def test_environment_opt_in(saved, monkeypatch):
    monkeypatch.setenv(verify.TRUST_ENV, "1")
    assert Detector.load(saved).card["sha256"] == sha256_file(saved)
    monkeypatch.setenv(verify.TRUST_ENV, "0")
    with pytest.raises(ModelError, match="unverified"):
        Detector.load(saved)
    monkeypatch.setenv(verify.TRUST_ENV, "maybe")
    with pytest.raises(ModelError, match="must be 1 or 0"):
        Detector.load(saved)
    monkeypatch.delenv(verify.TRUST_ENV)
    monkeypatch.setenv(verify.SHA256_ENV, sha256_file(saved))
    assert Detector.load(saved).card["sha256"] == sha256_file(saved)
    monkeypatch.setenv(verify.SHA256_ENV, "f" * 64)
    with pytest.raises(ModelError, match="not the expected"):
        Detector.load(saved)


def test_shipped_path_checks_the_pin_and_the_card(tiny_detector, tmp_path, monkeypatch):
    """Saving to the shipped model's path pins its hash; a swapped model (even with a matching card) is refused."""
    shipped = tmp_path / "models" / "default.joblib"
    pin = tmp_path / "pin.sha256"
    monkeypatch.setattr(model_module, "DEFAULT_MODEL", shipped)
    monkeypatch.setattr(model_module, "PIN_FILE", pin)
    monkeypatch.setattr(verify, "PIN_FILE", pin)
    tiny_detector.save(shipped)
    assert pin.read_text() == f"{sha256_file(shipped)}  default.joblib\n"
    assert Detector.load().card["sha256"] == sha256_file(shipped)

    # a copy of the shipped bytes elsewhere is the same model: it loads too
    copy = tmp_path / "copy.joblib"
    copy.write_bytes(shipped.read_bytes())
    Detector.load(copy)

    # the attacker swaps the model and rewrites its card to match: the pin in the package still differs
    blob = joblib.load(shipped)
    blob["extra"] = _Payload(tmp_path / "pwned")
    joblib.dump(blob, shipped)
    card = json.loads(card_path(shipped).read_text())
    card["sha256"] = sha256_file(shipped)
    card_path(shipped).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="the shipped model was modified"):
        Detector.load()
    assert not (tmp_path / "pwned").exists()

    # a card edited alone is caught too
    tiny_detector.save(shipped)
    card = json.loads(card_path(shipped).read_text())
    card["sha256"] = "0" * 64
    card_path(shipped).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="card was modified"):
        Detector.load()
    Detector.load(trust=True)  # replaced on purpose


def _rewrite_versions(path, sklearn_version, fmt=None):
    """Record another scikit-learn version for the model's pickled boosters (and in its card and
    blob, which say what saved it), and optionally another model format."""
    blob = joblib.load(path)
    blob["versions"]["scikit-learn"] = sklearn_version
    for source in ("html", "text"):
        blob[source]._boosters.sklearn_version = sklearn_version
    if fmt is not None:
        blob["format"] = fmt
    joblib.dump(blob, path)
    card = json.loads(card_path(path).read_text())
    card["versions"]["scikit-learn"] = sklearn_version
    card_path(path).write_text(json.dumps(card))


def test_scikit_learn_version_matters_only_to_continue_boosting(saved):
    card = json.loads(card_path(saved).read_text())
    assert card["versions"]["scikit-learn"] == sklearn.__version__ and card["model_format"] == model_module.MODEL_FORMAT
    expected = [l.label for l in Detector.load(saved, trust=True).predict(text=TEXT).lines]
    major, minor = sklearn.__version__.split(".")[:2]
    other = f"{major}.{int(minor) + 1}.0"
    _rewrite_versions(saved, other)
    # the trees are plain arrays: another scikit-learn predicts with them all the same
    detector = Detector.load(saved, trust=True)
    assert [l.label for l in detector.predict(text=TEXT).lines] == expected
    # the boosters (for adaptation) are scikit-learn's own objects: refused, with advice
    with pytest.raises(ModelError, match=rf"saved with scikit-learn {other}, but {sklearn.__version__} is installed; retrain it"):
        detector.text_model.boosters_


def test_patch_version_difference_only_warns(saved):
    major, minor = sklearn.__version__.split(".")[:2]
    patch = f"{major}.{minor}.999"
    _rewrite_versions(saved, patch)
    detector = Detector.load(saved, trust=True)
    with pytest.warns(ModelVersionWarning, match=patch):
        assert detector.html_model.boosters_["stage1"].n_iter_ == detector.html_model.stage1_.n_iter_


def test_other_model_format_is_refused(saved):
    _rewrite_versions(saved, sklearn.__version__, fmt=99)
    with pytest.raises(ModelError, match=f"not a boilerdetect model of format {model_module.MODEL_FORMAT} .*retrain"):
        Detector.load(saved, trust=True)


def test_damaged_card_is_a_model_error(saved):
    card_path(saved).write_text("{not json")
    with pytest.raises(ModelError, match="model card is not valid JSON"):
        Detector.load(saved, trust=True)


def test_info_says_when_a_model_has_no_card(saved):
    res = runner.invoke(app, ["info", "--model", str(saved), "--trust-model"])
    assert res.exit_code == 0 and json.loads(res.stdout)["sha256"] == sha256_file(saved) and "note" not in res.stderr
    card_path(saved).unlink()  # a model file copied alone
    res = runner.invoke(app, ["info", "--model", str(saved), "--trust-model"])
    assert res.exit_code == 0 and f"no model card: {card_path(saved)} is missing" in res.stderr
    assert json.loads(res.stdout) == {"model": str(saved), "sha256": sha256_file(saved), "kinds": ["html", "text"]}  # what the file says


def test_cli_trust_options(saved, tmp_path):
    (tmp_path / "p.txt").write_text("A sentence of a page.")
    digest = sha256_file(saved)
    for command in (["predict", str(tmp_path / "p.txt")], ["info"]):
        res = runner.invoke(app, [*command, "--model", str(saved)])
        assert res.exit_code == 2 and "Traceback" not in res.output
        assert res.stderr.startswith("error: ") and "--trust-model" in res.stderr and res.stderr.count("\n") == 1
        assert runner.invoke(app, [*command, "--model", str(saved), "--trust-model"]).exit_code == 0
        assert runner.invoke(app, [*command, "--model", str(saved), "--model-sha256", digest]).exit_code == 0
        res = runner.invoke(app, [*command, "--model", str(saved), "--model-sha256", "1" * 64])
        assert res.exit_code == 2 and "not the expected" in res.stderr
    for command in ("evaluate", "serve"):
        res = runner.invoke(app, [command, "--help"])
        assert "--trust-model" in res.stdout and "--model-sha256" in res.stdout
    res = runner.invoke(app, ["serve", "--model", str(saved), "--port", "0"])
    assert res.exit_code == 2 and "unverified" in res.stderr


def test_interrupted_save_keeps_the_previous_model(tiny_detector, tmp_path, monkeypatch):
    path = tiny_detector.save(tmp_path / "m.joblib")
    before = path.read_bytes(), card_path(path).read_bytes()

    def broken_dump(obj, fh, **kwargs):
        fh.write(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(joblib, "dump", broken_dump)
    with pytest.raises(OSError, match="No space left"):
        tiny_detector.save(path)
    assert (path.read_bytes(), card_path(path).read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["m.card.json", "m.joblib"]  # no temporary file left
    assert hashlib.sha256(before[0]).hexdigest() == json.loads(before[1])["sha256"]
