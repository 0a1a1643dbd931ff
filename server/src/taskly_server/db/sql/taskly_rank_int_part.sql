-- taskly_rank_int_part: a fractional-index key's integer part (head letter and digits).
-- Mirrors fractional_indexing 0.1.3's `get_integer_part`.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_rank_int_part(key text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    size int := taskly_rank_int_length(left(key, 1));
BEGIN
    IF size > length(key) THEN RAISE EXCEPTION 'invalid order key: %', key; END IF;
    RETURN left(key, size);
END $$;
