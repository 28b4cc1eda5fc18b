"""Build the three compiled hot loops; everything else is in pyproject.toml.

* ``boilerdetect/_treewalk.c``: the tree walk and the binning of prediction (else numpy's, the
  same probabilities about ten times slower);
* ``boilerdetect/_words.c``: the per-word counts and the literal scan of the features, and the split
  of ASCII class/id values into tokens in segmentation (else Python versions, the same counts,
  positions and tokens);
* ``boilerdetect/_htmlwalk.c``: the walk of segmentation over lexbor's tree, through the lexbor
  functions of the selectolax module (else html._walk_tree, the same lines).

All three are optional: where they cannot be compiled, the install goes on without them.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("boilerdetect._treewalk", ["boilerdetect/_treewalk.c"], optional=True),
        Extension("boilerdetect._words", ["boilerdetect/_words.c"], optional=True),
        Extension("boilerdetect._htmlwalk", ["boilerdetect/_htmlwalk.c"], libraries=["dl"], optional=True),
    ]
)
