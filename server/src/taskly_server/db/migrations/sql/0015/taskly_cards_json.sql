-- taskly_cards_json: cards in their wire form, one JSON array (as text) in the order of `card_ids`
-- (ids of no card are left out), one card per line: ",\n" between two cards and no other newline
-- (JSON escapes those in strings), so a server holding the document can replace one card without
-- parsing the others (lib/rendered.py `CardList`). The set form of taskly_card_json, for the reads
-- of many cards (a board's cards, the snapshot): the same document per card, built with json (not
-- jsonb: no re-parsing, keys in CardOut's order, each card starting with its id) and with the pull
-- requests aggregated once for all the cards; ~3x faster than taskly_card_json per card over a
-- board of 500.
-- Held to CardRenderer (and so to taskly_card_json) by tests/server/test_reads.py.
CREATE OR REPLACE FUNCTION taskly_cards_json(card_ids uuid[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL, not SQL: its query plan is kept per session instead of made on every call.
    RETURN (SELECT '[' || coalesce(string_agg(json_build_object(
        'id', c.id, 'key', b.key || '-' || c.number, 'number', c.number,
        'board_id', c.board_id, 'workspace_id', c.workspace_id, 'title', c.title,
        'description', c.description, 'column', col.name, 'column_id', col.id,
        'column_kind', col.kind, 'rank', c.rank, 'labels', to_json(c.labels),
        'priority', c.priority, 'points', c.points, 'due', c.due,
        'remind_at', taskly_json_time(c.remind_at), 'recurrence', c.recurrence,
        'recurrence_interval', c.recurrence_interval,
        'assignees', CASE WHEN cardinality(c.assignee_ids) = 0 THEN '[]'::json ELSE
            (SELECT json_agg(coalesce(u.username, a.id::text) ORDER BY a.n)
               FROM unnest(c.assignee_ids) WITH ORDINALITY AS a(id, n)
               LEFT JOIN users u ON u.id = a.id) END,
        'sprint_id', c.sprint_id, 'branch', c.branch,
        'created_by', creator.username,
        'version', c.version, 'created_at', taskly_json_time(c.created_at),
        'updated_at', taskly_json_time(c.updated_at),
        'deleted_at', taskly_json_time(c.deleted_at),
        'pull_requests', coalesce(linked.pulls, '[]'::jsonb),
        'conflicts', '[]'::json)::text, E',\n' ORDER BY o.n), '') || ']'
      FROM unnest(card_ids) WITH ORDINALITY AS o(id, n)
      JOIN cards c ON c.id = o.id
      JOIN boards b ON b.id = c.board_id
      JOIN board_columns col ON col.id = c.column_id
      LEFT JOIN users creator ON creator.id = c.created_by
      LEFT JOIN (SELECT cp.card_id,
                        jsonb_agg(taskly_pull_request_json(p, r.owner || '/' || r.name)
                                  ORDER BY r.owner, r.name, p.number) AS pulls
                   FROM card_pull_requests cp
                   JOIN pull_requests p ON p.id = cp.pull_request_id
                   JOIN repositories r ON r.id = p.repository_id
                  WHERE cp.card_id = ANY (card_ids)
                  GROUP BY cp.card_id) linked ON linked.card_id = c.id);
END
$$;
