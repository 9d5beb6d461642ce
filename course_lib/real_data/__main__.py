"""`python -m course_lib.real_data --make-fixtures` rewrites the offline fixture in data/fixtures/."""
import sys

from .fixtures import make_fixtures
from .loaders import ROOT

if "--make-fixtures" not in sys.argv:
    sys.exit("usage: python -m course_lib.real_data --make-fixtures")
print(f"wrote {make_fixtures().relative_to(ROOT)}")
