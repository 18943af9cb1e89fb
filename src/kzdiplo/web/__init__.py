"""Looking at the data: a static report, a Datasette edition and the shared pictures.

Pictures are generated SVG with no script (``svg``), built from the same record dicts
the CLI lists (``kzdiplo.queries``), so every view keeps partial dates as ranges and
money as ranges. Nothing here imports Datasette unless ``serve`` is used.
"""
