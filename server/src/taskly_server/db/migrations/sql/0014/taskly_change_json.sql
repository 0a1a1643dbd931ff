-- taskly_change_json: a Change row's wire form, `ChangeOut` as JSON text (`changes` as FieldChange
-- writes it: each field's {"old", "new"}, both present). Stored in `changes.wire` when the row is
-- written (the trigger taskly_change_wire), so the feed's pages (domain/feed/reads.py) and the
-- realtime catch-ups (realtime/hub.py) are concatenations of stored text, rendered once per change.
-- Held to `ChangeOut` by tests/server/test_reads.py and the realtime tests.
CREATE OR REPLACE FUNCTION taskly_change_json(
    p_seq bigint, p_workspace uuid, p_entity_type text, p_entity_id uuid, p_op text, p_version int,
    p_changes jsonb, p_data jsonb, p_actor_type text, p_actor_id uuid, p_actor_name text,
    p_delivery_id text, p_mutation_id text, p_conflicts jsonb, p_created_at timestamptz)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'seq', p_seq, 'workspace_id', p_workspace, 'entity_type', p_entity_type,
        'entity_id', p_entity_id, 'op', p_op, 'version', p_version,
        'changes', (SELECT coalesce(json_object_agg(e.k, json_build_object('old', e.v -> 'old',
                                                                           'new', e.v -> 'new')),
                                    '{}')
                      FROM jsonb_each(p_changes) AS e(k, v)),
        'data', p_data,
        'actor', json_build_object('type', p_actor_type, 'id', p_actor_id, 'name', p_actor_name,
                                   'delivery_id', p_delivery_id),
        'mutation_id', p_mutation_id, 'conflicts', coalesce(p_conflicts, '[]'),
        'created_at', taskly_json_time(p_created_at))::text
$$;
