-- taskly_record_changes: Change rows numbered into the change feed, one per array position; the
-- only writer of `changes` (`Mutation.flush` in lib/mutation.py for the Python writes,
-- taskly_move_cards for the moves). Each workspace's seqs are taken at once, workspaces in id
-- order, and its row stays locked to commit: the feed gets no gaps, and two writers over two
-- workspaces cannot deadlock. Answers (workspace, seq, created_at) per row, in input order.
-- Held to it by tests/server/test_card_move_statement.py and the feed tests (gap-free seqs).
CREATE OR REPLACE FUNCTION taskly_record_changes(
    p_workspaces uuid[], p_entity_types text[], p_entity_ids uuid[], p_ops text[], p_versions int[],
    p_changes jsonb[], p_data jsonb[], p_actor_types text[], p_actor_ids uuid[],
    p_actor_names text[], p_delivery_ids text[], p_mutation_ids text[], p_conflicts jsonb[])
RETURNS TABLE (out_workspace uuid, out_seq bigint, out_created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_workspaces), 0);
    v_seqs bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_now timestamptz := clock_timestamp();
    v_workspace uuid;
    v_count int;
    v_seq bigint;
BEGIN
    FOR v_workspace, v_count IN
        SELECT w, count(*) FROM unnest(p_workspaces) AS w GROUP BY w ORDER BY w
    LOOP
        UPDATE workspaces SET seq = seq + v_count WHERE id = v_workspace
         RETURNING seq - v_count INTO v_seq;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'workspace % does not exist', v_workspace USING ERRCODE = 'foreign_key_violation';
        END IF;
        FOR i IN 1..n LOOP
            IF p_workspaces[i] = v_workspace THEN
                v_seq := v_seq + 1;
                v_seqs[i] := v_seq;
            END IF;
        END LOOP;
    END LOOP;
    INSERT INTO changes (workspace_id, seq, entity_type, entity_id, op, version, changes, data,
                         actor_type, actor_id, actor_name, delivery_id, mutation_id, conflicts,
                         created_at)
    SELECT t.w, t.s, t.e, t.id, t.op, t.v, coalesce(t.ch, '{}'), t.d, t.at, t.ai, t.an, t.dl, t.m,
           coalesce(t.cf, '[]'), v_now
      FROM unnest(p_workspaces, v_seqs, p_entity_types, p_entity_ids, p_ops, p_versions, p_changes,
                  p_data, p_actor_types, p_actor_ids, p_actor_names, p_delivery_ids, p_mutation_ids,
                  p_conflicts) AS t(w, s, e, id, op, v, ch, d, at, ai, an, dl, m, cf);
    RETURN QUERY SELECT t.w, t.s, v_now FROM unnest(p_workspaces, v_seqs)
                                        WITH ORDINALITY AS t(w, s, k) ORDER BY t.k;
END $$;
