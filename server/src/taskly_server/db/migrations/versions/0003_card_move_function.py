"""cards: move cards in one statement (fractional ranks and the card's wire form in SQL)

A move is the hottest write: locking the card and the target column, reading the neighbours'
ranks, updating the card, numbering its Change and storing the idempotent answer took six round
trips through the ORM (~2.3 ms of server CPU each), and every move held its workspace's row (its
seq) through its own commit. `taskly_move_cards` makes a batch of moves in one statement: one
round trip, one transaction, one commit and one hold of the workspace row for all of them.

- `taskly_rank_between` is fractional-indexing 0.1.3's `generate_key_between` (base 62) plus the
  "keep the current rank when it already fits" rule of `cards.lookup.rank_between`; a test
  compares it with the Python library on many key pairs.
- `taskly_card_json` renders a card as `CardOut.model_dump(mode="json")` does; a test compares the
  two on cards with assignees, pull requests, checks, dates and deletions.
- `taskly_move_cards` skips (answers NULL for) everything but a permitted, well-formed move, so
  every error message still comes from the Python path.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:20:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

FUNCTIONS = [
    # --- fractional-index keys: integer part (a head letter giving its length), then fraction ---
    """
CREATE FUNCTION taskly_rank_int_length(head text) RETURNS int
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    IF ascii(head) BETWEEN 97 AND 122 THEN RETURN ascii(head) - 97 + 2; END IF;  -- a..z
    IF ascii(head) BETWEEN 65 AND 90 THEN RETURN 90 - ascii(head) + 2; END IF;   -- A..Z
    RAISE EXCEPTION 'invalid order key head: %', head;
END $$
""",
    """
