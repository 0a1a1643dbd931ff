-- taskly_card_json: a card in its wire form. Mirrors the cards domain's `CardRenderer.render`,
-- dumped with model_dump(mode="json"), without conflicts.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_card_json(card_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL, not SQL: its query plan is kept per session instead of made on every call.
    RETURN (SELECT jsonb_build_object(
        'id', c.id, 'key', b.key || '-' || c.number, 'number', c.number,
        'board_id', c.board_id, 'workspace_id', c.workspace_id, 'title', c.title,
        'description', c.description, 'column', col.name, 'column_id', col.id,
        'column_kind', col.kind, 'rank', c.rank, 'labels', to_jsonb(c.labels),
        'priority', c.priority, 'points', c.points, 'due', c.due,
        'remind_at', taskly_json_time(c.remind_at), 'recurrence', c.recurrence,
        'recurrence_interval', c.recurrence_interval,
        'assignees', (SELECT coalesce(jsonb_agg(coalesce(u.username, a.id::text) ORDER BY a.n), '[]')
                        FROM unnest(c.assignee_ids) WITH ORDINALITY AS a(id, n)
                        LEFT JOIN users u ON u.id = a.id),
        'sprint_id', c.sprint_id, 'branch', c.branch,
        'created_by', (SELECT u.username FROM users u WHERE u.id = c.created_by),
        'version', c.version, 'created_at', taskly_json_time(c.created_at),
        'updated_at', taskly_json_time(c.updated_at),
        'deleted_at', taskly_json_time(c.deleted_at),
        'pull_requests', (SELECT coalesce(jsonb_agg(taskly_pull_request_json(p, r.owner || '/' || r.name)
                                                    ORDER BY r.owner, r.name, p.number), '[]')
                            FROM card_pull_requests cp
                            JOIN pull_requests p ON p.id = cp.pull_request_id
                            JOIN repositories r ON r.id = p.repository_id
                           WHERE cp.card_id = c.id),
        'conflicts', '[]'::jsonb)
      FROM cards c
      JOIN boards b ON b.id = c.board_id
      JOIN board_columns col ON col.id = c.column_id
     WHERE c.id = card_id);
END
$$;
