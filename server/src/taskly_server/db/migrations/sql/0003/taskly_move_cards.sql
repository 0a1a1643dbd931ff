-- taskly_move_cards: a batch of card moves in one statement; NULL for a move it may not make.
-- Mirrors `CardService.move`; the cards domain's move batches call it.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_move_cards(
    p_roles text[], p_tracked text[],
    p_users uuid[], p_cards uuid[], p_card_boards text[], p_card_numbers int[],
    p_columns uuid[], p_column_names text[], p_positions text[],
    p_anchors uuid[], p_anchor_boards text[], p_anchor_numbers int[], p_base_versions int[],
    p_actor_types text[], p_actor_ids uuid[], p_actor_names text[],
    p_keys text[], p_fingerprints text[])
RETURNS TABLE (out_body text, out_workspace uuid, out_seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n int := cardinality(p_users);
    v_bodies text[] := array_fill(NULL::text, ARRAY[n]);
    v_workspaces uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    v_seqs bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_card_ids uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    v_versions int[] := array_fill(NULL::int, ARRAY[n]);
    v_changed jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
    v_data jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
    v_conflicted jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
    v_card_id uuid;
    v_ids uuid[];
    v_card cards%ROWTYPE;
    v_target record;
    v_anchor record;
    v_lower text COLLATE "C";
    v_upper text COLLATE "C";
    v_rank text COLLATE "C";
    v_now timestamptz;
    v_before jsonb;
    v_after jsonb;
    v_changes jsonb;
    v_conflicts jsonb;
    v_conflict_fields jsonb;
    v_touched text[];
    v_field text;
    v_workspace uuid;
    v_seq bigint;
BEGIN
    -- Each move as `CardService.move` makes it, in order. A move that is not permitted and
    -- well-formed (a missing or ambiguous card, a low role, an unknown column or anchor, a
    -- replayed key) is skipped before it writes anything: its body stays NULL and the caller
    -- takes the general path for it, which gives the precise answer.
    FOR i IN 1..n LOOP
        v_card_id := p_cards[i];
        IF v_card_id IS NULL THEN
            SELECT array_agg(c.id) INTO v_ids
              FROM cards c
              JOIN boards b ON b.id = c.board_id
              JOIN members m ON m.workspace_id = c.workspace_id AND m.user_id = p_users[i]
              JOIN workspaces w ON w.id = c.workspace_id
             WHERE b.key = p_card_boards[i] AND c.number = p_card_numbers[i]
               AND b.deleted_at IS NULL AND w.deleted_at IS NULL;
            CONTINUE WHEN cardinality(v_ids) IS DISTINCT FROM 1;
            v_card_id := v_ids[1];
        END IF;
        SELECT c.* INTO v_card
          FROM cards c
          JOIN boards b ON b.id = c.board_id
          JOIN members m ON m.workspace_id = c.workspace_id AND m.user_id = p_users[i]
          JOIN workspaces w ON w.id = c.workspace_id
         WHERE c.id = v_card_id AND b.deleted_at IS NULL AND w.deleted_at IS NULL
           AND m.role = ANY (p_roles)
           FOR UPDATE OF c;
        CONTINUE WHEN NOT FOUND;
        -- The column row stays locked to commit: rank choices inside a column are serialised.
        SELECT col.id, col.name, col.kind INTO v_target
          FROM board_columns col
         WHERE col.board_id = v_card.board_id
           AND (col.id = p_columns[i] OR (p_columns[i] IS NULL AND lower(col.name) = p_column_names[i]))
           FOR NO KEY UPDATE;
        CONTINUE WHEN NOT FOUND;
        IF p_positions[i] IN ('before', 'after') THEN
            SELECT c.id, c.rank, c.column_id, c.deleted_at INTO v_anchor
              FROM cards c JOIN boards b ON b.id = c.board_id
             WHERE c.board_id = v_card.board_id
               AND (c.id = p_anchors[i]
                    OR (p_anchors[i] IS NULL AND c.number = p_anchor_numbers[i]
                        AND (p_anchor_boards[i] IS NULL OR b.key = p_anchor_boards[i])));
            CONTINUE WHEN NOT FOUND OR v_anchor.deleted_at IS NOT NULL
                          OR v_anchor.column_id <> v_target.id OR v_anchor.id = v_card.id;
        END IF;
        IF p_keys[i] IS NOT NULL THEN
            INSERT INTO idempotency_keys (id, principal_id, key, request_hash, created_at)
            VALUES (gen_random_uuid(), p_users[i], p_keys[i], p_fingerprints[i], now())
            ON CONFLICT (principal_id, key) DO NOTHING;
            CONTINUE WHEN NOT FOUND;
        END IF;
        v_before := taskly_card_json(v_card.id);

        -- Later statements than the locks: they see the cards the transactions waited for placed.
        -- Deleted cards count, so a restored card never ties.
        v_lower := NULL;
        v_upper := NULL;
        IF p_positions[i] = 'top' THEN
            SELECT min(c.rank) INTO v_upper FROM cards c
             WHERE c.column_id = v_target.id AND c.id <> v_card.id;
        ELSIF p_positions[i] = 'bottom' THEN
            SELECT max(c.rank) INTO v_lower FROM cards c
             WHERE c.column_id = v_target.id AND c.id <> v_card.id;
        ELSIF p_positions[i] = 'before' THEN
            v_upper := v_anchor.rank;
            SELECT max(c.rank) INTO v_lower FROM cards c
             WHERE c.column_id = v_target.id AND c.id <> v_card.id AND c.rank < v_upper;
        ELSE
            v_lower := v_anchor.rank;
            SELECT min(c.rank) INTO v_upper FROM cards c
             WHERE c.column_id = v_target.id AND c.id <> v_card.id AND c.rank > v_lower;
        END IF;
        v_rank := taskly_rank_between(
            v_lower, v_upper, CASE WHEN v_card.column_id = v_target.id THEN v_card.rank END);

        IF v_card.column_id = v_target.id AND v_card.rank = v_rank THEN
            v_bodies[i] := v_before;  -- already there: no new version, no Change
        ELSE
            v_now := clock_timestamp();
            UPDATE cards SET column_id = v_target.id, rank = v_rank, version = version + 1,
                             updated_at = v_now
             WHERE id = v_card.id;
            v_after := v_before || jsonb_build_object(
                'column', v_target.name, 'column_id', v_target.id, 'column_kind', v_target.kind,
                'rank', v_rank, 'version', v_card.version + 1, 'updated_at', taskly_json_time(v_now));
            v_changes := '{}';
            FOREACH v_field IN ARRAY p_tracked LOOP
                IF v_before -> v_field IS DISTINCT FROM v_after -> v_field THEN
                    v_changes := v_changes || jsonb_build_object(v_field, jsonb_build_object(
                        'old', v_before -> v_field, 'new', v_after -> v_field));
                END IF;
            END LOOP;
            v_conflicts := '[]';
            v_conflict_fields := '[]';
            IF p_base_versions[i] < v_card.version THEN
                SELECT array_agg(DISTINCT k) INTO v_touched
                  FROM changes ch, jsonb_object_keys(coalesce(ch.changes, '{}')) AS k
                 WHERE ch.entity_type = 'card' AND ch.entity_id = v_card.id
                   AND ch.version > p_base_versions[i];
                FOREACH v_field IN ARRAY p_tracked LOOP
                    IF v_changes ? v_field AND v_field = ANY (v_touched) AND v_field <> 'column_id' THEN
                        v_conflicts := v_conflicts || jsonb_build_array(jsonb_build_object(
                            'field', v_field, 'overwritten', v_changes -> v_field -> 'old',
                            'value', v_changes -> v_field -> 'new'));
                        v_conflict_fields := v_conflict_fields || to_jsonb(v_field);
                    END IF;
                END LOOP;
            END IF;
            v_bodies[i] := v_after || jsonb_build_object('conflicts', v_conflicts);
            v_workspaces[i] := v_card.workspace_id;
            v_card_ids[i] := v_card.id;
            v_versions[i] := v_card.version + 1;
            v_changed[i] := v_changes;
            v_data[i] := v_after;
            v_conflicted[i] := v_conflict_fields;
        END IF;
        IF p_keys[i] IS NOT NULL THEN
            UPDATE idempotency_keys SET status_code = 200, response = v_bodies[i]::jsonb
             WHERE principal_id = p_users[i] AND key = p_keys[i];
        END IF;
    END LOOP;

    -- The Changes last, numbered workspace by workspace in id order: a workspace row (its seq)
    -- stays locked only until commit, and two batches cannot deadlock on two workspaces.
    FOR v_workspace IN SELECT DISTINCT w FROM unnest(v_workspaces) AS w WHERE w IS NOT NULL ORDER BY 1 LOOP
        UPDATE workspaces SET seq = seq + (SELECT count(*) FROM unnest(v_workspaces) AS w
                                            WHERE w = v_workspace)
         WHERE id = v_workspace
         RETURNING seq - (SELECT count(*) FROM unnest(v_workspaces) AS w WHERE w = v_workspace)
          INTO v_seq;
        FOR i IN 1..n LOOP
            CONTINUE WHEN v_workspaces[i] IS DISTINCT FROM v_workspace;
            v_seq := v_seq + 1;
            v_seqs[i] := v_seq;
            INSERT INTO changes (workspace_id, seq, entity_type, entity_id, op, version, changes,
                                 data, actor_type, actor_id, actor_name, delivery_id, mutation_id,
                                 conflicts, created_at)
            VALUES (v_workspace, v_seq, 'card', v_card_ids[i], 'move', v_versions[i], v_changed[i],
                    v_data[i], p_actor_types[i], p_actor_ids[i], p_actor_names[i], NULL, p_keys[i],
                    v_conflicted[i], clock_timestamp());
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT t.b, t.w, t.s FROM unnest(v_bodies, v_workspaces, v_seqs)
                                     WITH ORDINALITY AS t(b, w, s, k) ORDER BY t.k;
END $$;