CREATE FUNCTION taskly_rank_int_part(key text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    size int := taskly_rank_int_length(left(key, 1));
BEGIN
    IF size > length(key) THEN RAISE EXCEPTION 'invalid order key: %', key; END IF;
    RETURN left(key, size);
END $$
""",
    """
CREATE FUNCTION taskly_rank_validate(key text) RETURNS void
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    fraction text;
BEGIN
    IF key = 'A' || repeat('0', 26) THEN RAISE EXCEPTION 'invalid order key: %', key; END IF;
    fraction := substr(key, length(taskly_rank_int_part(key)) + 1);
    IF right(fraction, 1) = '0' THEN RAISE EXCEPTION 'invalid order key: %', key; END IF;
END $$
""",
    f"""
CREATE FUNCTION taskly_rank_midpoint(a text, b text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    digits CONSTANT text := '{DIGITS}';
    padded text;
    n int := 0;
    digit_a int;
    digit_b int;
BEGIN
    IF b IS NOT NULL AND a COLLATE "C" >= b COLLATE "C" THEN
        RAISE EXCEPTION '% >= %', a, b;
    END IF;
    IF right(a, 1) = '0' OR right(b, 1) = '0' THEN RAISE EXCEPTION 'trailing zero'; END IF;
    IF b <> '' THEN
        padded := rpad(a, length(b), '0');
        WHILE n < length(b) AND substr(padded, n + 1, 1) = substr(b, n + 1, 1) LOOP
            n := n + 1;
        END LOOP;
        IF n > 0 THEN
            RETURN left(b, n) || taskly_rank_midpoint(substr(a, n + 1), substr(b, n + 1));
        END IF;
    END IF;
    digit_a := CASE WHEN a = '' THEN 0 ELSE strpos(digits, left(a, 1)) - 1 END;
    digit_b := CASE WHEN b IS NULL THEN length(digits) ELSE strpos(digits, left(b, 1)) - 1 END;
    IF digit_b - digit_a > 1 THEN
        RETURN substr(digits, (digit_a + digit_b + 1) / 2 + 1, 1);  -- round half up
    END IF;
    IF b IS NOT NULL AND length(b) > 1 THEN
        RETURN left(b, 1);
    END IF;
    RETURN substr(digits, digit_a + 1, 1) || taskly_rank_midpoint(substr(a, 2), NULL);
END $$
""",
    f"""
CREATE FUNCTION taskly_rank_increment(x text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    digits CONSTANT text := '{DIGITS}';
    head text := left(x, 1);
    digs text := substr(x, 2);
    d int;
BEGIN
    IF length(x) <> taskly_rank_int_length(head) THEN
        RAISE EXCEPTION 'invalid integer part of order key: %', x;
    END IF;
    FOR i IN REVERSE length(digs)..1 LOOP
        d := strpos(digits, substr(digs, i, 1));  -- the next digit's position, 1-based
        IF d < length(digits) THEN
            RETURN head || overlay(digs PLACING substr(digits, d + 1, 1) FROM i FOR 1);
        END IF;
        digs := overlay(digs PLACING '0' FROM i FOR 1);
    END LOOP;
    IF head = 'Z' THEN RETURN 'a0'; END IF;
    IF head = 'z' THEN RETURN NULL; END IF;
    head := chr(ascii(head) + 1);
    IF ascii(head) > 97 THEN
        RETURN head || digs || '0';
    END IF;
    RETURN head || left(digs, length(digs) - 1);
END $$
""",
    f"""
CREATE FUNCTION taskly_rank_decrement(x text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    digits CONSTANT text := '{DIGITS}';
    head text := left(x, 1);
    digs text := substr(x, 2);
    d int;
BEGIN
    IF length(x) <> taskly_rank_int_length(head) THEN
        RAISE EXCEPTION 'invalid integer part of order key: %', x;
    END IF;
    FOR i IN REVERSE length(digs)..1 LOOP
        d := strpos(digits, substr(digs, i, 1)) - 1;  -- this digit's value
        IF d > 0 THEN
            RETURN head || overlay(digs PLACING substr(digits, d, 1) FROM i FOR 1);
        END IF;
        digs := overlay(digs PLACING right(digits, 1) FROM i FOR 1);
    END LOOP;
    IF head = 'a' THEN RETURN 'Z' || right(digits, 1); END IF;
    IF head = 'A' THEN RETURN NULL; END IF;
    head := chr(ascii(head) - 1);
    IF ascii(head) < 90 THEN
        RETURN head || digs || right(digits, 1);
    END IF;
    RETURN head || left(digs, length(digs) - 1);
END $$
""",
    """
CREATE FUNCTION taskly_rank_key_between(a text, b text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    ia text;
    ib text;
    i text;
BEGIN
    IF a IS NOT NULL THEN PERFORM taskly_rank_validate(a); END IF;
    IF b IS NOT NULL THEN PERFORM taskly_rank_validate(b); END IF;
    IF a COLLATE "C" >= b COLLATE "C" THEN RAISE EXCEPTION '% >= %', a, b; END IF;
    IF a IS NULL THEN
        IF b IS NULL THEN RETURN 'a0'; END IF;
        ib := taskly_rank_int_part(b);
        IF ib = 'A' || repeat('0', 26) THEN
            RETURN ib || taskly_rank_midpoint('', substr(b, length(ib) + 1));
        END IF;
        IF ib COLLATE "C" < b COLLATE "C" THEN RETURN ib; END IF;
        i := taskly_rank_decrement(ib);
        IF i IS NULL THEN RAISE EXCEPTION 'cannot decrement any more'; END IF;
        RETURN i;
    END IF;
    ia := taskly_rank_int_part(a);
    IF b IS NULL THEN
        i := taskly_rank_increment(ia);
        RETURN coalesce(i, ia || taskly_rank_midpoint(substr(a, length(ia) + 1), NULL));
    END IF;
    ib := taskly_rank_int_part(b);
    IF ia = ib THEN
        RETURN ia || taskly_rank_midpoint(substr(a, length(ia) + 1), substr(b, length(ib) + 1));
    END IF;
    i := taskly_rank_increment(ia);
    IF i IS NULL THEN RAISE EXCEPTION 'cannot increment any more'; END IF;
    IF i COLLATE "C" < b COLLATE "C" THEN RETURN i; END IF;
    RETURN ia || taskly_rank_midpoint(substr(a, length(ia) + 1), NULL);
END $$
""",
    """
CREATE FUNCTION taskly_rank_between(lower_rank text, upper_rank text, current_rank text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN current_rank IS NOT NULL
             AND (lower_rank IS NULL OR lower_rank COLLATE "C" < current_rank COLLATE "C")
             AND (upper_rank IS NULL OR current_rank COLLATE "C" < upper_rank COLLATE "C")
        THEN current_rank
        ELSE taskly_rank_key_between(lower_rank, upper_rank)
    END
$$
""",
    # --- the wire form: what pydantic's model_dump(mode="json") gives ---
    """
CREATE FUNCTION taskly_json_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    -- Not STRICT, so the planner inlines it instead of planning it on every call.
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN extract(microseconds FROM t)::bigint % 1000000 = 0 THEN ''
                ELSE to_char(t AT TIME ZONE 'UTC', '.US') END
        || 'Z'
$$
""",
    """
CREATE FUNCTION taskly_pull_request_json(p pull_requests, full_name text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'repository', full_name, 'number', p.number, 'title', p.title,
        'state', p.state, 'url', p.url, 'author', p.author, 'head_branch', p.head_branch,
        'base_branch', p.base_branch, 'head_sha', p.head_sha, 'commit_count', p.commit_count,
        'ci', p.ci_status,
        'checks', CASE WHEN coalesce(p.head_sha, '') <> '' AND p.checks ->> 'sha' = p.head_sha THEN
            (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'name', c -> 'name', 'kind', c -> 'kind', 'state', c -> 'state',
                        'url', c -> 'url',
                        'at', taskly_json_time((c ->> 'at')::timestamptz)) ORDER BY n), '[]')
               FROM jsonb_array_elements(CASE jsonb_typeof(p.checks -> 'checks')
                                         WHEN 'array' THEN p.checks -> 'checks' END)
                    WITH ORDINALITY AS checks(c, n))
            ELSE '[]' END,
        'approvals', p.approvals, 'changes_requested', p.changes_requested,
        'merged_at', taskly_json_time(p.merged_at),
        'updated_at', taskly_json_time(p.github_updated_at))
$$
""",
    """
CREATE FUNCTION taskly_card_json(card_id uuid) RETURNS jsonb
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
$$
""",
    # --- the moves ---
    """
CREATE FUNCTION taskly_move_cards(
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
END $$
""",
]

NAMES = [
    "taskly_move_cards(text[], text[], uuid[], uuid[], text[], int[], uuid[], text[], text[], uuid[], "
    "text[], int[], int[], text[], uuid[], text[], text[], text[])",
    "taskly_card_json(uuid)",
    "taskly_pull_request_json(pull_requests, text)",
    "taskly_json_time(timestamptz)",
    "taskly_rank_between(text, text, text)",
    "taskly_rank_key_between(text, text)",
    "taskly_rank_decrement(text)",
    "taskly_rank_increment(text)",
    "taskly_rank_midpoint(text, text)",
    "taskly_rank_validate(text)",
    "taskly_rank_int_part(text)",
    "taskly_rank_int_length(text)",
]


def upgrade() -> None:
    for statement in FUNCTIONS:
        op.execute(statement)


def downgrade() -> None:
    for name in NAMES:
        op.execute(f"DROP FUNCTION {name}")
