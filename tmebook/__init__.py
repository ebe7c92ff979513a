"""Models for the executable book on the tumour microenvironment in metastatic progression.

One module per chapter topic (`hypoxia` for chapter 5, ...); `parameters` holds the
Parameter record and input checks; `notebook` the display helpers the chapters share.
"""

__version__ = "0.1.0"
