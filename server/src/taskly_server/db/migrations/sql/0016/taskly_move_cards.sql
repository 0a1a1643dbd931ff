-- taskly_move_cards: THE way an existing card changes column or rank, for a batch of moves in one
-- statement. Every mover calls it: the move endpoint (domain/cards/moves.py, batched), CardService
-- (PATCH and bulk update, their other fields already flushed), taskly_start_cards, pull-request
-- automation (domain/pulls/effects.py) and column deletion (domain/boards/columns.py), all through
-- domain/cards/placement.py but the starts. Per move: lock the card and the target column, rank it
-- (top | bottom | before | after a card, or stay: column and rank kept), and when its wire form
-- differs from the form before (p_befores, else the form now) bump its version once and write its
-- Change (taskly_record_changes, at the end of the batch); or refuse with a code, writing nothing.
-- A move may carry edits of the card's own fields (p_edits: column name -> stored value, already
-- checked by the server; PATCH's batches, domain/cards/moves.py), made once nothing refuses it; the
-- form before them is the Change's old side.
-- A user's move on an archived board is refused (`board_archived`): archived boards are read-only.
-- Mirrors the Python it replaced (fractional-indexing, `CardRenderer`, CardService's conflict and
-- op rules); held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_move_cards(
    p_roles text[], p_tracked text[],
    p_users uuid[], p_cards uuid[], p_card_boards text[], p_card_numbers int[],
    p_columns uuid[], p_column_names text[], p_positions text[],
    p_anchors uuid[], p_anchor_boards text[], p_anchor_numbers int[], p_base_versions int[],
    p_actor_types text[], p_actor_ids uuid[], p_actor_names text[],
    p_keys text[], p_fingerprints text[],
    p_befores jsonb[] DEFAULT NULL, p_ops text[] DEFAULT NULL, p_extra_changes jsonb[] DEFAULT NULL,
    p_delivery_ids text[] DEFAULT NULL, p_edits jsonb[] DEFAULT NULL)
RETURNS TABLE (out_body text, out_workspace uuid, out_seq bigint, out_code text)
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_positions), 0);
    v_bodies text[] := array_fill(NULL::text, ARRAY[n]);
    v_workspaces uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    v_seqs bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_codes text[] := array_fill(NULL::text, ARRAY[n]);
    -- The Change of each move that changed something: the move's index, then the row's values.
    v_written int[] := '{}';
    c_workspaces uuid[] := '{}';
    c_cards uuid[] := '{}';
    c_ops text[] := '{}';
    c_versions int[] := '{}';
    c_changes jsonb[] := '{}';
    c_data jsonb[] := '{}';
    c_actor_types text[] := '{}';
    c_actor_ids uuid[] := '{}';
    c_actor_names text[] := '{}';
    c_deliveries text[] := '{}';
    c_keys text[] := '{}';
    c_conflicts jsonb[] := '{}';
    v_card_id uuid;
    v_ids uuid[];
    v_card cards%ROWTYPE;
    v_edited cards%ROWTYPE;
    v_edit_before jsonb;
    v_target record;
    v_column uuid;
    v_anchor record;
    v_recorded bigint[];
    v_lower text COLLATE "C";
    v_upper text COLLATE "C";
    v_rank text COLLATE "C";
    v_now timestamptz;
    v_current jsonb;
    v_before jsonb;
    v_after jsonb;
    v_changes jsonb;
    v_placed_only boolean;
    v_conflicts jsonb;
    v_conflict_fields jsonb;
    v_touched text[];
    v_field text;
    v_refusal text;
