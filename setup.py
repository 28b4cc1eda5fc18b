"""Build the two compiled hot loops; everything else is in pyproject.toml.

* ``boilerdetect/_treewalk.c``: the tree walk and the binning of prediction (else numpy's, the
  same probabilities about ten times slower);
* ``boilerdetect/_words.c``: the per-word counts and the literal scan of the features, and the split
  of ASCII class/id values into tokens in segmentation (else Python versions, the same counts,
  positions and tokens).

Both are optional: where they cannot be compiled, the install goes on without them.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("boilerdetect._treewalk", ["boilerdetect/_treewalk.c"], optional=True),
        Extension("boilerdetect._words", ["boilerdetect/_words.c"], optional=True),
    ]
)
