-- taskly_start_cards: a batch of card starts in one statement (create_branch's card side:
-- branch, starter assigned, first in-progress column); the create_branch job calls it.
-- It records the branches and assignees itself, then hands the batch to taskly_move_cards (to the
-- bottom of the first in-progress column, or staying), which bumps each version once and writes
-- each card's one Change, attributed to its starter.
-- Held to it by tests/server/test_card_starts.py and tests/server/test_card_move_statement.py.
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
    -- The moves: each one's start index, then the move function's arguments.
    v_started int[] := '{}';
    m_cards uuid[] := '{}';
    m_columns uuid[] := '{}';
    m_positions text[] := '{}';
    m_befores jsonb[] := '{}';
    m_users uuid[] := '{}';
    m_names text[] := '{}';
    v_card cards%ROWTYPE;
    v_current_kind text;
    v_target uuid;
    v_member boolean;
    v_before jsonb;
    v_row record;
BEGIN
    -- Every card first, in id order (as bulk edits lock them), then each one's column (in the
    -- move function): a batch never holds a column while it waits for a card that a move holding
    -- that card waits to place.
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
        SELECT EXISTS (SELECT 1 FROM members
                        WHERE workspace_id = v_card.workspace_id AND user_id = p_users[i])
          INTO v_member;
        UPDATE cards SET branch = p_branches[i],
                         assignee_ids = CASE WHEN v_member AND NOT (p_users[i] = ANY (assignee_ids))
                                             THEN assignee_ids || p_users[i] ELSE assignee_ids END
         WHERE id = v_card.id;
        v_started := v_started || i;
        m_cards := m_cards || v_card.id;
        m_columns := m_columns || v_target;
        m_positions := m_positions || CASE WHEN v_target IS NULL THEN 'stay' ELSE 'bottom' END;
        m_befores := m_befores || v_before;
        m_users := m_users || p_users[i];
        m_names := m_names || (SELECT username FROM users WHERE id = p_users[i]);
    END LOOP;

    IF cardinality(v_started) > 0 THEN
        FOR v_row IN
            SELECT m.b, m.w, m.s, m.k FROM taskly_move_cards(
                NULL, p_tracked, NULL, m_cards, NULL, NULL, m_columns, NULL, m_positions,
                NULL, NULL, NULL, NULL, array_fill('user'::text, ARRAY[cardinality(v_started)]),
                m_users, m_names, NULL, NULL, m_befores) WITH ORDINALITY AS m(b, w, s, c, k)
        LOOP
            v_bodies[v_started[v_row.k]] := v_row.b;
            v_changed[v_started[v_row.k]] := v_row.s IS NOT NULL;
            v_workspaces[v_started[v_row.k]] := v_row.w;
            v_seqs[v_started[v_row.k]] := v_row.s;
        END LOOP;
    END IF;
    RETURN QUERY SELECT t.b, t.c, t.w, t.s FROM unnest(v_bodies, v_changed, v_workspaces, v_seqs)
                                        WITH ORDINALITY AS t(b, c, w, s, k) ORDER BY t.k;
END $$;
