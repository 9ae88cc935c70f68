"""The first code cell of every notebook: on Colab, install the book's package; elsewhere, nothing.

A test checks that every notebook starts with exactly this cell: change it here and in
every notebook together.
"""

REPOSITORY = "https://github.com/optbook/optimizers-in-deep-learning"

SETUP_CELL = f'''# On Colab: install the book's package (elsewhere this cell does nothing).
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "optbook @ git+{REPOSITORY}"'''
