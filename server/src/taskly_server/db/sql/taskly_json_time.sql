-- taskly_json_time: a timestamp as pydantic's model_dump(mode="json") writes it (UTC, 'Z',
-- microseconds only when there are some). Mirrors the datetime fields of taskly_shared's models.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_json_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    -- Not STRICT, so the planner inlines it instead of planning it on every call.
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN extract(microseconds FROM t)::bigint % 1000000 = 0 THEN ''
                ELSE to_char(t AT TIME ZONE 'UTC', '.US') END
        || 'Z'
$$;
