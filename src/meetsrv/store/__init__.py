"""The store: the only code that writes SQL. One module per domain, over one schema (tables.py)."""
