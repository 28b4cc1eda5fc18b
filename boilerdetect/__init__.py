"""boilerdetect: label the lines of crawled web pages as content, related links or boilerplate."""

__version__ = "0.1.0"

from .document import LABELS, Line, Page  # noqa: E402
from .result import Result  # noqa: E402

__all__ = ["Detector", "LABELS", "Line", "ModelError", "Page", "Result", "__version__"]


def __getattr__(name: str):
    # the detector imports numpy, the HTML parser and the model code: only when it is asked for,
    # so that the command line starts at once and can start its worker server beside that import
    if name in ("Detector", "ModelError"):
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
