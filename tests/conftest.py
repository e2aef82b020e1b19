"""The suite's fixtures live in ``tests/fix_*.py`` plugins; helpers and data in ``tests/support/``.

Nothing is imported from here: a test that needs the shipped data imports ``tests.support.shipped``,
one that needs servers asks for the ``pg15`` fixtures.
"""

pytest_plugins = ["tests.fix_data", "tests.fix_postgres"]
