"""`init`, `add`, `remove`, `import-opml` and `export-opml`: the feeds you follow."""
