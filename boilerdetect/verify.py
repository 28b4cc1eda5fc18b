"""Which model files may be loaded, and whether they fit the installed libraries.

A model file is a pickle (joblib): loading it can run any code it carries. So a file is loaded only
when it is known:

* its sha256 equals the hash of the shipped model pinned in the package itself
  (``default_model.sha256`` beside this module, rewritten by :meth:`Detector.save` whenever the
  shipped model is saved, i.e. by ``training/build.sh``). The pin lives with the code, not with the
  model: whoever swaps both the model and its card still fails the check;
* or the caller gives the sha256 it expects (``sha256=`` / ``--model-sha256``);
* or the caller trusts the file (``trust=True`` / ``--trust-model``).

Without an explicit argument, ``BOILERDETECT_TRUST_MODEL`` (``1``/``0``) and
``BOILERDETECT_MODEL_SHA256`` give the answer, so that service workers started from the environment
follow the command line.

Version checks: a model in another model format is refused with a message saying how to retrain.
Its trees are plain arrays that any scikit-learn version predicts with; the scikit-learn boosters
it also holds, for continued boosting (adaptation), are refused when saved with another
scikit-learn major.minor, and another patch version only warns (:class:`boilerdetect.trees.Pickled`).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

PIN_FILE = Path(__file__).resolve().parent / "default_model.sha256"
TRUST_ENV = "BOILERDETECT_TRUST_MODEL"
SHA256_ENV = "BOILERDETECT_MODEL_SHA256"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_OPT_IN = "pass --trust-model (trust=True) if you trust it, or --model-sha256 HASH (sha256=HASH) with its expected hash"


class ModelError(Exception):
    """The model file is missing, damaged, unverified or incompatible."""


class ModelVersionWarning(UserWarning):
    """The model was saved with another patch version of scikit-learn (usually harmless)."""


def pinned_sha256() -> str | None:
    """The sha256 of the shipped model as recorded in the package, or None when it is not recorded."""
    try:
        value = PIN_FILE.read_text().split()[0].lower()
    except (OSError, IndexError):
        return None
    return value if _HEX64.fullmatch(value) else None


def pin_line(sha256: str, name: str) -> str:
    """The pin file's content: ``<sha256>  <file name>`` (the ``sha256sum`` layout)."""
    return f"{sha256}  {name}\n"


def trust_from_env(trust: bool | None) -> bool:
    """``trust``, or when None the value of ``BOILERDETECT_TRUST_MODEL`` (default: no)."""
    if isinstance(trust, bool):
        return trust
    if trust is not None:  # "no" or "false" is truthy: only a real bool may open the door to running a file's code
        raise TypeError(f"trust must be True, False or None, not {trust!r}")
    raw = os.environ.get(TRUST_ENV, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ModelError(f"{TRUST_ENV} must be 1 or 0, not {raw!r}")


def sha256_from_env(sha256: str | None) -> str | None:
    """``sha256`` (or ``BOILERDETECT_MODEL_SHA256`` when None), lower-cased; ModelError unless 64 hex digits."""
    value = sha256 if sha256 is not None else os.environ.get(SHA256_ENV) or None
    if value is None:
        return None
    value = value.strip().lower()
    if not _HEX64.fullmatch(value):
        raise ModelError(f"expected model sha256 must be 64 hexadecimal digits, not {value!r}")
    return value


def check_trusted(path: Path, actual: str, shipped: bool, card_sha256: str | None, trust: bool, sha256: str | None) -> None:
    """Raise ModelError unless the file (whose sha256 is ``actual``) may be loaded.

    ``shipped`` says whether ``path`` is the shipped model's path; ``card_sha256`` is the hash its
    card records (None without a card).
    """
    if sha256 is not None:
        if actual != sha256:
            raise ModelError(f"{path}: its sha256 is {actual}, not the expected {sha256}; refusing to load it")
        return
    if trust:
        return
    pinned = pinned_sha256()
    if shipped:
        if actual != pinned:
            raise ModelError(
                f"{path}: the shipped model was modified (its sha256 differs from the one recorded in the package); "
                "reinstall it, rebuild it with training/build.sh, or pass --trust-model (trust=True) if you replaced it on purpose"
            )
        if card_sha256 != actual:
            raise ModelError(f"{path}: the shipped model's card was modified (its sha256 does not match the model); reinstall it")
        return
    if actual != pinned:
        raise ModelError(f"{path}: refusing to load an unverified model file (loading runs code from it); {_OPT_IN}")


def _major_minor(version: str) -> tuple[int, ...] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_sklearn_version(saved: str | None, what: str) -> None:
    """ModelError if ``what`` (named in the message) was saved with another scikit-learn
    major.minor; a warning for another patch."""
    import sklearn

    current = sklearn.__version__
    if not saved or saved == current:
        return
    if _major_minor(saved) != _major_minor(current):
        mm = ".".join(map(str, _major_minor(saved) or ())) or saved
        raise ModelError(
            f"{what}: saved with scikit-learn {saved}, but {current} is installed; retrain it with "
            f"'boilerdetect train' (the shipped model: bash training/build.sh), or install scikit-learn=={mm}.*"
        )
    warnings.warn(f"{what}: saved with scikit-learn {saved}, {current} is installed", ModelVersionWarning, stacklevel=3)


def check_format(saved, expected: int, path: Path) -> None:
    """ModelError if the model file's format is not the one this version reads."""
    if saved != expected:
        raise ModelError(
            f"{path}: not a boilerdetect model of format {expected} (found {saved!r}); retrain it with 'boilerdetect train'"
        )
