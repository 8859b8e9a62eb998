with matches as (
  select
    articles_fts.rowid as id,
    articles_fts.rank as score,
    snippet(articles_fts, -1, '**', '**', '…', 24) as snippet
  from articles_fts
  where trim(:q) != '' -- the form, before anything is typed
    and articles_fts match :q
    and articles_fts.rank match 'bm25(10.0, 4.0, 1.0, 2.0)'
  order by articles_fts.rank
  limit 200
),
hits as (
  select
    coalesce(a.duplicate_of, a.id) as article_id,
    min(matches.score) as score,
    matches.snippet
  from matches
  join articles a on a.id = matches.id
  group by 1
  order by score
  limit 50
)
select
  a.id,
  a.title,
  hits.snippet,
  coalesce(f.name, f.title, f.url) as feed,
  a.published,
  a.url,
  hits.score,
  (select count(*) from articles c where c.duplicate_of = a.id) as near_copies
from hits
join articles a on a.id = hits.article_id
join feeds f on f.id = a.feed_id
order by hits.score
