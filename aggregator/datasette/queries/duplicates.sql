with members as (
  select coalesce(a.duplicate_of, a.id) as cluster, a.id, a.duplicate_of, a.similarity
  from articles a
  where a.duplicate_of is not null
    or a.id in (select duplicate_of from articles where duplicate_of is not null)
    or a.id in (
      select article_id from sightings group by article_id having count(*) > 1
    )
),
carried as (
  select m.cluster, count(*) as sightings
  from members m
  join sightings s on s.article_id = m.id
  group by m.cluster
),
carriers as (
  select cluster, group_concat(name, ', ') as feeds
  from (
    select distinct m.cluster, coalesce(f.name, f.title, f.url) as name
    from members m
    join sightings s on s.article_id = m.id
    join feeds f on f.id = s.feed_id
    order by 1, 2
  )
  group by cluster
),
copies as (
  select
    cluster,
    group_concat(
      '#' || id || coalesce(' (' || round(similarity, 2) || ')', ''), ', '
    ) as near_copies
  from (
    select * from members
    where duplicate_of is not null
    order by cluster, similarity desc
  )
  group by cluster
)
select
  o.id,
  o.title,
  o.published,
  copies.near_copies,
  carried.sightings,
  carriers.feeds
from carried
join articles o on o.id = carried.cluster
join carriers on carriers.cluster = carried.cluster
left join copies on copies.cluster = carried.cluster
order by carried.sightings desc, o.id desc
