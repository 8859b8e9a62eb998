"""What ``aggregator serve`` gives datasette (package data, datasette 0.65 metadata).

``metadata.json`` holds the titles and descriptions of the archive, its tables and the columns
that matter, the table options (the search box on ``articles``, facets, default sorts, hidden
internal tables) and the title and description of each canned query; ``queries/NAME.sql`` is the
SQL of the canned query NAME (search, latest, per_feed_per_day, duplicates, feed_health,
history). The database is keyed ``archive`` there; ``aggregator.serve.metadata`` assembles the
document for the file served and explains the choice of datasette 0.65. Everything stored is
plain text and datasette escapes every cell: nothing is rendered as HTML.
"""
