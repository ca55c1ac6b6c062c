"""vsis: Visually Similar Image Search.

The pipeline flows one way: collection -> images -> features -> neighbours -> site.
`builder.build` runs it; `builder.cli` is the command line on top.
"""

__version__ = "0.1.0"
