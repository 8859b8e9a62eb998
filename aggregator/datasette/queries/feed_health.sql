with state as (
  select
    f.*,
    (select max(s.first_seen) from sightings s where s.feed_id = f.id) as last_article_at
  from feeds f
  where f.active = 1
),
health as (
  select *,
    case
      when disabled_reason is not null then 'retired'
      when error_count > 0 then 'failing'
      when fetch_url is not null then 'moved'
      when last_success_at is not null
        and coalesce(last_article_at, '')
          < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-14 days') then 'silent'
    end as health
  from state
)
select
  id,
  coalesce(name, title, url) as feed,
  health,
  last_error,
  last_status,
  error_count,
  failing_since,
  url,
  fetch_url as moved_to,
  last_polled_at,
  last_success_at,
  last_article_at,
  next_poll_at
from health
where health is not null
order by
  case health when 'retired' then 1 when 'failing' then 2 when 'moved' then 3 else 4 end,
  error_count desc,
  feed
