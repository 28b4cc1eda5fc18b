"""boilerdetect: label the lines of crawled web pages as content, related links or boilerplate."""

__version__ = "0.1.0"

from .document import LABELS, Line, Page  # noqa: E402
from .model import Detector, ModelError  # noqa: E402
from .result import Result  # noqa: E402

__all__ = ["Detector", "LABELS", "Line", "ModelError", "Page", "Result", "__version__"]