BEGIN
    FOR i IN 1..n LOOP
        IF p_positions[i] IS NULL OR p_positions[i] NOT IN ('top', 'bottom', 'before', 'after', 'stay') THEN
            v_codes[i] := 'position_invalid';
            CONTINUE;
        END IF;

        -- The card: by id or key when the user may move it (CardService's `_load`); by id alone
        -- when there is no user (a caller that checked access itself).
        v_card_id := p_cards[i];
        IF p_users[i] IS NULL THEN
            SELECT c.* INTO v_card FROM cards c WHERE c.id = v_card_id FOR UPDATE;
            IF NOT FOUND THEN
                v_codes[i] := 'card_not_found';
                CONTINUE;
            END IF;
        ELSE
            IF v_card_id IS NULL THEN
                SELECT array_agg(c.id) INTO v_ids
                  FROM cards c
                  JOIN boards b ON b.id = c.board_id
                  JOIN members m ON m.workspace_id = c.workspace_id AND m.user_id = p_users[i]
                  JOIN workspaces w ON w.id = c.workspace_id
                 WHERE b.key = p_card_boards[i] AND c.number = p_card_numbers[i]
                   AND b.deleted_at IS NULL AND w.deleted_at IS NULL;
                IF cardinality(v_ids) IS DISTINCT FROM 1 THEN
                    v_codes[i] := CASE WHEN v_ids IS NULL THEN 'card_not_found' ELSE 'card_ambiguous' END;
                    CONTINUE;
                END IF;
                v_card_id := v_ids[1];
            END IF;
            SELECT c.* INTO v_card
              FROM cards c
              JOIN boards b ON b.id = c.board_id
              JOIN members m ON m.workspace_id = c.workspace_id AND m.user_id = p_users[i]
              JOIN workspaces w ON w.id = c.workspace_id
             WHERE c.id = v_card_id AND b.deleted_at IS NULL AND w.deleted_at IS NULL
               AND m.role = ANY (p_roles) AND NOT b.archived
               FOR UPDATE OF c;
            IF NOT FOUND THEN  -- a member below p_roles, a card this user cannot see, or archived
                SELECT CASE WHEN m.role <> ALL (p_roles) THEN 'forbidden' ELSE 'board_archived' END
                  INTO v_refusal
                  FROM cards c
                  JOIN boards b ON b.id = c.board_id
                  JOIN members m ON m.workspace_id = c.workspace_id AND m.user_id = p_users[i]
                  JOIN workspaces w ON w.id = c.workspace_id
                 WHERE c.id = v_card_id AND b.deleted_at IS NULL AND w.deleted_at IS NULL;
                v_codes[i] := coalesce(v_refusal, 'card_not_found');
                CONTINUE;
            END IF;
        END IF;

        -- The column, by id or name (`pick_column`); a move's target row stays locked to commit:
        -- rank choices inside a column are serialised. Staying reads no column: no rank is chosen.
        IF p_positions[i] <> 'stay' THEN
            SELECT col.id, col.name, col.kind INTO v_target
              FROM board_columns col
             WHERE col.board_id = v_card.board_id
               AND (col.id = p_columns[i] OR lower(col.name) = p_column_names[i])
             ORDER BY col.rank LIMIT 1
               FOR NO KEY UPDATE;
            IF NOT FOUND THEN
                v_codes[i] := 'column_not_found';
                CONTINUE;
            END IF;
        END IF;

        -- The card to place next to: by id, key or number, live, in the target column, not itself.
        IF p_positions[i] IN ('before', 'after') THEN
            SELECT c.id, c.rank, c.column_id, c.deleted_at INTO v_anchor
              FROM cards c JOIN boards b ON b.id = c.board_id
             WHERE c.board_id = v_card.board_id
               AND (c.id = p_anchors[i]
                    OR (p_anchors[i] IS NULL AND c.number = p_anchor_numbers[i]
                        AND (p_anchor_boards[i] IS NULL OR b.key = p_anchor_boards[i])));
            v_codes[i] := CASE
                WHEN NOT FOUND THEN 'anchor_not_found'
                WHEN v_anchor.deleted_at IS NOT NULL OR v_anchor.column_id <> v_target.id
                    THEN 'anchor_not_in_column'
                WHEN v_anchor.id = v_card.id THEN 'anchor_is_card' END;
            CONTINUE WHEN v_codes[i] IS NOT NULL;
        END IF;

        -- The idempotency key, when this statement claims it (the endpoint's batches): last, so a
        -- refused move leaves nothing behind.
        IF p_keys[i] IS NOT NULL AND p_fingerprints[i] IS NOT NULL THEN
            INSERT INTO idempotency_keys (id, principal_id, key, request_hash, created_at)
            VALUES (gen_random_uuid(), p_users[i], p_keys[i], p_fingerprints[i], now())
            ON CONFLICT (principal_id, key) DO NOTHING;
            IF NOT FOUND THEN
                v_codes[i] := 'replayed';
                CONTINUE;
            END IF;
        END IF;

        -- The edits: the card's own fields, set as the caller checked them.
        v_edit_before := NULL;
        IF p_edits[i] IS NOT NULL THEN
            v_edit_before := taskly_card_json(v_card.id);
            v_edited := jsonb_populate_record(v_card, p_edits[i]);
            IF v_edited.remind_at IS DISTINCT FROM v_card.remind_at THEN
                v_edited.reminded_at := NULL;  -- a new reminder time fires again
            END IF;
            UPDATE cards SET title = v_edited.title, description = v_edited.description,
                             priority = v_edited.priority, points = v_edited.points,
                             due = v_edited.due, remind_at = v_edited.remind_at,
                             reminded_at = v_edited.reminded_at, recurrence = v_edited.recurrence,
                             recurrence_interval = v_edited.recurrence_interval,
                             branch = v_edited.branch
             WHERE id = v_card.id;
        END IF;

        -- The rank: read by later statements than the locks, so they see the cards the
        -- transactions we waited for have placed. Deleted cards count, so a restored card never ties.
        IF p_positions[i] = 'stay' THEN
            v_column := v_card.column_id;
            v_rank := v_card.rank;
        ELSE
            v_column := v_target.id;
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
        END IF;

        -- The wire form now (the caller's other edits included) with the placement and the next
        -- version put in, against the form before: the tracked fields that differ (`_commit`).
        v_current := taskly_card_json(v_card.id);
        v_before := coalesce(p_befores[i], v_edit_before, v_current);
        v_now := clock_timestamp();
        v_after := v_current || jsonb_build_object(
            'rank', v_rank, 'version', v_card.version + 1, 'updated_at', taskly_json_time(v_now));
        IF v_column <> v_card.column_id THEN
            v_after := v_after || jsonb_build_object(
                'column', v_target.name, 'column_id', v_target.id, 'column_kind', v_target.kind);
        END IF;
        v_changes := '{}';
        v_placed_only := true;
        FOREACH v_field IN ARRAY p_tracked LOOP
            IF v_before -> v_field IS DISTINCT FROM v_after -> v_field THEN
                v_changes := v_changes || jsonb_build_object(v_field, jsonb_build_object(
                    'old', v_before -> v_field, 'new', v_after -> v_field));
                v_placed_only := v_placed_only AND v_field IN ('column', 'column_id', 'rank');
            END IF;
        END LOOP;
        IF v_changes = '{}' AND p_extra_changes[i] IS NULL THEN
            v_bodies[i] := v_before::text;  -- nothing changed: no new version, no Change
        ELSE
            UPDATE cards SET column_id = v_column, rank = v_rank, version = version + 1,
                             updated_at = v_now
             WHERE id = v_card.id;
            -- Conflicts: fields this write changes that a change after the client's view changed.
            v_conflicts := '[]';
            v_conflict_fields := '[]';
            -- The Changes of this batch's earlier moves of the card count too (written at the end).
            IF p_base_versions[i] < v_card.version THEN
                SELECT array_agg(DISTINCT t.k) INTO v_touched FROM (
                    SELECT k FROM changes ch, jsonb_object_keys(coalesce(ch.changes, '{}')) AS k
                     WHERE ch.entity_type = 'card' AND ch.entity_id = v_card.id
                       AND ch.version > p_base_versions[i]
                    UNION ALL
                    SELECT k FROM unnest(c_cards, c_versions, c_changes) AS b(card, version, changes),
                                  jsonb_object_keys(b.changes) AS k
                     WHERE b.card = v_card.id AND b.version > p_base_versions[i]) t;
                FOREACH v_field IN ARRAY p_tracked LOOP
                    IF v_changes ? v_field AND v_field = ANY (v_touched) AND v_field <> 'column_id' THEN
                        v_conflicts := v_conflicts || jsonb_build_array(jsonb_build_object(
                            'field', v_field, 'overwritten', v_changes -> v_field -> 'old',
                            'value', v_changes -> v_field -> 'new'));
                        v_conflict_fields := v_conflict_fields || to_jsonb(v_field);
                    END IF;
                END LOOP;
            END IF;
            v_bodies[i] := (v_after || jsonb_build_object('conflicts', v_conflicts))::text;
            v_workspaces[i] := v_card.workspace_id;
            v_written := v_written || i;
            c_workspaces := c_workspaces || v_card.workspace_id;
            c_cards := c_cards || v_card.id;
            c_ops := c_ops || coalesce(p_ops[i], CASE WHEN v_placed_only THEN 'move' ELSE 'update' END);
            c_versions := c_versions || (v_card.version + 1);
            c_changes := c_changes || (v_changes || coalesce(p_extra_changes[i], '{}'));
            c_data := c_data || v_after;
            c_actor_types := c_actor_types || p_actor_types[i];
            c_actor_ids := c_actor_ids || p_actor_ids[i];
            c_actor_names := c_actor_names || p_actor_names[i];
            c_deliveries := c_deliveries || p_delivery_ids[i];
            c_keys := c_keys || p_keys[i];
            c_conflicts := c_conflicts || v_conflict_fields;
        END IF;
        IF p_keys[i] IS NOT NULL AND p_fingerprints[i] IS NOT NULL THEN
            UPDATE idempotency_keys SET status_code = 200, response = v_bodies[i]::jsonb
             WHERE principal_id = p_users[i] AND key = p_keys[i];
        END IF;
    END LOOP;

    -- The Changes last, once for the batch: the workspace rows (their seqs) stay locked only
    -- from here to commit.
    IF cardinality(v_written) > 0 THEN
        SELECT array_agg(r.s ORDER BY r.k) INTO v_recorded FROM taskly_record_changes(
            c_workspaces, array_fill('card'::text, ARRAY[cardinality(v_written)]), c_cards, c_ops,
            c_versions, c_changes, c_data, c_actor_types, c_actor_ids, c_actor_names, c_deliveries,
            c_keys, c_conflicts) WITH ORDINALITY AS r(w, s, t, k);
        FOR j IN 1..cardinality(v_written) LOOP
            v_seqs[v_written[j]] := v_recorded[j];
        END LOOP;
    END IF;
    RETURN QUERY SELECT t.b, t.w, t.s, t.c FROM unnest(v_bodies, v_workspaces, v_seqs, v_codes)
                                          WITH ORDINALITY AS t(b, w, s, c, k) ORDER BY t.k;
END $$;
