"""The starter feeds.yaml: every setting written out with its default and a comment."""

from __future__ import annotations

from typing import Final

DEFAULT_CONFIG_TEXT: Final = """\
# feeds.yaml: the feeds aggregator follows, and how.
# Durations: 90s, 30m, 1h30m, 1d. Sizes: 512KiB, 20MB, 1GB. Unknown keys are errors.
# Every setting below is shown with its default value.

settings:
  # The SQLite archive; a relative path starts from this file's folder.
  database: archive/archive.db
  # How often a feed is polled unless it sets its own interval; adapted to
  # each feed's pace within [min_interval, max_interval].
  interval: 30m
  min_interval: 5m
  max_interval: 1d
  # Requests in flight at once, in all and per host.
  concurrency: 32
  per_host: 2
  # The minimum time between the starts of two requests to one host; 0 for none.
  per_host_delay: 0.5s
  # The longest one request may take, from connecting to the last byte.
  timeout: 30s
  # The largest response accepted, after decompression.
  max_bytes: 20MB
  # The most entries taken from one feed per poll (a feed of 50,000 is cut, and says so).
  max_entries: 1000
  # Fetch the web page of each entry and extract its full text.
  fetch_articles: true
  # Keep the raw HTML of each page, compressed (for reextract and WARC export).
  archive_pages: true
  # Learn the lines that repeat on many pages of one site (share bars, sign-offs,
  # newsletter pitches) and remove them from that site's articles.
  learn_boilerplate: true
  # Refuse loopback, private and link-local addresses (checked on every hop).
  allow_private_networks: false
  # Exceptions to that rule: `host` or `host:port` exactly as written in feed URLs.
  allowed_private_hosts: []
  # The mail server for digests. The password comes from the
  # AGGREGATOR_SMTP_PASSWORD environment variable, never from this file.
  smtp:
    host: localhost
    port: 25
    starttls: false
    username: null
    from: aggregator@localhost

# Digests: what is new, exported on a schedule (cron: minute hour day month weekday).
digests:
  # - name: morning
  #   schedule: "0 7 * * *"
  #   since: 24h            # how far back to look (default 24h)
  #   format: html          # md (default), html, json, atom or jsonfeed
  #   to: me@example.org    # one address or a list
  #   feeds: [Example]      # only these feeds, by name or URL
  #   tags: [news]          # only feeds with these tags
  #   problems: true        # end with the feed-health report (default false)

# Feeds, one entry each (kept last: `aggregator add` appends here).
feeds:
  # - url: https://example.org/feed.xml
  #   name: Example         # optional; defaults to the feed's title
  #   tags: [news]
  #   interval: 15m         # optional; overrides settings.interval
"""
