select
  substr(coalesce(a.published, s.first_seen), 1, 10) as day,
  coalesce(f.name, f.title, f.url) as feed,
  count(*) as articles
from sightings s
join articles a on a.id = s.article_id
join feeds f on f.id = s.feed_id
group by day, s.feed_id
order by day desc, articles desc, feed
