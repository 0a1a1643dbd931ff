-- taskly_rank_validate: raises unless a fractional-index key is well formed.
-- Mirrors fractional_indexing 0.1.3's `validate_order_key`.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_rank_validate(key text) RETURNS void
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    fraction text;
BEGIN
    IF key = 'A' || repeat('0', 26) THEN RAISE EXCEPTION 'invalid order key: %', key; END IF;
    fraction := substr(key, length(taskly_rank_int_part(key)) + 1);
    IF right(fraction, 1) = '0' THEN RAISE EXCEPTION 'invalid order key: %', key; END IF;
END $$;
