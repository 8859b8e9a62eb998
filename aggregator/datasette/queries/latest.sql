select
  a.id,
  a.title,
  coalesce(f.name, f.title, f.url) as feed,
  a.published,
  a.first_seen,
  a.lang,
  a.tags,
  a.url,
  (select count(*) from articles c where c.duplicate_of = a.id) as near_copies
from articles a
join feeds f on f.id = a.feed_id
where a.duplicate_of is null
order by coalesce(a.published, a.first_seen) desc, a.id desc
limit 100
