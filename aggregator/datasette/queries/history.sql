select
  row_number() over (order by until is null, until) as version,
  title,
  since,
  until,
  content
from (
  select
    title,
    content,
    lag(replaced_at) over (order by id) as since,
    replaced_at as until
  from revisions
  where article_id = :id
  union all
  select
    title,
    content,
    (select max(replaced_at) from revisions where article_id = articles.id),
    null
  from articles
  where id = :id
)
order by version
