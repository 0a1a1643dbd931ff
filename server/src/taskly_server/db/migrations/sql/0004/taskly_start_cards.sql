-- taskly_start_cards: a batch of card starts in one statement (create_branch's card side:
-- branch, starter assigned, first in-progress column); the create_branch job calls it.
-- Held to it by tests/server/test_card_starts.py.
CREATE OR REPLACE FUNCTION taskly_start_cards(p_cards uuid[], p_users uuid[], p_branches text[],
                                   p_tracked text[])
RETURNS TABLE (out_body text, out_changed boolean, out_workspace uuid, out_seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n int := cardinality(p_cards);
    v_bodies text[] := array_fill(NULL::text, ARRAY[n]);
    v_changed boolean[] := array_fill(false, ARRAY[n]);
    v_workspaces uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    v_seqs bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_versions int[] := array_fill(NULL::int, ARRAY[n]);
    v_changes jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
    v_data jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
    v_names text[] := array_fill(NULL::text, ARRAY[n]);
    v_card cards%ROWTYPE;
    v_current_kind text;
    v_target uuid;
    v_member boolean;
    v_lower text COLLATE "C";
    v_before jsonb;
    v_after jsonb;
    v_diff jsonb;
    v_field text;
    v_workspace uuid;
    v_seq bigint;
BEGIN
    -- Every card first, in id order (as bulk edits lock them), then each one's column: a batch
    -- never holds a column while it waits for a card that a move holding that card waits to place.
    PERFORM 1 FROM cards WHERE id = ANY (p_cards) ORDER BY id FOR UPDATE;
    FOR i IN 1..n LOOP
        SELECT * INTO v_card FROM cards WHERE id = p_cards[i];
        CONTINUE WHEN NOT FOUND OR v_card.deleted_at IS NOT NULL;  -- gone: NULL, unchanged
        v_before := taskly_card_json(v_card.id);
        IF v_card.branch IS NOT DISTINCT FROM p_branches[i] THEN  -- started already
            v_bodies[i] := v_before;
            CONTINUE;
        END IF;
        SELECT kind INTO v_current_kind FROM board_columns WHERE id = v_card.column_id;
        v_target := NULL;
        IF v_current_kind IS DISTINCT FROM 'in_progress' THEN
            SELECT id INTO v_target FROM board_columns
             WHERE board_id = v_card.board_id AND kind = 'in_progress'
             ORDER BY rank, id LIMIT 1;
        END IF;
        IF v_target IS NOT NULL THEN
            -- Locked to commit: rank choices inside a column are serialised. The rank is read by
            -- a later statement, so it sees the card the transaction we waited for has placed.
            PERFORM 1 FROM board_columns WHERE id = v_target FOR NO KEY UPDATE;
            SELECT max(rank) INTO v_lower FROM cards WHERE column_id = v_target AND id <> v_card.id;
            v_card.column_id := v_target;
            v_card.rank := taskly_rank_between(v_lower, NULL, NULL);
        END IF;
        SELECT EXISTS (SELECT 1 FROM members
                        WHERE workspace_id = v_card.workspace_id AND user_id = p_users[i])
          INTO v_member;
        IF v_member AND NOT (p_users[i] = ANY (v_card.assignee_ids)) THEN
            v_card.assignee_ids := v_card.assignee_ids || p_users[i];
        END IF;
        UPDATE cards SET branch = p_branches[i], column_id = v_card.column_id, rank = v_card.rank,
                         assignee_ids = v_card.assignee_ids, version = version + 1,
                         updated_at = clock_timestamp()
         WHERE id = v_card.id;
        v_after := taskly_card_json(v_card.id);
        v_diff := '{}';
        FOREACH v_field IN ARRAY p_tracked LOOP
            IF v_before -> v_field IS DISTINCT FROM v_after -> v_field THEN
                v_diff := v_diff || jsonb_build_object(v_field, jsonb_build_object(
                    'old', v_before -> v_field, 'new', v_after -> v_field));
            END IF;
        END LOOP;
        v_bodies[i] := v_after;
        v_changed[i] := true;
        v_workspaces[i] := v_card.workspace_id;
        v_versions[i] := v_card.version + 1;
        v_changes[i] := v_diff;
        v_data[i] := v_after;
        v_names[i] := (SELECT username FROM users WHERE id = p_users[i]);
    END LOOP;

    -- The Changes last, numbered workspace by workspace in id order (as taskly_move_cards does).
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
            VALUES (v_workspace, v_seq, 'card', p_cards[i], 'update', v_versions[i], v_changes[i],
                    v_data[i], 'user', p_users[i], v_names[i], NULL, NULL, '[]', clock_timestamp());
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT t.b, t.c, t.w, t.s FROM unnest(v_bodies, v_changed, v_workspaces, v_seqs)
                                        WITH ORDINALITY AS t(b, c, w, s, k) ORDER BY t.k;
END $$;
