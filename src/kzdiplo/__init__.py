"""kzdiplo: a sourced relational database of Kazakhstan's 2025 diplomacy."""

__version__ = "0.1.0"
